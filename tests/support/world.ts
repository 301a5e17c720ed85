/** Test support for the sandbox world: getHistory queries and the ids a walk must return. */
import type { HistoryQuery, WorldApi } from "../../src/sandbox/Model.ts"

/** A getHistory query: a first page of 100 unless overridden. */
export const historyQuery = (q: Partial<HistoryQuery> = {}): HistoryQuery => ({
  offsetId: 0,
  offsetDate: 0,
  addOffset: 0,
  limit: 100,
  maxId: 0,
  minId: 0,
  hash: 0n,
  ...q,
})

/** The ids that exist in a channel now, newest first, from its ground truth. */
export function existingIds(world: WorldApi, channelId: number): Array<number> {
  const truth = world.truth(channelId)
  const deleted = new Set(truth.deletedIds)
  const out: Array<number> = []
  for (let id = truth.maxId; id >= 1; id--) if (!deleted.has(id)) out.push(id)
  return out
}
