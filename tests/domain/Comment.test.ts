/**
 * Which posts' comment threads are due: a reply count above the comments stored (whatever the post's age), else the
 * refresh schedule thinning with age; over simulated days on virtual time, each thread is read as often as its age
 * calls for.
 */
import { Clock, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { dueThreads, grown, threadDue, type ThreadState } from "../../src/domain/Comment.ts"
import { nextRound, parseSchedule } from "../../src/domain/Refresh.ts"
import { assertEquals } from "../support/assert.ts"
import { virtualTest } from "../support/effectTest.ts"

const tiers = parseSchedule("1d:10m,7d:1h,30d:1d")
const H = 3_600
const D = 86_400

const thread = (over: Partial<ThreadState>): ThreadState => ({
  postId: 1,
  postDate: 100 * D,
  replies: 3,
  stored: 3,
  maxCommentId: 30,
  readAt: 100 * D + 60,
  ...over,
})

Deno.test("Comment.threadDue: by count whatever the age, else once per slot of the post's age tier", () => {
  const date = 100 * D
  const rows: ReadonlyArray<[string, Partial<ThreadState>, number, string | undefined]> = [
    ["no replies, same slot", { replies: 0, stored: 0 }, date + 599, undefined],
    ["no replies, next slot: probed", { replies: 0, stored: 0 }, date + 600, "schedule"],
    ["replies unknown (no group)", { replies: null, stored: 0, readAt: undefined }, date + 60, undefined],
    ["never read", { stored: 0, readAt: undefined }, date + 60, "count"],
    ["a new comment, same slot", { replies: 4 }, date + 120, "count"],
    ["a new comment, a year old", { replies: 4 }, date + 365 * D, "count"],
    ["read, same 10-minute slot", {}, date + 599, undefined],
    ["read, next 10-minute slot", {}, date + 600, "schedule"],
    ["two days old, same hour", { readAt: date + 2 * D }, date + 2 * D + 30 * 60, undefined],
    ["two days old, next hour", { readAt: date + 2 * D }, date + 2 * D + H, "schedule"],
    ["ten days old, same day", { readAt: date + 10 * D }, date + 10 * D + 12 * H, undefined],
    ["older than the schedule", { readAt: date + 29 * D }, date + 31 * D, undefined],
    ["fewer replies than stored (deleted)", { replies: 2 }, date + 599, undefined],
  ]
  for (const [name, over, now, expected] of rows) {
    assertEquals(threadDue(tiers, thread({ postDate: date, ...over }), now), expected, name)
  }
})

Deno.test("Comment.dueThreads: threads whose count moved first, then the schedule's, by post id", () => {
  const now = 100 * D + 700
  const due = dueThreads(tiers, [
    thread({ postId: 5 }),
    thread({ postId: 3, replies: 9 }),
    thread({ postId: 1 }),
    thread({ postId: 2, replies: null, stored: 0 }),
    thread({ postId: 4, postDate: 10 * D, replies: 4 }),
  ], now)
  assertEquals(due.map((t) => [t.postId, t.reason]), [[3, "count"], [4, "count"], [1, "schedule"], [5, "schedule"]])
})

Deno.test("Comment.grown: of the probed threads, those whose fresh reply count exceeds the comments stored", () => {
  const probed = [thread({ postId: 1 }), thread({ postId: 2 }), thread({ postId: 3 }), thread({ postId: 4 })]
  const fresh = new Map<number, number | null>([[1, 3], [2, 5], [3, null]])
  assertEquals(grown(probed, fresh).map((t) => [t.postId, t.replies]), [[2, 5]])
})

virtualTest(
  "Comment schedule over a simulated day: a new post's thread is read every 10 minutes, a 2-day-old one hourly",
  Effect.gen(function* () {
    const start = 200 * D
    yield* TestClock.setTime(start * 1000)
    const posted = [start, start - 2 * D] // a new post, and one two days old
    const reads = posted.map(() => 0)
    const state = posted.map((date, i): ThreadState => ({
      postId: i + 1,
      postDate: date,
      replies: 1,
      stored: 0,
      maxCommentId: 0,
      readAt: undefined,
    }))
    // The collector's loop: a pass over the due threads, then a sleep until the next slot of the finest grid.
    const loop = Effect.gen(function* () {
      while (true) {
        const nowSec = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        for (const t of dueThreads(tiers, state, nowSec)) {
          reads[t.postId - 1]!++
          state[t.postId - 1] = { ...t, stored: t.replies ?? 0, readAt: nowSec }
        }
        const now = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Duration.millis(nextRound(tiers, now) - now))
      }
    })
    const fiber = yield* Effect.forkChild(loop)
    for (let t = 0; t < D - 600; t += 600) yield* TestClock.adjust(Duration.seconds(600))
    yield* TestClock.adjust(Duration.seconds(599))
    yield* Fiber.interrupt(fiber)
    // Day one: once per 10-minute slot (144 slots) for the new post; the two-day-old one hourly (24).
    assertEquals(reads, [144, 24])
  }),
)
