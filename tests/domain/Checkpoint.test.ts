/** History checkpoints: monotonic merge, page plans and outcomes (pure, table-driven). */
import {
  afterPage,
  coversHistory,
  decodeHistoryCursor,
  emptyHistoryCursor,
  mergeHistoryCursor,
  planPage,
} from "../../src/domain/Checkpoint.ts"
import { assertEquals } from "../support/assert.ts"

Deno.test("Checkpoint.decodeHistoryCursor treats malformed values as unset", () => {
  assertEquals(decodeHistoryCursor(undefined), emptyHistoryCursor)
  assertEquals(decodeHistoryCursor({ top: "5", bottom: -1, done: "yes" }), emptyHistoryCursor)
  assertEquals(decodeHistoryCursor({ top: 900, bottom: 12, done: true }), { top: 900, bottom: 12, done: true })
})

Deno.test("Checkpoint.mergeHistoryCursor never moves backwards", () => {
  const stored = { top: 500, bottom: 100, done: false }
  assertEquals(mergeHistoryCursor(stored, { top: 400, bottom: 200, done: false }), stored)
  assertEquals(mergeHistoryCursor(stored, { top: 600, bottom: 50, done: true }), { top: 600, bottom: 50, done: true })
  assertEquals(mergeHistoryCursor(stored, { top: 0, bottom: 0, done: false }), stored)
  assertEquals(mergeHistoryCursor(emptyHistoryCursor, { top: 7, bottom: 3, done: false }), {
    top: 7,
    bottom: 3,
    done: false,
  })
  assertEquals(mergeHistoryCursor({ top: 9, bottom: 1, done: true }, { top: 9, bottom: 1, done: false }).done, true)
})

Deno.test("Checkpoint.coversHistory: the stored cursor vouches for a claim only when it reaches as far both ways", () => {
  const c = (top: number, bottom: number, done = false) => ({ top, bottom, done })
  const rows: ReadonlyArray<[stored: ReturnType<typeof c>, claimed: ReturnType<typeof c>, covers: boolean]> = [
    [c(0, 0), c(0, 0), true], // a fresh walk claims nothing
    [c(0, 0), c(1000, 901), false], // the row was lost
    [c(1000, 901), c(1000, 901), true],
    [c(1000, 801), c(1000, 901), true], // the stored cursor went further (a replay, another writer)
    [c(1000, 901), c(1000, 801), false], // a backfill page was lost
    [c(900, 801), c(1000, 801), false], // a forward page was lost
    [c(1000, 1, false), c(1000, 1, true), false], // the last page (done) was lost
    [c(1000, 1, true), c(1000, 1, false), true],
    [c(1200, 1, true), c(1100, 0), true], // no claim on the bottom
  ]
  for (const [stored, claimed, covers] of rows) {
    assertEquals(coversHistory(stored, claimed), covers, `${JSON.stringify(stored)} covers ${JSON.stringify(claimed)}`)
  }
})

Deno.test("Checkpoint.planPage: forward reads just above top, backfill just below bottom", () => {
  assertEquals(planPage("forward", { top: 1000, bottom: 1, done: true }, 100), {
    offsetId: 1001,
    addOffset: -100,
    limit: 100,
    minId: 1000,
    maxId: 0,
  })
  assertEquals(planPage("backfill", { top: 1000, bottom: 640, done: false }, 40), {
    offsetId: 640,
    addOffset: 0,
    limit: 40,
    minId: 0,
    maxId: 0,
  })
  assertEquals(planPage("backfill", emptyHistoryCursor, 100).offsetId, 0, "from the newest when unset")
})

Deno.test("Checkpoint.afterPage: forward stops exactly when nothing newer remains", () => {
  const cursor = { top: 1000, bottom: 1, done: true }
  // 250 posts above 1000, pages oldest first: after 1001..1100, 150 newer posts remain (the page's newest is at 150).
  const first = afterPage("forward", cursor, { ids: range(1001, 1100), count: 10_250, offsetIdOffset: 150 }, 100)
  assertEquals(first, { cursor: { top: 1100, bottom: 1, done: true }, more: true })
  const last = afterPage("forward", first.cursor, { ids: range(1201, 1250), count: 10_250, offsetIdOffset: 0 }, 100)
  assertEquals(last, { cursor: { top: 1250, bottom: 1, done: true }, more: false })
  // A full page whose newest post is the channel's newest: no further request.
  const full = afterPage("forward", cursor, { ids: range(1001, 1100), count: 10_100, offsetIdOffset: 0 }, 100)
  assertEquals(full.more, false)
  // Without offset_id_offset, a full page asks again and a short page ends the walk.
  assertEquals(
    afterPage("forward", cursor, { ids: range(1001, 1100), count: 0, offsetIdOffset: undefined }, 100).more,
    true,
  )
  assertEquals(
    afterPage("forward", cursor, { ids: range(1001, 1020), count: 0, offsetIdOffset: undefined }, 100).more,
    false,
  )
  assertEquals(afterPage("forward", cursor, { ids: [], count: 0, offsetIdOffset: 0 }, 100), { cursor, more: false })
})

Deno.test("Checkpoint.afterPage: backfill sets top on a fresh channel and ends at the first post", () => {
  const fresh = afterPage("backfill", emptyHistoryCursor, {
    ids: range(901, 1000).reverse(),
    count: 1000,
    offsetIdOffset: 0,
  }, 100)
  assertEquals(fresh, { cursor: { top: 1000, bottom: 901, done: false }, more: true })
  const end = afterPage("backfill", { top: 1000, bottom: 101, done: false }, {
    ids: range(1, 100).reverse(),
    count: 1000,
    offsetIdOffset: 900,
  }, 100)
  assertEquals(end, { cursor: { top: 1000, bottom: 1, done: true }, more: false }, "message 1 is the first post")
  const empty = afterPage("backfill", { top: 5, bottom: 2, done: false }, { ids: [], count: 4, offsetIdOffset: 4 }, 100)
  assertEquals(empty, { cursor: { top: 5, bottom: 2, done: true }, more: false })
  // A short page with nothing older: done without another request.
  const short = afterPage("backfill", { top: 1000, bottom: 60, done: false }, {
    ids: range(5, 59).reverse(),
    count: 996,
    offsetIdOffset: 941,
  }, 100)
  assertEquals(short.cursor.done, true)
  // Never trust the count alone to end a channel's history: a full page asks once more, a short page with older
  // posts left goes on.
  const fullNothingLeft = afterPage("backfill", { top: 1000, bottom: 105, done: false }, {
    ids: range(5, 104).reverse(),
    count: 996,
    offsetIdOffset: 896,
  }, 100)
  assertEquals([fullNothingLeft.cursor.done, fullNothingLeft.more], [false, true])
  const shortButMore = afterPage("backfill", { top: 1000, bottom: 500, done: false }, {
    ids: range(450, 499).reverse(),
    count: 996,
    offsetIdOffset: 500,
  }, 100)
  assertEquals([shortButMore.cursor.done, shortButMore.more, shortButMore.cursor.bottom], [false, true, 450])
})

function range(from: number, to: number): Array<number> {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}
