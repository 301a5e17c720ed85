/**
 * Metrics refresh over simulated hours: the sandbox's world clock and the refresh's "now" move together in 10-minute
 * rounds, on a schedule compressed from tgpulse's (every 10 minutes up to 2 h of age, hourly up to 4 h, then never:
 * the same tiers as 1d:10m,7d:1h,30d:1d, a twelfth of the rounds); each post gets one snapshot per refresh, as many as
 * its age calls for, with the world's counters; views cost at most 10.1 requests per 1,000 refreshed posts.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest } from "../support/sandbox.ts"
import { isDue, parseSchedule } from "../../src/domain/Refresh.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const ROUND = 600
const COHORT = 300
const SCHEDULE = "2h:10m,4h:1h"
/** Rounds in the whole run (4 simulated hours); the second cohort comes half-way. */
const ROUNDS = 24
const SPAN = ROUNDS * ROUND

sandboxTest(
  "refresh: snapshots per post follow its age over simulated hours; views cost 10 requests per 1,000",
  async () => {
    // The sandbox's wall clock stands still: its clock moves only with the test's moves, round by round.
    const wallMs = Date.now()
    await using h = await syncHarness(backend, { channels: 2, posts: 0, clock: () => wallMs })
    const world = h.sandbox.world
    const [a, b] = [1_000_000, 1_000_001]
    // Start on the hour, so the grid is easy to count (every 10 minutes on day one, hourly after), and an hour ahead
    // of the wall clock at least, so that the history sync's snapshots (at tgpulse's wall clock) come before it.
    world.advance(3_600 + (3_600 - (world.now() % 3_600)) % 3_600)
    const t0 = world.now()
    const publish = async (channel: number) => {
      const { ids } = await admin(h.sandbox, `/channels/${channel}/posts`, { body: { count: COHORT } })
      await h.sync([String(channel === a ? "sandbox_chan_0" : "sandbox_chan_1")])
      return ids as ReadonlyArray<number>
    }
    const cohortA = await publish(a)
    let cohortB: ReadonlyArray<number> = []
    let refreshed = 0
    const since = h.sandbox.control.log.lastSeq
    for (let k = 0; k < ROUNDS; k++) {
      if (k === ROUNDS / 2) cohortB = await publish(b) // two hours younger
      const round = await h.refresh(["sandbox_chan_0", "sandbox_chan_1"], world.now(), SCHEDULE)
      assertEquals(round.failed, [])
      refreshed += round.posts
      world.advance(ROUND)
    }
    assertEquals(world.now() - t0, SPAN)

    const counts = async (channel: number) =>
      new Map(
        (await h.query<{ msg_id: number; n: number }>(
          // The refreshes only (the history sync's first snapshot is taken at the wall clock, not the world's).
          `SELECT msg_id, count(*)::int4 AS n FROM post_metrics WHERE channel_id = ${channel}
         AND taken_at >= to_timestamp(${t0}) AND taken_at < to_timestamp(${t0 + SPAN}) GROUP BY msg_id`,
        )).map((r) => [r.msg_id, r.n]),
      )
    // Four hours old: 12 refreshes in the first two hours (every 10 minutes) and 2 in the next two (hourly); two
    // hours old: 12.
    const byA = await counts(a)
    const byB = await counts(b)
    assertEquals(new Set(cohortA.map((id) => byA.get(id))), new Set([12 + 2]))
    assertEquals(new Set(cohortB.map((id) => byB.get(id))), new Set([12]))
    // The same counts by the schedule's own rule, round by round (a cross-check of the grid reading).
    const tiers = parseSchedule(SCHEDULE)
    let last: number | undefined
    let expected = 0
    for (let k = 0; k < ROUNDS; k++) {
      const now = t0 + k * ROUND
      if (isDue(tiers, t0, last, now)) {
        expected++
        last = now
      }
    }
    assertEquals(expected, 14)

    const views = h.sandbox.control.log.since(since, "messages.GetMessagesViews")
    const perThousand = (views.length * 1000) / refreshed
    assertEquals(refreshed, COHORT * 14 + COHORT * 12)
    assert(perThousand <= 10.1, `${perThousand.toFixed(2)} views requests per 1,000 refreshed posts`)
    assert(views.every((e) => e.params.increment === false), "increment = false")

    // One more round now: the newest snapshot of every post holds the world's counters of this moment.
    // (On tgpulse's own schedule: the compressed one stops at four hours of age.)
    await h.refresh(["sandbox_chan_0"], world.now())
    const latest = await h.query<{ msg_id: number; views: number; forwards: number; reactions_total: number }>(
      `SELECT DISTINCT ON (msg_id) msg_id, views, forwards, reactions_total FROM post_metrics
     WHERE channel_id = ${a} AND taken_at <= to_timestamp(${world.now()}) ORDER BY msg_id, taken_at DESC`,
    )
    const truth = world.posts(a, cohortA)
    assertEquals(
      latest.map((l) => [l.msg_id, l.views, l.forwards, l.reactions_total]),
      truth.map((p) => [p!.id, p!.views, p!.forwards, p!.reactions.reduce((n, r) => n + r.count, 0)]),
    )
    const first = await h.query<{ msg_id: number; views: number }>(
      `SELECT DISTINCT ON (msg_id) msg_id, views FROM post_metrics WHERE channel_id = ${a}
     AND taken_at >= to_timestamp(${t0}) ORDER BY msg_id, taken_at`,
    )
    const grew = latest.filter((l, i) => l.views > first[i]!.views).length
    assert(grew > COHORT / 2, `views grew over four hours for ${grew} of ${COHORT} posts`)
  },
)
