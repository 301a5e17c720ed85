/**
 * One channel's counter changes (views, forwards, reactions) as live updates order them against post snapshots.
 * Counter updates carry no pts, so their order is the order they were received in (`Seq`); a post snapshot written
 * later than a counter it is older than must be followed by that counter again. Kept here: the counters held for
 * posts not stored yet, and the newest counter of each kind per post while some snapshot may still be older than it.
 */
import type { CounterChange } from "./Post.ts"

/**
 * Where a change stands in the order things were received: events count up one by one; what a difference brings
 * stands just after the last event received before the difference was asked for (it may be older than anything
 * received since, which therefore goes in after it).
 */
export type Seq = number

/** A counter change and where it stands. */
export interface Seen {
  readonly change: CounterChange
  readonly seq: Seq
}

const kindOf = (c: CounterChange): "views" | "forwards" | "reactions" =>
  c.views !== undefined ? "views" : c.forwards !== undefined ? "forwards" : "reactions"

export class Counters {
  /** Counter changes of posts not stored yet (their new-post update waits behind a gap, or comes by a difference). */
  private readonly held = new Map<number, Array<Seen>>()
  /** The newest change of each kind per post, ordered by each post's newest change (oldest first). */
  private readonly recent = new Map<number, Map<string, Seen>>()

  /** `limit`: posts kept in each of the two maps (the oldest go first). */
  constructor(private readonly limit: number) {}

  /** Holds `seen` until its post is stored. */
  hold(seen: Seen): void {
    const list = this.held.get(seen.change.msgId)
    if (list) list.push(seen)
    else this.held.set(seen.change.msgId, [seen])
    if (this.held.size > this.limit) this.held.delete(this.held.keys().next().value!)
  }

  /** Keeps `seen` as its post's newest change of its kind (unless a newer one is kept). */
  remember(seen: Seen): void {
    const msgId = seen.change.msgId
    const kinds = this.recent.get(msgId) ?? new Map<string, Seen>()
    const kind = kindOf(seen.change)
    if ((kinds.get(kind)?.seq ?? -Infinity) < seen.seq) kinds.set(kind, seen)
    this.recent.delete(msgId)
    this.recent.set(msgId, kinds)
    if (this.recent.size > this.limit) this.recent.delete(this.recent.keys().next().value!)
  }

  /** The post's newest change of each kind (held or remembered) received after `seq`, in the order received. */
  newerThan(msgId: number, seq: Seq): ReadonlyArray<CounterChange> {
    const newest = new Map<string, Seen>()
    for (const seen of [...(this.held.get(msgId) ?? []), ...(this.recent.get(msgId)?.values() ?? [])]) {
      const kind = kindOf(seen.change)
      if (seen.seq > seq && (newest.get(kind)?.seq ?? -Infinity) < seen.seq) newest.set(kind, seen)
    }
    return [...newest.values()].sort((a, b) => a.seq - b.seq).map((s) => s.change)
  }

  /** The post is stored: nothing is held for it any more. */
  release(msgId: number): void {
    this.held.delete(msgId)
  }

  /** Posts up to `top` were stored by someone else (a history sync): their held changes, in the order received. */
  releaseUpTo(top: number): ReadonlyArray<CounterChange> {
    const out: Array<CounterChange> = []
    for (const [msgId, list] of this.held) {
      if (msgId > top) continue
      out.push(...list.map((s) => s.change))
      this.held.delete(msgId)
    }
    return out
  }

  /** Forgets the remembered changes older than `horizon` (no snapshot that may still be written is older). */
  forget(horizon: Seq): void {
    if (horizon === Infinity) return this.recent.clear()
    for (const [msgId, kinds] of this.recent) {
      if (Math.max(...[...kinds.values()].map((s) => s.seq)) >= horizon) break
      this.recent.delete(msgId)
    }
  }
}
