/** CheckpointRepo contract: get/put, and the monotonic history merge done in SQL. */
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
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
    yield* checkpoints.put(2001, "history", { top: 9, bottom: 1, done: true, pts: 3 })
    yield* checkpoints.put(2001, "updates", { pts: 7 })
    assertEquals(yield* checkpoints.get(2001, "updates"), Option.some({ pts: 7 }))
    assertEquals(yield* checkpoints.get(2001, "history"), Option.some({ top: 9, bottom: 1, done: true, pts: 3 }))
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
    assertEquals(yield* checkpoints.get(2002, "history"), Option.some({ top: 600, bottom: 301, done: true, pts: 0 }))
  }),

  "CheckpointRepo reads a malformed stored cursor as unset; advanceHistory keeps the keys it does not know": Effect.gen(
    function* () {
      const checkpoints = yield* CheckpointRepo
      const sql = yield* SqlClient.SqlClient
      yield* addChannel(2003)
      // Written by hand (or by an older version): every field malformed, and a key tgpulse does not know.
      yield* sql`INSERT INTO checkpoints (channel_id, stream, cursor)
        VALUES (2003, 'history', '{"top": "x", "bottom": -5, "done": "yes", "pts": 1.5, "note": "kept"}'::jsonb)`
      assertEquals(yield* checkpoints.get(2003, "history"), Option.some({ top: 0, bottom: 0, done: false, pts: 0 }))
      assertEquals(yield* checkpoints.advanceHistory(2003, { top: 20, bottom: 11, done: false }), {
        top: 20,
        bottom: 11,
        done: false,
      })
      assertEquals(yield* checkpoints.get(2003, "history"), Option.some({ top: 20, bottom: 11, done: false, pts: 0 }))
      const [row] = yield* sql<{ note: string }>`
        SELECT cursor ->> 'note' AS note FROM checkpoints WHERE channel_id = 2003 AND stream = 'history'`
      assertEquals(row?.note, "kept")
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
    assertEquals(yield* checkpoints.get(2004, "history"), Option.some({ top: 1039, bottom: 461, done: false, pts: 0 }))
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
      assertEquals(yield* checkpoints.get(2005, "history"), Option.some({ ...page1, pts: 0 }))
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
      const pts = Effect.map(checkpoints.get(2007, "updates"), Option.map((c) => c.pts))
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
