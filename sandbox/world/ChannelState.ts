/** The mutable state of one channel of the world: deleted ids, edits, bumps, pts and its log; the rest is generated. */
import { Bumps } from "./Bumps.ts"
import type { ChannelInfo, ChannelTruth, Post, PtsChange, TextEntity } from "./Model.ts"
import { firstAtLeast, lastAtMost } from "./Search.ts"

export interface Edit {
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
  readonly editDate: number
}

/** Mutable state of one channel; the generated base (posts, deleted ranges) stays implicit. */
export class ChannelState {
  /** Published posts' dates; published id = baseMaxId + 1 + index. */
  readonly publishedDates: Array<number> = []
  /**
   * The world's `asOf` when posts were published, as runs (it moves only with the clock's moves, so one entry per move
   * between publications, not one per post): published index `runStart[k]` and those after it until the next run.
   */
  private readonly runStart: Array<number> = []
  private readonly runAsOf: Array<number> = []
  /** Ids deleted through `delete`, ascending (never ids of the deleted ranges). */
  deleted: Array<number> = []
  readonly deletedSet = new Set<number>()
  readonly edits = new Map<number, Edit>()
  readonly views = new Bumps()
  readonly forwards = new Bumps()
  /** Reaction count changes per post, by emoji (on top of the generated reactions). */
  readonly reactionDeltas = new Map<number, Map<string, number>>()
  maxId: number
  count: number
  pts: number
  /** The date (sandbox clock, unix seconds) of the latest change that moved pts. */
  lastChangeDate: number | undefined = undefined
  version = 1
  /** Changes that moved pts, oldest first; beyond `ptsLogSize` the oldest fall off (difference too long). */
  changes: Array<PtsChange> = []
  /** Comments added to posts (admin API), by post id: their ids in the discussion group, ascending. */
  readonly addedComments = new Map<number, Array<number>>()
  /** Comments deleted in the discussion group, by post id. */
  readonly deletedComments = new Map<number, number>()

  constructor(
    readonly info: ChannelInfo,
    readonly key: number,
    readonly baseMaxId: number,
    /** Deleted ranges [start, end), ascending and disjoint; cum[k] = deleted ids in ranges before k. */
    readonly rangeStart: Int32Array,
    readonly rangeEnd: Int32Array,
    readonly rangeCum: Int32Array,
    /** Seconds from the epoch to the base post with id baseMaxId. */
    readonly span: number,
    readonly epoch: number,
    baseCount: number,
    readonly ptsLogSize: number,
  ) {
    this.maxId = baseMaxId
    this.count = baseCount
    this.pts = baseCount
  }

  /** A message this state builds itself (a discussion group's, see Comments.ts); undefined: a generated post. */
  message(_id: number): Post | undefined {
    return undefined
  }

  /** The truth of a state that reckons it itself (a discussion group's); undefined: World.truth walks the posts. */
  ownTruth(): ChannelTruth | undefined {
    return undefined
  }

  /** What `WorldApi.version` tells: changes whenever anything this state shows changes. */
  cacheVersion(): number {
    return this.version
  }

  /** True when the id is in one of the generated deleted ranges. */
  inDeletedRange(id: number): boolean {
    const k = lastAtMost(this.rangeStart, id)
    return k >= 0 && id < this.rangeEnd[k]!
  }

  exists(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.maxId && !this.inDeletedRange(id) && !this.deletedSet.has(id)
  }

  /** Number of existing ids `<= x`. */
  rankAtMost(x: number): number {
    if (x < 1) return 0
    if (x > this.maxId) x = this.maxId
    x = Math.floor(x)
    const k = lastAtMost(this.rangeStart, x)
    const inRanges = k < 0 ? 0 : this.rangeCum[k]! + Math.min(x, this.rangeEnd[k]! - 1) - this.rangeStart[k]! + 1
    return x - inRanges - (lastAtMost(this.deleted, x) + 1)
  }

  /** The r-th existing id counted from the oldest (1-based); requires 1 <= r <= count. */
  select(r: number): number {
    let lo = 1
    let hi = this.maxId
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (this.rankAtMost(mid) >= r) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** The largest existing id below `id`, or 0. */
  previous(id: number): number {
    for (let k = id - 1, steps = 0; k >= 1; k--, steps++) {
      if (this.exists(k)) return k
      if (steps >= 16) {
        const r = this.rankAtMost(k)
        return r === 0 ? 0 : this.select(r)
      }
    }
    return 0
  }

  /** Post date of any id in [1, maxId] (non-decreasing with id). */
  dateOf(id: number): number {
    if (id <= this.baseMaxId) return this.epoch + Math.floor((id * this.span) / this.baseMaxId)
    return this.publishedDates[id - this.baseMaxId - 1] ?? Number.POSITIVE_INFINITY
  }

  /** Appends a published post dated `date`, at the world's `asOf` (its counters age from there); returns its id. */
  publish(date: number, asOf: number): number {
    if (this.runAsOf[this.runAsOf.length - 1] !== asOf) {
      this.runStart.push(this.publishedDates.length)
      this.runAsOf.push(asOf)
    }
    this.publishedDates.push(date)
    return ++this.maxId
  }

  /**
   * The instant an id's counters age from, on the world's `asOf` scale: a generated post's date (history lies behind
   * the start), a published post's `asOf` at publication (its date follows the wall clock, its age only the moves).
   */
  agedFrom(id: number): number {
    if (id <= this.baseMaxId) return this.dateOf(id)
    return this.runAsOf[lastAtMost(this.runStart, id - this.baseMaxId - 1)] ?? Number.POSITIVE_INFINITY
  }

  /** Smallest id in [1, maxId + 1] whose date is >= `date`. */
  firstIdDatedAtLeast(date: number): number {
    let lo = 1
    let hi = this.maxId + 1
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (this.dateOf(mid) >= date) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Moves pts by `ids.length` for a deletion (1 for a new post or an edit) and logs the change made at `date`. */
  recordChange(kind: PtsChange["kind"], ids: ReadonlyArray<number>, date: number): number {
    const ptsCount = kind === "delete" ? ids.length : 1
    this.pts += ptsCount
    this.lastChangeDate = date
    this.version++
    this.changes.push({ pts: this.pts, ptsCount, kind, ids })
    // Trim in blocks, so that a full log costs O(1) per change on average.
    if (this.changes.length >= 2 * this.ptsLogSize) this.changes = this.changes.slice(-this.ptsLogSize)
    return this.pts
  }

  /** Changes with pts above `pts`, oldest first; undefined when the log no longer reaches back to `pts`. */
  changesSince(pts: number): ReadonlyArray<PtsChange> | undefined {
    const first = this.changes[0]
    const logStart = first === undefined ? this.pts : first.pts - first.ptsCount
    if (pts < logStart) return undefined
    let lo = 0
    let hi = this.changes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.changes[mid]!.pts <= pts) lo = mid + 1
      else hi = mid
    }
    return this.changes.slice(lo)
  }

  addDeleted(ids: ReadonlyArray<number>): void {
    for (const id of ids) this.deletedSet.add(id)
    if (ids.length > 16) {
      this.deleted = [...this.deleted, ...ids].sort((a, b) => a - b)
      return
    }
    // A few ids at a time (the activity generator): insert in place, no sort of the whole list per deletion.
    for (const id of ids) this.deleted.splice(firstAtLeast(this.deleted, id), 0, id)
  }
}
