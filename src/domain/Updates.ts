/**
 * Real-time channel updates as plain data, and the pts rules that order them (core.telegram.org/api/updates): an update
 * with `pts` and `pts_count` applies when `local + pts_count == pts`, was applied already when `local + pts_count >
 * pts`, and leaves a gap otherwise (to be filled with updates.getChannelDifference). Pure: no I/O.
 */
import type { Post } from "./Post.ts"

/** A change that moves the channel's pts. */
export type PtsEvent =
  | {
    readonly _tag: "NewPost"
    readonly channelId: number
    readonly post: Post
    readonly pts: number
    readonly ptsCount: number
  }
  | {
    readonly _tag: "EditPost"
    readonly channelId: number
    readonly post: Post
    readonly pts: number
    readonly ptsCount: number
  }
  | {
    readonly _tag: "DeletePosts"
    readonly channelId: number
    readonly ids: ReadonlyArray<number>
    readonly pts: number
    readonly ptsCount: number
  }
  /** A pts-moving update tgpulse does not store (an empty message, another kind of update). */
  | { readonly _tag: "PtsOnly"; readonly channelId: number; readonly pts: number; readonly ptsCount: number }

/** A change of a post's counters (no pts on Telegram: nothing orders or recovers them, the refresh reconciles). */
export type MetricEvent =
  | { readonly _tag: "Views"; readonly channelId: number; readonly msgId: number; readonly views: number }
  | { readonly _tag: "Forwards"; readonly channelId: number; readonly msgId: number; readonly forwards: number }
  | {
    readonly _tag: "Reactions"
    readonly channelId: number
    readonly msgId: number
    readonly reactions: Readonly<Record<string, number>>
    readonly reactionsTotal: number
  }

/** Telegram says a channel has more than it pushes: get its difference. */
export interface ChannelTooLong {
  readonly _tag: "ChannelTooLong"
  readonly channelId: number
  readonly pts: number | undefined
}

export type LiveEvent = PtsEvent | MetricEvent | ChannelTooLong

/** What updates.getChannelDifference answered, as data. */
export type ChannelDifference =
  | { readonly _tag: "Empty"; readonly pts: number; readonly final: boolean; readonly timeout: number | undefined }
  | {
    readonly _tag: "Difference"
    /** The channel's pts after every change listed here. */
    readonly pts: number
    readonly final: boolean
    readonly timeout: number | undefined
    /** New posts (as they are now) and edits, deletions and counter changes, in order. */
    readonly posts: ReadonlyArray<Post>
    readonly events: ReadonlyArray<PtsEvent | MetricEvent>
  }
  /** The pts is too old to replay: refetch the channel (history) and go on from `pts`. */
  | {
    readonly _tag: "TooLong"
    readonly pts: number
    readonly timeout: number | undefined
    readonly posts: ReadonlyArray<Post>
  }

export const isPtsEvent = (e: LiveEvent): e is PtsEvent =>
  e._tag === "NewPost" || e._tag === "EditPost" || e._tag === "DeletePosts" || e._tag === "PtsOnly"

/**
 * One channel's pts and the updates that arrived ahead of a gap. `offer` returns what may be applied now, in pts
 * order; whatever waits behind a gap stays pending until the gap fills (by a late push) or `advance` moves the pts
 * past it (after a difference).
 */
export class PtsGate<E extends { readonly pts: number; readonly ptsCount: number }> {
  private pending: Array<E> = []

  constructor(private current: number) {}

  get pts(): number {
    return this.current
  }

  /** Updates held behind a gap. */
  get waiting(): number {
    return this.pending.length
  }

  /** True while updates wait behind a gap. */
  get gap(): boolean {
    return this.pending.length > 0
  }

  /** The updates that apply now, in order (none when `e` was applied already or waits behind a gap). */
  offer(e: E): ReadonlyArray<E> {
    const expected = this.current + e.ptsCount
    if (expected > e.pts) return [] // applied already (a duplicate, or pushed on several connections)
    if (expected < e.pts) {
      if (!this.pending.some((p) => p.pts === e.pts)) {
        this.pending.push(e)
        this.pending.sort((a, b) => a.pts - b.pts)
      }
      return []
    }
    this.current = e.pts
    return [e, ...this.drain()]
  }

  /** The pts moved to `pts` (a difference applied): pending updates at or below it are dropped, the next ones drain. */
  advance(pts: number): ReadonlyArray<E> {
    if (pts > this.current) this.current = pts
    return this.drain()
  }

  /**
   * The pts is `pts` from now on, lower or higher (Telegram refused ours and told its own): pending updates at or below
   * it are dropped, the next ones drain.
   */
  reset(pts: number): ReadonlyArray<E> {
    this.current = pts
    return this.drain()
  }

  private drain(): Array<E> {
    const out: Array<E> = []
    while (this.pending.length > 0) {
      const next = this.pending[0]!
      const expected = this.current + next.ptsCount
      if (expected > next.pts) {
        this.pending.shift()
        continue
      }
      if (expected < next.pts) break
      this.pending.shift()
      this.current = next.pts
      out.push(next)
    }
    return out
  }
}
