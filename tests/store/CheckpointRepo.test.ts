/** CheckpointRepo contract: get/put, and the monotonic history merge done in SQL. */
import { Effect, Option } from "effect"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { CheckpointRepo } from "../../src/store/CheckpointRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"

const addChannel = (id: number) =>
  ChannelRepo.use((r) => r.upsert({ id, accessHash: "1", username: null, title: "", kind: "broadcast" }))

storeSuite("CheckpointRepo", {
  "CheckpointRepo.put replaces and get reads the cursor of one stream": Effect.gen(function* () {
    const checkpoints = yield* CheckpointRepo
    yield* addChannel(2001)
    assertEquals(yield* checkpoints.get(2001, "updates"), Option.none())
    yield* checkpoints.put(2001, "updates", { pts: 10 })
    yield* checkpoints.put(2001, "stats", { takenAt: "2024-01-01T00:00:00Z" })
    yield* checkpoints.put(2001, "updates", { pts: 7, extra: [1, "a"] })
    assertEquals(yield* checkpoints.get(2001, "updates"), Option.some({ pts: 7, extra: [1, "a"] }))
    assertEquals(yield* checkpoints.get(2001, "stats"), Option.some({ takenAt: "2024-01-01T00:00:00Z" }))
  }),

  "CheckpointRepo.advanceHistory never moves a cursor backwards": Effect.gen(function* () {
    const checkpoints = yield* CheckpointRepo
    yield* addChannel(2002)
    const advance = (top: number, bottom: number, done = false) =>
      checkpoints.advanceHistory(2002, { top, bottom, done })
    assertEquals(yield* advance(500, 401), { top: 500, bottom: 401, done: false })
    assertEquals(yield* advance(450, 301), { top: 500, bottom: 301, done: false }, "an older top is ignored")
    assertEquals(yield* advance(0, 0), { top: 500, bottom: 301, done: false }, "0 means unset")
    assertEquals(yield* advance(600, 0), { top: 600, bottom: 301, done: false })
    assertEquals(yield* advance(0, 350, true), { top: 600, bottom: 301, done: true })
    assertEquals(yield* advance(10, 900, false), { top: 600, bottom: 301, done: true }, "done stays true")
    assertEquals(yield* checkpoints.get(2002, "history"), Option.some({ top: 600, bottom: 301, done: true }))
  }),

  "CheckpointRepo.advanceHistory treats a malformed stored cursor as unset and keeps unknown keys": Effect.gen(
    function* () {
      const checkpoints = yield* CheckpointRepo
      yield* addChannel(2003)
      yield* checkpoints.put(2003, "history", { top: "x", bottom: -5, done: "yes", note: "kept" })
      assertEquals(yield* checkpoints.advanceHistory(2003, { top: 20, bottom: 11, done: false }), {
        top: 20,
        bottom: 11,
        done: false,
      })
      assertEquals(
        yield* checkpoints.get(2003, "history"),
        Option.some({ top: 20, bottom: 11, done: false, note: "kept" }),
      )
    },
  ),

  "CheckpointRepo.advanceHistory merges concurrent advances without losing one": Effect.gen(function* () {
    const checkpoints = yield* CheckpointRepo
    yield* addChannel(2004)
    const cursors = Array.from(
      { length: 40 },
      (_, i) => ({ top: 1000 + ((i * 17) % 40), bottom: 500 - i, done: false }),
    )
    yield* Effect.forEach(cursors, (c) => checkpoints.advanceHistory(2004, c), { concurrency: 8, discard: true })
    assertEquals(yield* checkpoints.get(2004, "history"), Option.some({ top: 1039, bottom: 461, done: false }))
  }),
})
