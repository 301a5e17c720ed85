/** The refresh schedule: tiers by age, due on each tier's grid, rounds on the finest grid. */
import { isDue, maxAgeOf, nextRound, parseSchedule } from "../../src/domain/Refresh.ts"
import { assertEquals } from "../support/assert.ts"

const tiers = parseSchedule("1d:10m,7d:1h,30d:1d")
const H = 3_600
const D = 86_400

Deno.test("Refresh: a post is due once per slot of its age's tier, never past the last tier", () => {
  const date = 10 * D
  assertEquals(isDue(tiers, date, undefined, date + 60), true, "never refreshed")
  assertEquals(isDue(tiers, date, date + 60, date + 599), false, "same 10-minute slot")
  assertEquals(isDue(tiers, date, date + 599, date + 600), true, "next 10-minute slot")
  assertEquals(isDue(tiers, date, date + 2 * D, date + 2 * D + 30 * 60), false, "two days old: hourly")
  assertEquals(isDue(tiers, date, date + 2 * D, date + 2 * D + H), true)
  assertEquals(isDue(tiers, date, date + 10 * D, date + 10 * D + 12 * H), false, "ten days old: daily")
  assertEquals(isDue(tiers, date, undefined, date + 30 * D), false, "older than 30 days: never")
  assertEquals(maxAgeOf(tiers), 30 * D)
})

Deno.test("Refresh.nextRound: the next slot of the finest grid, strictly after now", () => {
  assertEquals(nextRound(tiers, 0), 600_000)
  assertEquals(nextRound(tiers, 599_999), 600_000)
  assertEquals(nextRound(tiers, 600_000), 1_200_000)
  assertEquals(nextRound(parseSchedule("2h:1h,1d:15m"), 1_000), 900_000)
})
