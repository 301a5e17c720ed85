/**
 * The token bucket (GCRA): rate, burst and reservations at a chosen time; the Ledger, which takes reservations in any
 * order of time and gives back an unused one, against a brute-force oracle.
 */
import {
  book,
  cancel,
  earliest,
  fit,
  type Ledger,
  makeBucket,
  makeLedger,
  reserve,
  settle,
} from "../../src/pool/Gcra.ts"
import { assert, assertEquals, assertThrows } from "../support/assert.ts"

/** Takes `n` calls as early as allowed from time `from`; their start times. */
const take = (bucket: ReturnType<typeof makeBucket>, n: number, from = 0) =>
  Array.from({ length: n }, () => {
    const at = earliest(bucket, from)
    reserve(bucket, at)
    return at
  })

Deno.test("Gcra: the sustained rate spaces calls; a burst runs ahead by burst - 1 calls", () => {
  assertEquals(take(makeBucket(2), 4), [0, 500, 1000, 1500])
  assertEquals(take(makeBucket(2, 3), 5), [0, 0, 0, 500, 1000])
  // After idling the burst is available again, never more.
  const b = makeBucket(2, 3)
  take(b, 3)
  assertEquals(take(b, 4, 10_000), [10_000, 10_000, 10_000, 10_500])
})

Deno.test("Gcra: a reservation at a later time counts from that time", () => {
  const b = makeBucket(1)
  reserve(b, 5_000)
  assertEquals(earliest(b, 0), 6_000)
})

Deno.test("Gcra: a rate that is not positive is refused", () => {
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assertThrows(() => makeBucket(rate))
})

/** Whether calls at `times` (any order) keep a budget of `rate`/s and `burst`: the GCRA over them in time order. */
const conforms = (times: ReadonlyArray<number>, rate: number, burst: number) => {
  const bucket = makeBucket(rate, burst)
  return times.toSorted((a, b) => a - b).every((t) => {
    const ok = t >= earliest(bucket, t) - 1e-9
    reserve(bucket, t)
    return ok
  })
}

/** Books the earliest fitting call not before `at`; its time. */
const takeIn = (ledger: Ledger, at: number) => {
  const t = fit(ledger, at)
  book(ledger, t)
  return t
}

Deno.test("Ledger: a call reserved ahead leaves the time before it free", () => {
  const ledger = makeLedger(1)
  assertEquals(takeIn(ledger, 5_000), 5_000)
  assertEquals(takeIn(ledger, 0), 0, "a plain GCRA would say 6,000")
  assertEquals(takeIn(ledger, 0), 1_000)
  // 4,500 is too close to 5,000: after it.
  assertEquals(takeIn(ledger, 4_500), 6_000)
  assertEquals(takeIn(ledger, 3_000), 3_000)
  assertEquals(takeIn(ledger, 2_500), 4_000, "exactly 1 s from 3,000 and from 5,000")
  assertEquals(takeIn(ledger, 2_500), 7_000)
})

Deno.test("Ledger: a burst fits where the GCRA over all the calls allows it", () => {
  const ledger = makeLedger(1, 2)
  assertEquals([takeIn(ledger, 10_000), takeIn(ledger, 10_000), takeIn(ledger, 0), takeIn(ledger, 0)], [
    10_000,
    10_000,
    0,
    0,
  ])
  // Two at 0 and two at 10,000: the next fits at 1,000 (one token back after a second), not between 9,000 and 10,000.
  assertEquals(takeIn(ledger, 500), 1_000)
  assertEquals(takeIn(ledger, 9_500), 11_000)
})

Deno.test("Ledger: cancel gives back any pending call; settled ones stay taken", () => {
  const ledger = makeLedger(1)
  for (const at of [0, 3_000, 6_000]) book(ledger, at)
  cancel(ledger, 3_000)
  assertEquals(fit(ledger, 2_000), 2_000, "3,000 is free again though 6,000 was booked after it")
  settle(ledger, 100)
  cancel(ledger, 0)
  assertEquals(fit(ledger, 100), 1_000, "the call at 0 was settled: taken")
})

Deno.test("Ledger: random bookings in any order always conform, and fit finds the earliest time that does", () => {
  let seed = 42
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  for (let round = 0; round < 200; round++) {
    const rate = [0.5, 1, 2, 5][round % 4]!
    const burst = 1 + (round % 3)
    const ledger = makeLedger(rate, burst)
    const booked: Array<number> = []
    let now = 0
    for (let i = 0; i < 25; i++) {
      // On a grid of 100 ms (every interval is a multiple of it), so the earliest fitting time is on it too.
      now += 100 * Math.floor(random() * 3)
      settle(ledger, now)
      const at = now + 100 * Math.floor(random() * 40)
      const t = fit(ledger, at)
      // The oracle: no time on the grid from `at` to before t fits with the calls booked so far.
      for (let u = at; u < t; u += 100) assert(!conforms([...booked, u], rate, burst), `${u} fits before ${t}`)
      book(ledger, t)
      booked.push(t)
      assert(conforms(booked, rate, burst), `round ${round}: ${booked.join(",")}`)
      if (random() < 0.2) {
        const gone = booked.splice(Math.floor(random() * booked.length), 1)[0]!
        if (gone > now) cancel(ledger, gone)
        else booked.push(gone) // settled: stays taken
      }
    }
  }
})
