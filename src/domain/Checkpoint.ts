/** History checkpoints: the contiguous range of a channel's posts already stored, and how it may move (pure). */
import { Effect, Option, Schema, SchemaTransformation } from "effect"

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

/** A stored field read leniently: a missing or malformed value is `unset` (a cursor is never a reason to fail). */
const lenient = <A>(schema: Schema.Codec<A>, read: (v: unknown) => A, unset: A) =>
  Schema.Unknown.pipe(
    Schema.decodeTo(schema, SchemaTransformation.transform<A, unknown>({ decode: read, encode: (a) => a })),
    Schema.withDecodingDefaultKey(Effect.succeed(unset)),
  )

/** A positive integer; anything else is 0 (unset). */
const Position = lenient(Schema.Number, (v) => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 0), 0)
const Reached = lenient(Schema.Boolean, (v) => v === true, false)

/**
 * The "history" checkpoint: the stored range (HistoryCursor) and `pts`, the channel's pts when its history was first
 * read: every stored post is the channel as it was at that pts or later, so live updates of a channel followed for
 * the first time start there (a deletion or edit made while the history was read is then replayed), not at the
 * current pts. 0: unknown.
 */
export const HistoryCheckpoint = Schema.Struct({ top: Position, bottom: Position, done: Reached, pts: Position })

/** The "updates" checkpoint: the pts up to which every change of the channel is stored. 0: not followed yet. */
export const UpdatesCheckpoint = Schema.Struct({ pts: Position })

/** The checkpoint streams, each with the one schema its stored cursor is read and written with. */
export const CHECKPOINTS = { history: HistoryCheckpoint, updates: UpdatesCheckpoint } as const

export type CheckpointStream = keyof typeof CHECKPOINTS

/** The cursor of `S` as tgpulse reads it (every field present; 0 and false mean unset). */
export type Checkpoint<S extends CheckpointStream> = (typeof CHECKPOINTS)[S]["Type"]

const UNSET: { readonly [S in CheckpointStream]: Checkpoint<S> } = {
  history: { ...emptyHistoryCursor, pts: 0 },
  updates: { pts: 0 },
}

/** Reads a stored cursor of `stream`; anything malformed counts as unset (history then starts from the newest post). */
export const decodeCheckpoint = <S extends CheckpointStream>(stream: S, json: unknown): Checkpoint<S> =>
  Option.getOrElse(
    Schema.decodeUnknownOption(CHECKPOINTS[stream] as unknown as Schema.Codec<Checkpoint<S>, unknown>)(json),
    () => UNSET[stream],
  )

/** The stored range of a history checkpoint (its `pts` left out). */
export function decodeHistoryCursor(json: unknown): HistoryCursor {
  const { top, bottom, done } = decodeCheckpoint("history", json)
  return { top, bottom, done }
}

/** The pts a history checkpoint was first read at (see HistoryCheckpoint), if known. */
export const historyStartPts = (json: unknown): number | undefined => decodeCheckpoint("history", json).pts || undefined

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
