/**
 * What the live state machine (LiveState) is fed and what it gives back: the inputs of a batch, the writes of a
 * channel, the differences to fetch, and how a change is staged in a batch's writes.
 */
import { Schema } from "effect"
import type { CounterChange, Post } from "./Post.ts"
import type { ChannelDifference, LiveEvent, MetricEvent, PtsEvent } from "./Updates.ts"

/**
 * The database no longer holds batches this run committed: a channel's stored pts is below the pts this run last
 * committed for it (a crash lost acknowledged commits, or a replica took over). The run stops before writing past
 * the hole; started again, it resumes from the stored pts and fills the hole with getChannelDifference.
 */
export class PtsBehind extends Schema.TaggedError<PtsBehind>()("PtsBehind", {
  channelId: Schema.Number,
  committed: Schema.Number,
}) {
  override get message(): string {
    return `the database lost updates it had stored for channel ${this.channelId} (its pts is below ${this.committed}, ` +
      "which this run had committed): starting again from the stored pts"
  }
}

/** What the shell feeds the state. */
export type LiveInput =
  | { readonly _tag: "Event"; readonly event: LiveEvent; readonly at: number; readonly account: string }
  | { readonly _tag: "Connected"; readonly account: string }
  | {
    readonly _tag: "Diff"
    readonly channelId: number
    /** The follow it was asked in (DiffRequest.epoch): an answer to an earlier follow of the channel is ignored. */
    readonly epoch?: number
    readonly diff: ChannelDifference
    /** Posts a history sync stored (a too-long difference) are counted, not rewritten. */
    readonly viaHistory: boolean
  }
  | { readonly _tag: "DiffFailed"; readonly channelId: number; readonly epoch?: number; readonly error: string }
  /**
   * Telegram refused the pts a difference was asked from (PERSISTENT_TIMESTAMP_INVALID or _EMPTY): the channel goes on
   * from `pts`, its pts as channels.getFullChannel gave it (lower or higher), its history synced meanwhile.
   */
  | { readonly _tag: "PtsReset"; readonly channelId: number; readonly epoch?: number; readonly pts: number }
  /** The highest post id stored for a channel, read again (a history sync beside may have stored newer posts). */
  | { readonly _tag: "StoredTop"; readonly channelId: number; readonly top: number }

/** One batch's writes for one channel. */
export interface Writes {
  readonly posts: Map<number, Post>
  readonly deleted: Set<number>
  readonly metrics: Array<CounterChange>
  /** The pts these writes reach (undefined: only counters). */
  pts: number | undefined
  /** True when `pts` replaces the stored one even if lower (a PtsReset in the batch). */
  reset?: boolean
}

/** A difference to fetch: from `pts` on. */
export interface DiffRequest {
  readonly channelId: number
  readonly pts: number
  /** Which follow of the channel asked (a channel may be left and followed again while a difference is out). */
  readonly epoch: number
}

/** What one batch did. */
export interface Step {
  readonly writes: ReadonlyMap<number, Writes>
  readonly diffs: ReadonlyArray<DiffRequest>
  readonly applied: number
  readonly duplicates: number
  readonly received: number
  readonly differences: number
  readonly tooLong: number
  /** Channels whose pts was reset (PtsReset). */
  readonly ptsResets: number
  readonly gapsRecovered: number
  readonly failedDiffs: ReadonlyArray<{ readonly channelId: number; readonly error: string }>
  /** Receipt times of what this batch applied, and the pts-moving ones with their pts (latency probes). */
  readonly latencies: ReadonlyArray<number>
  readonly committed: ReadonlyArray<{ readonly channelId: number; readonly pts: number; readonly at: number }>
  /** The oldest receipt time in the batch (`now` when none). */
  readonly oldest: number
}

export const counterChange = (e: MetricEvent): CounterChange =>
  e._tag === "Views"
    ? { msgId: e.msgId, views: e.views }
    : e._tag === "Forwards"
    ? { msgId: e.msgId, forwards: e.forwards }
    : { msgId: e.msgId, reactions: e.reactions, reactionsTotal: e.reactionsTotal }

/** Stages a post (new, edited, or as a difference has it now), replacing a deletion staged for it. */
export function stagePost(w: Writes, post: Post): void {
  w.deleted.delete(post.msgId)
  w.posts.set(post.msgId, post)
}

/** Stages one pts change in a batch's writes. */
export function stage(w: Writes, e: PtsEvent): void {
  switch (e._tag) {
    case "NewPost":
    case "EditPost":
      stagePost(w, e.post)
      break
    case "DeletePosts":
      for (const id of e.ids) w.deleted.add(id)
      break
    case "PtsOnly":
      break
  }
}
