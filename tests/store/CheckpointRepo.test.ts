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

  "CheckpointRepo.advanceHistory with `from` never bookmarks past pages the database no longer holds": Effect.gen(
    function* () {
      const checkpoints = yield* CheckpointRepo
      yield* addChannel(2005)
      const empty = { top: 0, bottom: 0, done: false }
      const page1 = { top: 1000, bottom: 901, done: false }
      const page2 = { top: 1000, bottom: 801, done: false }
      const page3 = { top: 1000, bottom: 701, done: false }
      // A page that continues a cursor the table never held (its row was lost): refused, and no row is created.
      assertEquals(yield* checkpoints.advanceHistory(2005, page2, { from: page1 }), undefined)
      assertEquals(yield* checkpoints.get(2005, "history"), Option.none())
      // The first page continues nothing: stored.
      assertEquals(yield* checkpoints.advanceHistory(2005, page1, { from: empty }), page1)
      // The third page continues the second, which the table does not hold (bottom 901 > 801): refused.
      assertEquals(yield* checkpoints.advanceHistory(2005, page3, { from: page2 }), undefined)
      assertEquals(yield* checkpoints.get(2005, "history"), Option.some(page1))
      // In order, each page continues what is stored.
      assertEquals(yield* checkpoints.advanceHistory(2005, page2, { from: page1 }), page2)
      assertEquals(yield* checkpoints.advanceHistory(2005, page3, { from: page2 }), page3)
      // A replayed page (the stored cursor already covers more than it continues) is accepted and moves nothing.
      assertEquals(yield* checkpoints.advanceHistory(2005, page2, { from: page1 }), page3)
      // A forward page continues top: it needs the stored top to reach the walk's top, and `done` when claimed.
      const done = { top: 1000, bottom: 1, done: true }
      assertEquals(yield* checkpoints.advanceHistory(2005, { ...done, top: 1100 }, { from: done }), undefined)
      assertEquals(yield* checkpoints.advanceHistory(2005, done, { from: page3 }), done)
      assertEquals(yield* checkpoints.advanceHistory(2005, { ...done, top: 1100 }, { from: done }), {
        ...done,
        top: 1100,
      })
      assertEquals(
        yield* checkpoints.advanceHistory(2005, { ...done, top: 1300 }, { from: { ...done, top: 1200 } }),
        undefined,
      )
    },
  ),

  "CheckpointRepo.confirmHistory reads the stored cursor back (unset when none)": Effect.gen(function* () {
    const checkpoints = yield* CheckpointRepo
    yield* addChannel(2006)
    assertEquals(yield* checkpoints.confirmHistory(2006), { top: 0, bottom: 0, done: false })
    yield* checkpoints.advanceHistory(2006, { top: 50, bottom: 1, done: true })
    assertEquals(yield* checkpoints.confirmHistory(2006), { top: 50, bottom: 1, done: true })
  }),

  "CheckpointRepo.advancePts never lowers the pts, and with `from` moves only a cursor at `from` or beyond": Effect.gen(
    function* () {
      const checkpoints = yield* CheckpointRepo
      yield* addChannel(2007)
      const pts = Effect.map(checkpoints.get(2007, "updates"), Option.map((c) => (c as { pts: number }).pts))
      assertEquals(yield* checkpoints.advancePts(2007, "updates", 100, { from: 0 }), false, "no row: nothing to move")
      assertEquals(yield* checkpoints.advancePts(2007, "updates", 100), true)
      assertEquals(yield* checkpoints.advancePts(2007, "updates", 90), true, "a late batch is accepted")
      assertEquals(yield* pts, Option.some(100), "and moves nothing back")
      assertEquals(yield* checkpoints.advancePts(2007, "updates", 130, { from: 120 }), false, "a hole below 120")
      assertEquals(yield* pts, Option.some(100))
      assertEquals(yield* checkpoints.advancePts(2007, "updates", 130, { from: 100 }), true)
      assertEquals(yield* pts, Option.some(130))
    },
  ),
})
