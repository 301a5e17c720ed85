/** The pts rules: apply in order, drop what was applied, hold what comes after a gap until it fills or is skipped. */
import { PtsGate } from "../../src/domain/Updates.ts"
import { assertEquals } from "../support/assert.ts"

const u = (pts: number, ptsCount = 1) => ({ pts, ptsCount })
const ptsOf = (xs: ReadonlyArray<{ pts: number }>) => xs.map((x) => x.pts)

Deno.test("PtsGate: in order applies; the same update again (another connection) is dropped", () => {
  const g = new PtsGate(10)
  assertEquals(ptsOf(g.offer(u(11))), [11])
  assertEquals(ptsOf(g.offer(u(11))), [])
  assertEquals(ptsOf(g.offer(u(13, 2))), [13])
  assertEquals(ptsOf(g.offer(u(12))), [], "older than the local pts")
  assertEquals([g.pts, g.gap], [13, false])
})

Deno.test("PtsGate: a gap holds later updates; the late one releases them in pts order", () => {
  const g = new PtsGate(10)
  assertEquals(ptsOf(g.offer(u(13))), [])
  assertEquals(ptsOf(g.offer(u(12))), [])
  assertEquals([g.gap, g.waiting, g.pts], [true, 2, 10])
  assertEquals(ptsOf(g.offer(u(13))), [], "a copy of a waiting update is not held twice")
  assertEquals(g.waiting, 2)
  assertEquals(ptsOf(g.offer(u(11))), [11, 12, 13])
  assertEquals([g.gap, g.pts], [false, 13])
})

Deno.test("PtsGate: a difference moves the pts past the gap; covered updates are dropped, the next ones drain", () => {
  const g = new PtsGate(10)
  g.offer(u(14))
  g.offer(u(15))
  g.offer(u(18))
  assertEquals(ptsOf(g.advance(14)), [15], "14 is covered by the difference, 15 follows it")
  assertEquals([g.pts, g.waiting], [15, 1])
  assertEquals(ptsOf(g.advance(17)), [18])
  assertEquals([g.pts, g.gap], [18, false])
  assertEquals(ptsOf(g.advance(12)), [], "a difference behind the pts moves nothing back")
  assertEquals(g.pts, 18)
})

Deno.test("PtsGate: a deletion of three posts counts three pts", () => {
  const g = new PtsGate(100)
  assertEquals(ptsOf(g.offer(u(103, 3))), [103])
  assertEquals(ptsOf(g.offer(u(105, 3))), [], "overlapping what was applied (103 + 3 > 105): dropped")
  assertEquals(g.waiting, 0)
  assertEquals(ptsOf(g.offer(u(107, 3))), [], "103 + 3 < 107: a gap of one pts before it")
  assertEquals(g.waiting, 1)
  assertEquals(ptsOf(g.offer(u(104))), [104, 107])
  assertEquals(g.pts, 107)
})

Deno.test("PtsGate: a reset moves the pts back or forward; what waits at or below it is dropped, the next drain", () => {
  const g = new PtsGate(1_000)
  assertEquals(ptsOf(g.offer(u(501))), [], "behind a pts from the future: taken for applied already")
  assertEquals(ptsOf(g.reset(500)), [])
  assertEquals(g.pts, 500)
  assertEquals(ptsOf(g.offer(u(501))), [501], "after the reset the same update applies")
  g.offer(u(504))
  g.offer(u(506))
  assertEquals(ptsOf(g.reset(505)), [506], "504 is below the new pts, 506 follows it")
  assertEquals([g.pts, g.gap], [506, false])
})
