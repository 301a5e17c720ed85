/** The deletion probe's plan: calls of at most 100 stored ids, evenly spaced over the sweep; only messageEmpty counts. */
import { callSpacingMs, deletedIds, planSweep, PROBE_BATCH } from "../../src/domain/DeletionPlan.ts"
import { assertEquals } from "../support/assert.ts"

Deno.test("DeletionPlan.planSweep cuts each channel's stored ids into calls of at most 100, every id once", () => {
  const ids = Array.from({ length: 250 }, (_, i) => i * 3 + 1)
  const calls = planSweep([{ channelId: 1, ids }, { channelId: 2, ids: [7] }, { channelId: 3, ids: [] }])
  assertEquals(calls.map((c) => [c.channelId, c.ids.length]), [[1, 100], [1, 100], [1, 50], [2, 1]])
  assertEquals(calls.filter((c) => c.channelId === 1).flatMap((c) => c.ids), ids)
  assertEquals(PROBE_BATCH, 100)
})

Deno.test("DeletionPlan.callSpacingMs spreads a sweep's calls evenly over its period", () => {
  assertEquals(callSpacingMs(4, 86_400_000), 21_600_000)
  assertEquals(callSpacingMs(3, 1000), 333)
  assertEquals(callSpacingMs(0, 86_400_000), 0)
  assertEquals(callSpacingMs(10, 0), 0)
})

Deno.test("DeletionPlan.deletedIds: messageEmpty for an id asked is a deletion; an id not answered is not", () => {
  assertEquals(deletedIds([1, 2, 3, 4], { found: [1, 3], empty: [2] }), [2])
  assertEquals(deletedIds([1, 2], { found: [], empty: [2, 9] }), [2], "an id not asked is never a deletion")
  assertEquals(deletedIds([5], { found: [], empty: [] }), [], "no answer for an id: left alone")
})
