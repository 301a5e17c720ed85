/**
 * The state of following channels live, as a pure state machine: fed what the connections and the differences bring
 * (in batches, with the time), it orders every channel's changes by the pts rules, holds counter changes of posts not
 * stored yet, decides which channels need a difference (a gap open too long, a reconnection, a catch-up), and returns
 * the writes of the batch. The Effect shell (collect/LiveUpdates.ts) takes the batches, commits the writes with their
 * pts, and fetches the differences asked for. No I/O, no clock of its own.
 */
import { Counters, type Seq } from "./Counters.ts"
import {
  counterChange,
  type DiffRequest,
  type LiveInput,
  stage,
  stagePost,
  type Step,
  type Writes,
} from "./LiveInput.ts"
import type { Post } from "./Post.ts"
import { isPtsEvent, type PtsEvent, PtsGate } from "./Updates.ts"

/** How long a gap may stay open before the difference is asked for (Telegram: "wait up to 0.5 s"). */
export const GAP_WAIT_MS = 500
/** A channel whose difference failed is asked again after this long. */
export const RETRY_DIFF_MS = 2_000
/** ... and after each further failure in a row twice as long, at most this long. */
export const RETRY_DIFF_MAX_MS = 60_000
/**
 * A reconnection catches a channel up at once unless it was caught up less than this long ago; then when this long
 * has passed (dozens of accounts reconnecting in turn would otherwise ask every channel again and again).
 */
export const RECONNECT_CATCH_UP_MS = 10_000
/**
 * Reconnections' catch-ups asked per second at most (after a burst of as many): with thousands of channels they go
 * out spread, not all at once, and leave the accounts' budget to the rest (gaps are filled at once, as ever).
 */
export const RECONNECT_CATCH_UPS_PER_SECOND = 20
/** Posts per channel whose counter changes may wait for the post itself (and whose newest counters are kept). */
export const HELD_PER_CHANNEL = 10_000

export { counterChange, type DiffRequest, type LiveInput, PtsBehind, type Step, type Writes } from "./LiveInput.ts"

type Timed = PtsEvent & { readonly at?: number; readonly seq: Seq }

/**
 * Where a post snapshot stands: an edit as it was received; a new post as it was created, before any counter change
 * of it (one may come first: the new post waited behind a gap, or came on a slower connection).
 */
const standing = (e: PtsEvent & { readonly post: Post }, seq: Seq): Seq => e._tag === "NewPost" ? -Infinity : seq

interface Channel {
  readonly epoch: number
  readonly gate: PtsGate<Timed>
  /** The highest post id stored: counters of newer posts wait for their post. */
  storedTop: number
  /** Counter changes held for posts not stored yet, and the newest ones a snapshot may still be older than. */
  readonly counters: Counters
  /** The account whose (ordered) stream gives this channel's counters: copies from several could interleave. */
  counterSource: string | undefined
  gapSince: number | undefined
  /** Where the oldest update held behind the open gap stands. */
  gapSeq: Seq | undefined
  failedAt: number | undefined
  /** Differences failed in a row (the wait before the next one doubles). */
  failures: number
  /** When a reconnection last asked for a difference, and when the next one it deferred is due. */
  reconnectAskedAt: number
  reconnectDue: number | undefined
  inFlight: boolean
  /** Where the difference in flight stands (asked for after this). */
  diffSeq: Seq
}

export class LiveState {
  private readonly channels = new Map<number, Channel>()
  private stopping = false
  private seq: Seq = 0
  private epochs = 0
  /** When the next reconnection catch-up may go (GCRA over RECONNECT_CATCH_UPS_PER_SECOND). */
  private nextCatchUpAt = -Infinity

  /** Follows `channelId` from `pts`, with `storedTop` its highest stored post id. */
  follow(channelId: number, pts: number, storedTop: number): void {
    this.channels.set(channelId, {
      epoch: ++this.epochs,
      gate: new PtsGate<Timed>(pts),
      storedTop,
      counters: new Counters(HELD_PER_CHANNEL),
      counterSource: undefined,
      gapSince: undefined,
      gapSeq: undefined,
      failedAt: undefined,
      failures: 0,
      reconnectAskedAt: -Infinity,
      reconnectDue: undefined,
      inFlight: false,
      diffSeq: 0,
    })
  }

  /**
   * Stops following `channelId`: what it holds is dropped (it was not committed, so its next follower, starting from
   * the stored pts, gets it again by a difference), and an answer to a difference asked before is ignored.
   */
  unfollow(channelId: number): void {
    this.channels.delete(channelId)
  }

  /** The channels followed. */
  get followed(): ReadonlyArray<number> {
    return [...this.channels.keys()]
  }

  /**
   * Whether a gap is open somewhere or a difference failed: time alone may then make a step ask for a difference
   * (after GAP_WAIT_MS or RETRY_DIFF_MS), so the shell steps on a timer; otherwise only an input can change anything.
   */
  get gapOpen(): boolean {
    for (const c of this.channels.values()) {
      if (c.gapSince !== undefined || c.failedAt !== undefined || c.reconnectDue !== undefined) return true
    }
    return false
  }

  /** A channel's pts as applied so far. */
  pts(channelId: number): number | undefined {
    return this.channels.get(channelId)?.gate.pts
  }

  /** From now on no difference is asked for (the shell is stopping). */
  stop(): void {
    this.stopping = true
  }

  /** Difference requests for `channelIds` (each once at a time): a catch-up. */
  catchUp(channelIds: ReadonlyArray<number> = this.followed): ReadonlyArray<DiffRequest> {
    return channelIds.flatMap((id) => this.request(id))
  }

  /** Applies one batch taken at `now`: the writes it makes and the differences to fetch. */
  step(inputs: ReadonlyArray<LiveInput>, now: number): Step {
    const writes = new Map<number, Writes>()
    const of = (channelId: number): Writes => {
      let w = writes.get(channelId)
      if (!w) writes.set(channelId, w = { posts: new Map(), deleted: new Set(), metrics: [], pts: undefined })
      return w
    }
    const diffs: Array<DiffRequest> = []
    const failedDiffs: Array<{ channelId: number; error: string }> = []
    const latencies: Array<number> = []
    const committed: Array<{ channelId: number; pts: number; at: number }> = []
    let applied = 0
    let duplicates = 0
    let received = 0
    let differences = 0
    let tooLong = 0
    let ptsResets = 0
    let gapsRecovered = 0
    let oldest = now
    // Where each post staged in this batch stands: counters received after it are written after it.
    const snapshots = new Map<number, Map<number, Seq>>()
    const snapshot = (channelId: number, msgId: number, seq: Seq) => {
      let m = snapshots.get(channelId)
      if (!m) snapshots.set(channelId, m = new Map())
      m.set(msgId, seq)
    }
    const apply = (e: Timed) => {
      const w = of(e.channelId)
      stage(w, e)
      if (e._tag === "NewPost" || e._tag === "EditPost") snapshot(e.channelId, e.post.msgId, standing(e, e.seq))
      w.pts = e.pts
      applied++
      if (e.at !== undefined) {
        latencies.push(e.at)
        committed.push({ channelId: e.channelId, pts: e.pts, at: e.at })
      }
    }
    for (const input of inputs) {
      switch (input._tag) {
        case "Connected":
          // Updates may have been missed while the connection was down: each channel is caught up after it (at
          // once, or when RECONNECT_CATCH_UP_MS have passed since the last reconnection's catch-up).
          for (const channel of this.channels.values()) {
            channel.reconnectDue = Math.max(now, channel.reconnectAskedAt + RECONNECT_CATCH_UP_MS)
          }
          break
        case "Event": {
          received++
          const seq = ++this.seq
          const e = input.event
          const channel = this.channels.get(e.channelId)
          if (!channel) break
          oldest = Math.min(oldest, input.at)
          if (e._tag === "ChannelTooLong") {
            diffs.push(...this.request(e.channelId))
          } else if (isPtsEvent(e)) {
            const before = channel.gate.waiting
            const ready = channel.gate.offer({ ...e, at: input.at, seq })
            if (ready.length === 0 && channel.gate.waiting === before) duplicates++
            ready.forEach(apply)
            if (channel.gate.gap && channel.gapSince === undefined) {
              channel.gapSince = now
              channel.gapSeq = seq
            }
            if (!channel.gate.gap) channel.gapSince = channel.gapSeq = undefined
          } else {
            // Counter updates carry no pts: each channel's come from one account's (ordered) stream only.
            channel.counterSource ??= input.account
            if (channel.counterSource !== input.account) {
              duplicates++
              break
            }
            const seen = { change: counterChange(e), seq }
            channel.counters.remember(seen)
            if (seen.change.msgId > channel.storedTop && !of(e.channelId).posts.has(seen.change.msgId)) {
              channel.counters.hold(seen)
            } else {
              of(e.channelId).metrics.push(seen.change)
            }
            applied++
            latencies.push(input.at)
          }
          break
        }
        case "StoredTop": {
          const channel = this.channels.get(input.channelId)
          if (!channel) break
          channel.storedTop = Math.max(channel.storedTop, input.top)
          of(input.channelId).metrics.push(...channel.counters.releaseUpTo(input.top))
          break
        }
        case "DiffFailed": {
          const channel = this.current(input)
          if (!channel) break
          channel.inFlight = false
          channel.failedAt = now
          channel.failures++
          failedDiffs.push({ channelId: input.channelId, error: input.error })
          break
        }
        case "PtsReset": {
          const channel = this.current(input)
          if (!channel) break
          channel.inFlight = false
          channel.failedAt = undefined
          channel.failures = 0
          const w = of(input.channelId)
          channel.gate.reset(input.pts).forEach(apply)
          w.pts = channel.gate.pts
          w.reset = true
          ptsResets++
          if (!channel.gate.gap) channel.gapSince = channel.gapSeq = undefined
          // Pushes between the pts read and now were dropped as applied already: the difference brings them.
          diffs.push(...this.request(input.channelId))
          break
        }
        case "Diff": {
          const channel = this.current(input)
          if (!channel) break
          channel.inFlight = false
          channel.failedAt = undefined
          channel.failures = 0
          const d = input.diff
          const w = of(input.channelId)
          // New posts as they are now, then edits, deletions and counters in order, each standing after the one
          // before it and before anything received since the difference was asked for. A difference that reaches no
          // further than the pts already applied (a catch-up asked while pushes went on, answered after them) brings
          // nothing new, and its posts may be older than what the pushes applied (read before an edit or a deletion
          // that came after): only its counters are taken.
          const stale = d._tag !== "TooLong" && d.pts <= channel.gate.pts
          const fresh = stale || d._tag === "Empty" || (d._tag === "TooLong" && input.viaHistory) ? [] : d.posts
          const events = d._tag !== "Difference" ? [] : stale ? d.events.filter((e) => !isPtsEvent(e)) : d.events
          const step = 1 / (fresh.length + events.length + 1)
          let seq = channel.diffSeq
          for (const post of fresh) {
            stagePost(w, post)
            snapshot(input.channelId, post.msgId, seq += step)
          }
          for (const e of events) {
            seq += step
            if (isPtsEvent(e)) {
              stage(w, e)
              if (e._tag === "NewPost" || e._tag === "EditPost") {
                snapshot(input.channelId, e.post.msgId, standing(e, seq))
              }
            } else {
              const seen = { change: counterChange(e), seq }
              channel.counters.remember(seen)
              w.metrics.push(seen.change)
            }
          }
          const hadGap = channel.gate.gap
          const before = channel.gate.pts
          channel.gate.advance(d.pts).forEach(apply)
          if (channel.gate.pts !== before) w.pts = channel.gate.pts
          differences++
          if (d._tag === "TooLong") tooLong++
          if (hadGap && !channel.gate.gap) gapsRecovered++
          if (!channel.gate.gap) channel.gapSince = channel.gapSeq = undefined
          // Not final: ask again at once from the new pts.
          if (d._tag === "Difference" && !d.final) diffs.push(...this.request(input.channelId))
          break
        }
      }
    }
    // A post this batch writes is written as its snapshot has it, then the counters received after that snapshot
    // (held for the post, or newer than a snapshot that waited behind a gap); older counters of it are left out.
    for (const [channelId, w] of writes) {
      const channel = this.channels.get(channelId)
      if (!channel) continue
      const staged = snapshots.get(channelId)
      if (staged && w.posts.size > 0) {
        const metrics = w.metrics.filter((c) => !w.posts.has(c.msgId))
        for (const msgId of w.posts.keys()) {
          metrics.push(...channel.counters.newerThan(msgId, staged.get(msgId) ?? this.seq))
          channel.counters.release(msgId)
        }
        w.metrics.splice(0, w.metrics.length, ...metrics)
      }
    }
    // Counters no pending snapshot is older than are forgotten.
    for (const c of this.channels.values()) {
      c.counters.forget(Math.min(c.gapSeq ?? Infinity, c.inFlight ? c.diffSeq : Infinity))
    }
    // Gaps open for longer than the wait are filled by a difference, and a failed one (a gap's or a catch-up's) is
    // asked again, RETRY_DIFF_MS after the failure (doubling while it keeps failing, up to RETRY_DIFF_MAX_MS).
    for (const [channelId, channel] of this.channels) {
      if (channel.inFlight) continue
      if (channel.reconnectDue !== undefined && now >= channel.reconnectDue) {
        const interval = 1000 / RECONNECT_CATCH_UPS_PER_SECOND
        if (this.nextCatchUpAt - RECONNECT_CATCH_UPS_PER_SECOND * interval >= now) continue
        this.nextCatchUpAt = Math.max(this.nextCatchUpAt, now) + interval
        channel.reconnectDue = undefined
        channel.reconnectAskedAt = now
        diffs.push(...this.request(channelId))
        continue
      }
      const gapDue = channel.gapSince !== undefined && now - channel.gapSince >= GAP_WAIT_MS
      const wait = Math.min(RETRY_DIFF_MS * 2 ** Math.max(0, channel.failures - 1), RETRY_DIFF_MAX_MS)
      if (channel.failedAt !== undefined ? now - channel.failedAt > wait : gapDue) {
        diffs.push(...this.request(channelId))
      }
    }
    return {
      writes,
      diffs,
      applied,
      duplicates,
      received,
      differences,
      tooLong,
      ptsResets,
      gapsRecovered,
      failedDiffs,
      latencies,
      committed,
      oldest,
    }
  }

  /** The batch's writes are committed: their posts are stored now. */
  committed(writes: ReadonlyMap<number, Writes>): void {
    for (const [channelId, w] of writes) {
      const channel = this.channels.get(channelId)
      if (!channel) continue
      for (const msgId of w.posts.keys()) if (msgId > channel.storedTop) channel.storedTop = msgId
    }
  }

  private request(channelId: number): ReadonlyArray<DiffRequest> {
    const channel = this.channels.get(channelId)
    if (!channel || this.stopping || channel.inFlight) return []
    channel.inFlight = true
    channel.diffSeq = this.seq
    return [{ channelId, pts: channel.gate.pts, epoch: channel.epoch }]
  }

  /** The channel an answer to a difference is for, unless it was asked in an earlier follow. */
  private current(input: { readonly channelId: number; readonly epoch?: number }): Channel | undefined {
    const channel = this.channels.get(input.channelId)
    return channel && (input.epoch === undefined || input.epoch === channel.epoch) ? channel : undefined
  }
}
