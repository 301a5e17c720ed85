/**
 * The edit and deletion log end to end against the sandbox: every edit made through the admin API is one version,
 * however often the posts are read again and whatever their counters do; deletions made while nobody followed the
 * channel are found by the deletion probe (channels.getMessages, 100 ids a call) and chained; the chain verifies.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { committedPts, differences } from "../support/live.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest } from "../support/sandbox.ts"
import { until } from "../support/wait.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const NAME = "sandbox_chan_0"
const ID = 1_000_000
const POSTS = 250

sandboxTest("versions: every admin edit is one version; deletions nobody followed are found by the probe", async () => {
  await using h = await syncHarness(backend, { channels: 1, posts: POSTS })
  await h.sync([NAME])
  const versions = async () =>
    await h.query<{ msg_id: number; kind: string; text: string }>(
      `SELECT msg_id, kind, text FROM post_versions WHERE channel_id = ${ID} ORDER BY seq`,
    )
  assertEquals((await versions()).length, POSTS, "the first sight of each post is its first version")
  const original = new Map((await versions()).map((v) => [v.msg_id, v.text]))

  // Edits seen live, each stored before the next is made (as edits by hand are: a live batch keeps a post's last
  // content, as getChannelDifference does): post 10 three times, posts 20 and 30 once; counters move too.
  const live = h.follow([NAME])
  const caughtUp = () => until(async () => (await committedPts(h.query, ID)) === h.sandbox.world.pts(ID), 10_000, "pts")
  await caughtUp()
  const edits: ReadonlyArray<readonly [number, string]> = [
    [10, "first edit"],
    [20, "an edit"],
    [10, "second edit"],
    [30, "another edit"],
    [10, "third edit"],
  ]
  for (const [msgId, text] of edits) {
    await admin(h.sandbox, `/channels/${ID}/posts/${msgId}/edit`, { body: { text } })
    await caughtUp()
  }
  await admin(h.sandbox, `/channels/${ID}/views`, { body: { delta: 50 } })
  await admin(h.sandbox, `/channels/${ID}/posts/10/reactions`, { body: { emoji: "👍", delta: 5 } })
  await caughtUp()
  await live.stop()
  // Read again: two more syncs, a refresh of every post's counters, a views change and another refresh.
  await h.sync([NAME])
  await h.sync([NAME])
  const now = Math.floor(Date.now() / 1000)
  await h.refresh([NAME], now)
  await admin(h.sandbox, `/channels/${ID}/views`, { body: { delta: 7 } })
  await h.refresh([NAME], now + 3600)
  assertEquals(await differences(h.query, h.sandbox, ID, false), [])

  const all = await versions()
  const textsOf = (msgId: number) => all.filter((v) => v.msg_id === msgId).map((v) => v.text)
  assertEquals(textsOf(10), [original.get(10), "first edit", "second edit", "third edit"])
  assertEquals(textsOf(20), [original.get(20), "an edit"])
  assertEquals(textsOf(30), [original.get(30), "another edit"])
  assertEquals(all.length, POSTS + edits.length, "one version per edit, nothing for re-reads or counters")

  // Deletions while nobody follows the channel: another sync does not see them (never inferred from a window).
  const gone = [5, 6, 120, 249]
  await admin(h.sandbox, `/channels/${ID}/delete`, { body: { ids: gone } })
  await h.sync([NAME])
  assertEquals((await differences(h.query, h.sandbox, ID, false)).length, gone.length)

  const since = h.sandbox.control.log.lastSeq
  const sweep = await h.probeDeletions([NAME])
  assertEquals([sweep.deleted, sweep.probed, sweep.calls, sweep.failed], [gone.length, POSTS, 3, []])
  const calls = h.sandbox.control.log.since(since, "channels.GetMessages")
  assertEquals(calls.length, 3)
  assert(calls.every((c) => c.outcome === "ok"), JSON.stringify(calls.map((c) => c.outcome)))
  assertEquals(await differences(h.query, h.sandbox, ID, false), [])
  // The next sweep asks only about the posts still there, and finds nothing more.
  const again = await h.probeDeletions([NAME])
  assertEquals([again.deleted, again.probed], [0, POSTS - gone.length])

  const deleted = (await versions()).filter((v) => v.kind === "deleted").map((v) => v.msg_id)
  assertEquals(deleted, gone)
  const chain = await h.verifyChain(ID)
  assertEquals(chain, { count: POSTS + edits.length + gone.length, broken: undefined })
})
