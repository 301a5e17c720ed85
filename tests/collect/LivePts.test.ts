/**
 * Live updates when Telegram refuses the pts a difference is asked from, against the real sandbox: a stored pts ahead
 * of the channel's (PERSISTENT_TIMESTAMP_INVALID) and an empty one (PERSISTENT_TIMESTAMP_EMPTY) are reset from
 * channels.getFullChannel with the history synced once; PERSISTENT_TIMESTAMP_OUTDATED is tried again after a backoff
 * with the pts kept (core.telegram.org/method/updates.getChannelDifference).
 */
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { activity, activityDone, committedPts, differences } from "../support/live.ts"
import { admin, sandboxTest } from "../support/sandbox.ts"
import { until } from "../support/wait.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const NAME = "sandbox_chan_0"
const ID = 1_000_000

/** One channel, its history synced, followed live until its pts is committed. */
async function following() {
  const h = await syncHarness(backend, { channels: 1, posts: 100, env: { MTPROTO_POOL_ENABLED: "true" } })
  await h.sync([NAME])
  return h
}

const atWorld = (h: Awaited<ReturnType<typeof following>>) => async () =>
  (await committedPts(h.query, ID)) === h.sandbox.world.pts(ID)

/** The outcomes of the differences asked since `seq`, and the full channels read since. */
function calls(h: Awaited<ReturnType<typeof following>>, seq: number) {
  const log = h.sandbox.control.log
  return {
    outcomes: log.since(seq, "updates.GetChannelDifference").map((e) => e.outcome),
    fullChannels: log.since(seq, "channels.GetFullChannel").length,
  }
}

sandboxTest(
  "live: a stored pts ahead of the channel's (PERSISTENT_TIMESTAMP_INVALID) is reset from channels.getFullChannel " +
    "once, the history synced; new posts keep coming and the refused pts is never asked again",
  async () => {
    await using h = await following()
    let live = h.follow([NAME])
    await until(atWorld(h), 10_000, "the start")
    await live.stop()
    // The stored pts is ahead of the channel's (a checkpoint restored from another database, say); posts are
    // published meanwhile.
    const ahead = h.sandbox.world.pts(ID) + 1_000
    await h.query(
      `UPDATE checkpoints SET cursor = jsonb_set(cursor, '{pts}', to_jsonb(${ahead}))
       WHERE channel_id = ${ID} AND stream = 'updates'`,
    )
    await admin(h.sandbox, `/channels/${ID}/posts`, { body: { count: 5 } })
    const seq = h.sandbox.control.log.lastSeq
    live = h.follow([NAME])
    await until(atWorld(h), 20_000, "the pts reset to the channel's")
    // Followed on from there: new posts, edits and deletions come through the pushes.
    await activity(h.sandbox, ID, 40, 200)
    await until(() => activityDone(h.sandbox, [ID]), 10_000, "the activity")
    await until(atWorld(h), 10_000, "every pts committed")
    const s = await live.stats()
    await live.stop()
    assertEquals(await differences(h.query, h.sandbox, ID, false), [])
    const { outcomes, fullChannels } = calls(h, seq)
    assertEquals(outcomes.filter((o) => o !== "ok"), ["PERSISTENT_TIMESTAMP_INVALID"], "refused once, never again")
    assertEquals(fullChannels, 1, "the channel's pts read once")
    assertEquals(s.ptsResets, 1)
    // Before the reset every push was taken for applied already (below the pts from the future).
    assert(s.applied > 0, "pushes were applied after the reset")
  },
)

sandboxTest(
  "live: PERSISTENT_TIMESTAMP_OUTDATED (500) is asked again after a backoff from the same pts, with no reset; " +
    "PERSISTENT_TIMESTAMP_EMPTY resets the pts as INVALID does, and a refusal of the pts just reset to is tried " +
    "again after a backoff, not reset again",
  async () => {
    await using h = await following()
    const live = h.follow([NAME])
    await until(atWorld(h), 10_000, "the start")
    const gap = async (seq: number, message: string, code: number) => {
      await admin(h.sandbox, "/faults", {
        body: { _tag: "RpcError", method: "updates.getChannelDifference", code, message, times: 2 },
      })
      // Withheld pushes leave a gap (six posts at once, the first three not pushed): its difference is refused
      // twice, then answered.
      await admin(h.sandbox, "/pushes/withhold", { body: { count: 3, channelId: ID } })
      await admin(h.sandbox, `/channels/${ID}/posts`, { body: { count: 6 } })
      await until(
        () => {
          const { outcomes } = calls(h, seq)
          return outcomes.filter((o) => o !== "ok").length === 2 && outcomes.at(-1) === "ok"
        },
        30_000,
        `a difference answered after ${message} twice`,
      )
      await until(atWorld(h), 10_000, `every pts committed after ${message}`)
    }
    let seq = h.sandbox.control.log.lastSeq
    await gap(seq, "PERSISTENT_TIMESTAMP_OUTDATED", 500)
    let after = calls(h, seq)
    assertEquals(after.outcomes.filter((o) => o !== "ok"), [
      "PERSISTENT_TIMESTAMP_OUTDATED",
      "PERSISTENT_TIMESTAMP_OUTDATED",
    ])
    assertEquals(after.fullChannels, 0, "no reset: the pts is kept")
    assertEquals((await live.stats()).ptsResets, 0)

    seq = h.sandbox.control.log.lastSeq
    await gap(seq, "PERSISTENT_TIMESTAMP_EMPTY", 400)
    after = calls(h, seq)
    // The first refusal resets the pts; the difference asked from the new pts meets the second: the channel's pts
    // is read again, is that same pts, and the difference is asked again later.
    assertEquals(after.outcomes.filter((o) => o !== "ok"), ["PERSISTENT_TIMESTAMP_EMPTY", "PERSISTENT_TIMESTAMP_EMPTY"])
    assertEquals(after.fullChannels, 2)
    assertEquals((await live.stats()).ptsResets, 1)
    await live.stop()
    assertEquals(await differences(h.query, h.sandbox, ID, false), [])
  },
)
