/**
 * Comments end to end against the sandbox's discussion groups (channels 0 and 1 have one, channel 2 none): after a
 * sync every post's comments equal the sandbox's truth; after new comments (one post past a page of 100) a second run
 * asks each thread only above its highest stored comment (min_id, seen in the sandbox's request log) and reads only
 * the new ones; a comment pushed live reaches the database through the updates collector; disabled, nothing is read.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest } from "../support/sandbox.ts"
import { until } from "../support/wait.ts"
import type { Sandbox } from "@tgpulse/sandbox"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const ON = { MTPROTO_COMMENTS_ENABLED: "true", MTPROTO_POOL_ENABLED: "true" }
const NAMES = ["sandbox_chan_0", "sandbox_chan_1", "sandbox_chan_2"]
const IDS = [1_000_000, 1_000_001, 1_000_002]
/** Every thread due at every pass (a slot of one second for ten years): a pass reads each post's thread again. */
const EVERY_PASS = "3650d:1s"

interface Truth {
  readonly count: number
  readonly groupId: number | null
  readonly posts: Readonly<Record<string, number>>
}

const truthOf = (sandbox: Sandbox, channelId: number): Promise<Truth> =>
  admin(sandbox, `/channels/${channelId}/comments/truth`)

type Query = <A extends object>(text: string) => Promise<ReadonlyArray<A>>

/** The comments stored per post of a channel, as the truth's `posts`. */
const storedOf = async (query: Query, channelId: number) => {
  const rows = await query<{ post_id: number; n: number }>(
    `SELECT post_id, count(*)::int4 AS n FROM comments WHERE channel_id = ${channelId} GROUP BY post_id`,
  )
  return Object.fromEntries(rows.map((r) => [String(r.post_id), r.n]))
}

/** Every channel's stored comments equal the sandbox's truth, post by post. */
const assertTruth = async (query: Query, sandbox: Sandbox) => {
  for (const id of IDS) {
    const truth = await truthOf(sandbox, id)
    assertEquals(await storedOf(query, id), { ...truth.posts }, `channel ${id}: comments per post`)
    const [row] = await query<{ n: number }>(`SELECT count(*)::int4 AS n FROM comments WHERE channel_id = ${id}`)
    assertEquals(row?.n, truth.count, `channel ${id}: comments in all`)
  }
}

sandboxTest(
  "comments: equal the truth after a sync; a second run after new comments asks above each checkpoint only",
  async () => {
    await using h = await syncHarness(backend, { channels: 3, posts: 200, env: ON })
    await h.sync(NAMES)
    const first = await h.comments(NAMES)
    assertEquals(first.failed, [])
    assertEquals([first.channels, (await truthOf(h.sandbox, IDS[2]!)).groupId], [2, null], "channel 2 has no group")
    assert(first.threads > 20, `threads read: ${first.threads}`)
    // Every thread holds fewer than 100 comments: one page each.
    assertEquals(first.requests, first.threads)
    await assertTruth(h.query, h.sandbox)

    // New comments: 150 under a post with comments (two pages), 2 under a post without, 1 in the other channel.
    const counts = await storedOf(h.query, IDS[0]!)
    const withComments = Number(Object.keys(counts)[0])
    const [{ msg_id: without } = { msg_id: 0 }] = await h.query<{ msg_id: number }>(
      `SELECT msg_id FROM posts WHERE channel_id = ${IDS[0]} AND NOT is_service AND msg_id NOT IN
        (SELECT post_id FROM comments WHERE channel_id = ${IDS[0]}) ORDER BY msg_id DESC LIMIT 1`,
    )
    const other = Number(Object.keys(await storedOf(h.query, IDS[1]!))[0])
    const before = new Map(
      (await h.query<{ channel_id: string; post_id: number; max_comment_id: number }>(
        `SELECT channel_id::text, post_id, max_comment_id FROM comment_threads`,
      )).map((r) => [`${r.channel_id}/${r.post_id}`, r.max_comment_id]),
    )
    const add = (channel: number, post: number, count: number) =>
      admin(h.sandbox, `/channels/${channel}/posts/${post}/comments`, { body: { count } })
    await add(IDS[0]!, withComments, 150)
    await add(IDS[0]!, without, 2)
    await add(IDS[1]!, other, 1)

    // The second run, every thread due: each asks only above its highest stored comment.
    const since = h.sandbox.control.log.lastSeq
    const second = await h.comments(NAMES, Math.floor(Date.now() / 1000) + 2, EVERY_PASS)
    assertEquals(second.failed, [])
    assertEquals([second.inserted, second.updated], [153, 0], "only the new comments were read")
    const asked = h.sandbox.control.log.since(since, "messages.GetReplies")
    assertEquals(asked.length, second.requests)
    // Every reply count was asked afresh (getMessagesViews, 100 posts a call); only the three threads that grew read.
    assert(second.probes > 0)
    assertEquals(
      new Set(asked.map((e) => `${e.params.peer}/${e.params.msgId}`)),
      new Set([`${IDS[0]}/${withComments}`, `${IDS[0]}/${without}`, `${IDS[1]}/${other}`]),
    )
    for (const e of asked) {
      const checkpoint = before.get(`${e.params.peer}/${e.params.msgId}`) ?? 0
      assert(
        Number(e.params.minId) >= checkpoint,
        `post ${e.params.peer}/${e.params.msgId} asked from min_id ${e.params.minId}, its checkpoint was ${checkpoint}`,
      )
    }
    // The 150 new comments of one post took two pages (100, then 50 above the first page's highest).
    const paged = asked.filter((e) => e.params.peer === IDS[0] && e.params.msgId === withComments)
    assertEquals(paged.length, 2)
    assert(Number(paged[1]!.params.minId) > Number(paged[0]!.params.minId))
    await assertTruth(h.query, h.sandbox)

    // A third run in the same slot of the default schedule: nothing is due, nothing is asked.
    const third = await h.comments(NAMES, Math.floor(Date.now() / 1000) + 2)
    assertEquals([third.requests, third.inserted], [0, 0])
  },
)

sandboxTest("comments: a comment pushed live is stored under its post by the updates collector", async () => {
  await using h = await syncHarness(backend, { channels: 2, posts: 100, env: ON })
  const names = NAMES.slice(0, 2)
  await h.sync(names)
  await h.comments(names)
  const live = h.follow(names)
  try {
    const group = (await truthOf(h.sandbox, IDS[0]!)).groupId!
    // The group is followed once its updates checkpoint is stored.
    await until(
      async () =>
        (await h.query(`SELECT 1 FROM checkpoints WHERE channel_id = ${group} AND stream = 'updates'`))
          .length > 0,
      10_000,
      "the discussion group followed",
    )
    const post = Number(Object.keys(await storedOf(h.query, IDS[0]!))[0])
    const since = h.sandbox.control.log.lastSeq
    const { ids } = await admin(h.sandbox, `/channels/${IDS[0]}/posts/${post}/comments`, {
      body: { count: 2, text: "a live comment" },
    })
    await until(
      async () => (await storedOf(h.query, IDS[0]!))[String(post)] === (await truthOf(h.sandbox, IDS[0]!)).posts[post],
      10_000,
      "the live comments stored",
    )
    const rows = await h.query<{ comment_id: number; text: string }>(
      `SELECT comment_id, text FROM comments WHERE channel_id = ${IDS[0]} AND post_id = ${post}
        AND comment_id = ANY('{${(ids as ReadonlyArray<number>).join(",")}}'::int4[]) ORDER BY comment_id`,
    )
    assertEquals(
      rows.map((r) => [r.comment_id, r.text]),
      (ids as ReadonlyArray<number>).map((id) => [id, "a live comment"]),
    )
    // A post published now: its discussion message comes with its first comment, and names the thread live.
    const { ids: [fresh] } = await admin(h.sandbox, `/channels/${IDS[0]}/posts`, { body: { count: 1 } })
    const { ids: freshComments } = await admin(h.sandbox, `/channels/${IDS[0]}/posts/${fresh}/comments`, {
      body: { count: 3 },
    })
    await until(
      async () => (await storedOf(h.query, IDS[0]!))[String(fresh)] === freshComments.length,
      10_000,
      "the comments of a post published live",
    )
    assertEquals(h.sandbox.control.log.since(since, "messages.GetReplies").length, 0, "stored live, not read")
    // Nothing of the group went to posts.
    assertEquals((await h.query(`SELECT 1 FROM posts WHERE channel_id = ${group}`)).length, 0)
  } finally {
    await live.stop()
  }
})

sandboxTest(
  "comments: a group's difference too long while not followed is caught up by reading the comments, not as history",
  async () => {
    await using h = await syncHarness(backend, { channels: 1, posts: 100, ptsLogSize: 5, env: ON })
    const names = NAMES.slice(0, 1)
    await h.sync(names)
    await h.comments(names)
    const group = (await truthOf(h.sandbox, IDS[0]!)).groupId!
    const followed = async () =>
      (await h.query(`SELECT 1 FROM checkpoints WHERE channel_id = ${group} AND stream = 'updates'`)).length > 0
    const first = h.follow(names)
    await until(followed, 10_000, "the discussion group followed")
    await first.stop()
    // 30 comments while nobody follows: the group's pts log (5) no longer reaches back to the stored pts.
    const post = Number(Object.keys(await storedOf(h.query, IDS[0]!))[0])
    await admin(h.sandbox, `/channels/${IDS[0]}/posts/${post}/comments`, { body: { count: 30 } })
    const since = h.sandbox.control.log.lastSeq
    const again = h.follow(names)
    try {
      await until(
        async () =>
          (await storedOf(h.query, IDS[0]!))[String(post)] === (await truthOf(h.sandbox, IDS[0]!)).posts[post],
        10_000,
        "the comments caught up",
      )
      assert(h.sandbox.control.log.since(since, "messages.GetReplies").length > 0, "read with getReplies")
      assertEquals((await h.query(`SELECT 1 FROM posts WHERE channel_id = ${group}`)).length, 0, "no group posts")
    } finally {
      await again.stop()
    }
  },
)

sandboxTest("comments: disabled (the default), a pass reads nothing and stores nothing", async () => {
  await using h = await syncHarness(backend, { channels: 2, posts: 50, env: { MTPROTO_POOL_ENABLED: "true" } })
  await h.sync(NAMES.slice(0, 2))
  const round = await h.comments(NAMES.slice(0, 2))
  assertEquals([round.channels, round.requests], [0, 0])
  assertEquals(h.sandbox.control.log.since(0, "messages.GetReplies").length, 0)
  assertEquals((await h.query(`SELECT 1 FROM comments`)).length, 0)
  assertEquals((await h.query(`SELECT 1 FROM channels WHERE linked_read_at IS NOT NULL`)).length, 0)
})
