/** The token bucket (GCRA): rate, burst, reservations at a chosen time, and giving back an unused slot. */
import { earliest, makeBucket, reserve, unreserve } from "../../src/pool/Gcra.ts"
import { assertEquals, assertThrows } from "../support/assert.ts"

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

Deno.test("Gcra: unreserve gives back the latest slot only", () => {
  const b = makeBucket(2)
  const [first, second] = take(b, 2)
  unreserve(b, second!)
  assertEquals(earliest(b, 0), 500, "the second slot is free again")
  take(b, 1)
  unreserve(b, first!) // a later reservation exists: nothing given back
  assertEquals(earliest(b, 0), 1000)
})

Deno.test("Gcra: a rate that is not positive is refused", () => {
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assertThrows(() => makeBucket(rate))
})
