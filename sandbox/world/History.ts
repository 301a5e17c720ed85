/** messages.getHistory as Telegram answers it (core.telegram.org/api/offsets): queries, pages of ids, the ids hash. */
import type { ChannelState } from "./ChannelState.ts"
import type { HistoryQuery } from "./Model.ts"

const MASK64 = (1n << 64n) - 1n

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

/** Hash of a list of message ids (core.telegram.org/api/offsets), as a signed 64-bit TL long. */
export function historyHash(ids: ReadonlyArray<number>): bigint {
  let h = 0n
  for (const id of ids) {
    h ^= h >> 21n
    h ^= (h << 35n) & MASK64
    h ^= h >> 4n
    h = (h + BigInt(id)) & MASK64
  }
  return BigInt.asIntN(64, h)
}

/** The ids of the page a query asks for (newest first), the page's offset_id_offset, and whether its hash matched. */
export interface HistoryIds {
  readonly ids: ReadonlyArray<number>
  readonly offsetIdOffset: number
  readonly notModified: boolean
}

/** What `historyIds` pages: existing ids ranked from the oldest (a channel's posts, a thread's comments). */
export type Ranked = Pick<ChannelState, "count" | "rankAtMost" | "select" | "previous" | "firstIdDatedAtLeast">

/** The page of a channel that `query` asks for, exactly as Telegram slices it. */
export function historyIds(s: Ranked, query: HistoryQuery): HistoryIds {
  const count = s.count
  let limit = Math.min(100, Math.max(0, Math.trunc(query.limit)))
  if (limit === 0) limit = 20
  let offset = 0
  if (query.offsetId > 0) offset = count - s.rankAtMost(query.offsetId - 1)
  else if (query.offsetDate > 0) offset = count - s.rankAtMost(s.firstIdDatedAtLeast(query.offsetDate) - 1)
  const start = offset + Math.trunc(query.addOffset)
  const from = Math.max(0, start)
  const to = Math.min(count, start + limit)
  const ids: Array<number> = []
  // offset_id_offset is "the absolute position of messages[0]": how many posts are newer than the first one sent.
  let position = Math.min(from, count)
  if (from < to) {
    let id = s.select(count - from)
    for (let i = from; i < to && id > 0; i++) {
      if ((query.maxId <= 0 || id < query.maxId) && (query.minId <= 0 || id > query.minId)) {
        if (ids.length === 0) position = i
        ids.push(id)
      }
      if (i + 1 < to) id = s.previous(id)
    }
  }
  const asked = BigInt.asIntN(64, query.hash)
  const notModified = asked !== 0n && asked === historyHash(ids)
  return { ids, offsetIdOffset: position, notModified }
}
