/** History checkpoints: the contiguous range of a channel's posts already stored, and how it may move (pure). */

/**
 * Every existing post with `bottom <= id <= top` is stored. `top` only rises, `bottom` only falls, `done` only turns
 * true (the backfill reached the channel's first post). 0 means unset.
 */
export interface HistoryCursor {
  readonly top: number
  readonly bottom: number
  readonly done: boolean
}

export const emptyHistoryCursor: HistoryCursor = { top: 0, bottom: 0, done: false }

const nonNegativeInt = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : 0)

/** Reads a stored cursor; anything malformed counts as unset (the sync then starts from the newest post). */
export function decodeHistoryCursor(json: unknown): HistoryCursor {
  if (!json || typeof json !== "object") return emptyHistoryCursor
  const o = json as Record<string, unknown>
  return { top: nonNegativeInt(o.top), bottom: nonNegativeInt(o.bottom), done: o.done === true }
}

/**
 * The channel's pts when its history was first read, kept in the history checkpoint (`pts`): every stored post is the
 * channel as it was at that pts or later, so live updates of a channel followed for the first time start there (a
 * deletion or edit made while the history was read is then replayed), not at the current pts.
 */
export function historyStartPts(json: unknown): number | undefined {
  const pts = json && typeof json === "object" ? (json as Record<string, unknown>).pts : undefined
  return nonNegativeInt(pts) || undefined
}

/** The monotonic merge: a cursor never moves backwards, whatever order pages commit in. */
export function mergeHistoryCursor(stored: HistoryCursor, next: HistoryCursor): HistoryCursor {
  const min = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b))
  return {
    top: Math.max(stored.top, next.top),
    bottom: min(stored.bottom, next.bottom),
    done: stored.done || next.done,
  }
}

/**
 * Whether `stored` vouches for everything `claimed` says is stored: its range reaches at least as far both ways and
 * it is done when `claimed` is. A writer's in-memory cursor that the stored one does not cover means the database lost
 * pages it had acknowledged (a crash with asynchronous commits, a failover to a replica that lagged): the writer must
 * go back to the stored cursor, never write past the hole.
 */
export function coversHistory(stored: HistoryCursor, claimed: HistoryCursor): boolean {
  return stored.top >= claimed.top &&
    (claimed.bottom === 0 || (stored.bottom > 0 && stored.bottom <= claimed.bottom)) &&
    (stored.done || !claimed.done)
}

/** Where the next history page starts, for each walk. */
export type HistoryWalk = "forward" | "backfill"

export interface PagePlan {
  readonly offsetId: number
  readonly addOffset: number
  readonly limit: number
  readonly minId: number
  readonly maxId: number
}

/** The request for the next page of `walk`, `limit` posts at most (1..100). */
export function planPage(walk: HistoryWalk, cursor: HistoryCursor, limit: number): PagePlan {
  return walk === "forward"
    // The `limit` posts just above `top`, oldest first once reversed: offset_id = top + 1, add_offset = -limit.
    ? { offsetId: cursor.top + 1, addOffset: -limit, limit, minId: cursor.top, maxId: 0 }
    // The `limit` posts just below `bottom` (from the newest post when unset).
    : { offsetId: cursor.bottom, addOffset: 0, limit, minId: 0, maxId: 0 }
}

export interface PageOutcome {
  /** The cursor once this page is stored. */
  readonly cursor: HistoryCursor
  /** Whether this walk has more pages (false when Telegram says nothing remains: no request is wasted). */
  readonly more: boolean
}

/**
 * Folds a fetched page into the cursor. `count` is the channel's total and `offsetIdOffset` the position of the
 * page's first (newest) post counted from the channel's newest post, when Telegram says ("the absolute position of
 * messages[0]").
 *
 * Forward: more pages while posts newer than this page exist (offsetIdOffset > 0; without it, while pages are
 * full). Backfill: done on an empty page, on reaching message 1, or when no older post remains; a full page that
 * says nothing remains is followed by one more request rather than trusting the count to end the channel's history
 * (never mark done while a post may be left).
 */
export function afterPage(
  walk: HistoryWalk,
  cursor: HistoryCursor,
  page: { readonly ids: ReadonlyArray<number>; readonly count: number; readonly offsetIdOffset: number | undefined },
  limit: number,
): PageOutcome {
  const { ids } = page
  if (ids.length === 0) {
    return { cursor: walk === "backfill" ? { ...cursor, done: true } : cursor, more: false }
  }
  const max = Math.max(...ids)
  const min = Math.min(...ids)
  if (walk === "forward") {
    const more = page.offsetIdOffset === undefined ? ids.length >= limit : page.offsetIdOffset > 0
    return { cursor: mergeHistoryCursor(cursor, { top: max, bottom: 0, done: false }), more }
  }
  const older = page.offsetIdOffset === undefined ? undefined : page.count - (page.offsetIdOffset + ids.length)
  const done = min === 1 || (ids.length < limit ? older === undefined || older <= 0 : false)
  return {
    cursor: mergeHistoryCursor(cursor, { top: cursor.top === 0 ? max : 0, bottom: min, done }),
    more: !done,
  }
}
