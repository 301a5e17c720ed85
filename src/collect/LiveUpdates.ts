/**
 * Live updates: every account's pushed channel updates go through one bounded queue to one writer, which orders them
 * by the pts rules per channel, fills gaps with updates.getChannelDifference (after 0.5 s, as Telegram advises), and
 * commits each batch in one transaction together with the pts it reaches. Catch-up runs at start, after every
 * reconnection and every `reconcileSeconds`; a difference that is too long falls back to a history sync.
 */
import { Clock, Context, Duration, Effect, Fiber, Layer, Metric, Option, Queue, Ref, Schedule, Schema } from "effect"
import * as Metrics from "../observe/Metrics.ts"
import { SqlClient } from "effect/sql"
import type { PeerRef } from "../Config.ts"
import type { Post } from "../domain/Post.ts"
import {
  type ChannelDifference,
  isPtsEvent,
  type LiveEvent,
  type MetricEvent,
  type PtsEvent,
  PtsGate,
} from "../domain/Updates.ts"
import { historyStartPts } from "../domain/Checkpoint.ts"
import { ChannelLocks } from "../store/ChannelLocks.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { CheckpointRepo } from "../store/CheckpointRepo.ts"
import { type MetricChange, PostRepo } from "../store/PostRepo.ts"
import type { AccountSignal, ChannelInfo } from "../telegram/TelegramClient.ts"
import { TelegramClient } from "../telegram/TelegramClient.ts"
import { HistorySync } from "./HistorySync.ts"
import { describePeer, failureMessage, makeResolver } from "./Peers.ts"

/** The checkpoint stream of live updates: `{pts}`. */
export const UPDATES_STREAM = "updates"
/** Items the intake queue holds before the connections' callbacks wait (nothing is dropped). */
const QUEUE_CAPACITY = 10_000
/** Items one batch takes at most. */
const BATCH = 2_000
/** How long a gap may stay open before the difference is asked for (Telegram: "wait up to 0.5 s"). */
const GAP_WAIT_MS = 500
/** Posts per channel whose counter changes may wait for the post itself. */
const HELD_PER_CHANNEL = 10_000
/** Changes per getChannelDifference ("ordinary users are supposed to pass 10-100"). */
const DIFF_LIMIT = 100

export interface LiveOptions {
  /** Catch-up of every channel at this interval (pushes are best-effort). */
  readonly reconcileSeconds: number
  /** A status line at this interval (0: none). */
  readonly statusSeconds: number
  /**
   * Called after each commit with the pts-moving updates it covered (channel, pts, receipt time) and the commit time
   * (wall-clock ms): the benchmark's latency probe.
   */
  readonly onCommit?: (
    updates: ReadonlyArray<{ readonly channelId: number; readonly pts: number; readonly at: number }>,
    committedAt: number,
  ) => void
}

/** Live counters (the status line and the benchmark read them). */
export interface LiveStats {
  readonly received: number
  readonly applied: number
  readonly duplicates: number
  readonly gapsRecovered: number
  readonly differences: number
  readonly tooLong: number
  readonly batches: number
  readonly queueDepth: number
  /** Milliseconds from receipt to commit of the last batch's oldest item. */
  readonly lagMs: number
  /** Receipt-to-commit latencies of recent updates (ms), for percentiles. */
  readonly latencies: ReadonlyArray<number>
}

const EMPTY: LiveStats = {
  received: 0,
  applied: 0,
  duplicates: 0,
  gapsRecovered: 0,
  differences: 0,
  tooLong: 0,
  batches: 0,
  queueDepth: 0,
  lagMs: 0,
  latencies: [],
}
const LATENCY_WINDOW = 20_000

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

/** Not one of the channels can be followed (each was named in its own error line). */
export class NothingToFollow extends Schema.TaggedError<NothingToFollow>()("NothingToFollow", {
  channels: Schema.String,
}) {
  override get message(): string {
    return `none of the channels can be followed live (${this.channels}): each is private, unknown or not resolved`
  }
}

/** A channel this run cannot use: its own problem, not the run's. */
function isUnavailable(error: unknown): boolean {
  const e = error as { _tag?: string; name?: string; reason?: { _tag?: string } }
  return e?.name === "ChannelUnavailable" || (e?._tag === "TelegramError" && e.reason?._tag === "PeerUnavailable")
}

/** What the writer takes from the queue. */
type Item =
  | { readonly _tag: "Event"; readonly event: LiveEvent; readonly at: number; readonly account: string }
  | { readonly _tag: "Connected"; readonly account: string }
  | {
    readonly _tag: "Diff"
    readonly channelId: number
    readonly diff: ChannelDifference
    /** Posts a history sync stored (a too-long difference) are counted, not rewritten. */
    readonly viaHistory: boolean
  }
  | { readonly _tag: "DiffFailed"; readonly channelId: number; readonly error: string }
  /** The highest post id stored for a channel, read again (a history sync beside may have stored newer posts). */
  | { readonly _tag: "StoredTop"; readonly channelId: number; readonly top: number }

/** One batch's writes for one channel. */
interface Writes {
  posts: Map<number, Post>
  deleted: Set<number>
  metrics: Array<MetricChange>
  pts: number | undefined
}

const metricChange = (e: MetricEvent): MetricChange =>
  e._tag === "Views"
    ? { msgId: e.msgId, views: e.views }
    : e._tag === "Forwards"
    ? { msgId: e.msgId, forwards: e.forwards }
    : { msgId: e.msgId, reactions: e.reactions, reactionsTotal: e.reactionsTotal }

/** Stages a post (new, edited, or as a difference has it now) in a batch's writes, replacing a deletion staged for it. */
function stagePost(w: Writes, post: Post): void {
  w.deleted.delete(post.msgId)
  w.posts.set(post.msgId, post)
}

/** Stages one change in a batch's writes. */
function stage(w: Writes, e: PtsEvent | MetricEvent): void {
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
    default:
      w.metrics.push(metricChange(e))
  }
}

export class LiveUpdates extends Context.Service<LiveUpdates, {
  /**
   * Follows the channels until interrupted. On interruption it stops listening, writes what it holds that the pts
   * rules allow, commits, and returns.
   */
  run(refs: ReadonlyArray<PeerRef>, options: LiveOptions): Effect.Effect<void, unknown>
  readonly stats: Effect.Effect<LiveStats>
}>()("tgpulse/collect/LiveUpdates") {
  static readonly layer = Layer.effect(
    LiveUpdates,
    Effect.gen(function* () {
      const telegram = yield* TelegramClient
      const channels = yield* ChannelRepo
      const posts = yield* PostRepo
      const checkpoints = yield* CheckpointRepo
      const history = yield* HistorySync
      const locks = yield* ChannelLocks
      const sql = yield* SqlClient.SqlClient
      const resolve = makeResolver(telegram, channels)
      const stats = yield* Ref.make(EMPTY)
      const bump = (f: (s: LiveStats) => Partial<LiveStats>) => Ref.update(stats, (s) => ({ ...s, ...f(s) }))

      const run = Effect.fn("mtproto.collector.updates")(
        function* (refs: ReadonlyArray<PeerRef>, options: LiveOptions) {
          yield* Ref.set(stats, EMPTY)
          const followed = new Map<number, ChannelInfo>()
          /** A channel this account set cannot follow (private, unknown, no access hash) is left out, not fatal. */
          const leaveOut = (channel: string, cause: unknown) =>
            Effect.logError("channel left out of live updates").pipe(
              Effect.annotateLogs({ channel, error: (cause as { message?: string }).message ?? String(cause) }),
            )
          for (const ref of refs) {
            const resolved = yield* Effect.result(resolve(ref))
            if (resolved._tag === "Success") followed.set(resolved.success.id, resolved.success)
            else if (isUnavailable(resolved.failure)) yield* leaveOut(describePeer(ref), resolved.failure)
            else return yield* Effect.fail(resolved.failure)
          }
          // One follower per channel across processes: another one following these channels makes this run a
          // standby that starts when it stops (locks taken in ascending order: two standbys never wait on each other).
          for (const id of [...followed.keys()].sort((a, b) => a - b)) yield* locks.lock(id, UPDATES_STREAM)
          const queue = yield* Queue.bounded<Item>(QUEUE_CAPACITY)
          // The connections' callbacks offer without waiting while there is room; once full, offers wait in order.
          let waiting = 0
          const intake = (item: Item) => {
            if (waiting === 0 && Queue.offerUnsafe(queue, item)) return
            waiting++
            Effect.runFork(Effect.ensuring(Queue.offer(queue, item), Effect.sync(() => waiting--)))
          }
          yield* telegram.listen((account: string, signal: AccountSignal) => {
            if (signal._tag === "Connected") return intake({ _tag: "Connected", account })
            if (!followed.has(signal.channelId)) return
            intake({ _tag: "Event", event: signal, at: Date.now(), account })
          })

          // Where each channel starts: its stored pts (caught up by a difference), or its current pts when new.
          const gates = new Map<number, PtsGate<PtsEvent & { readonly at?: number }>>()
          /** The highest post id stored per channel: counters of newer posts wait for their post (see `held`). */
          const storedTop = new Map<number, number>()
          /**
           * Counter changes of posts not stored yet (their new-post update waits behind a gap, or comes by a
           * difference): applied in the batch that stores the post. At most HELD_PER_CHANNEL per channel (the oldest
           * go; the refresh reconciles them).
           */
          const held = new Map<number, Map<number, Array<MetricChange>>>()
          const hold = (channelId: number, change: MetricChange) => {
            let waiting = held.get(channelId)
            if (!waiting) held.set(channelId, waiting = new Map())
            const list = waiting.get(change.msgId)
            if (list) list.push(change)
            else waiting.set(change.msgId, [change])
            if (waiting.size > HELD_PER_CHANNEL) waiting.delete(waiting.keys().next().value!)
          }
          const needCatchUp: Array<number> = []
          /** The pts this run last committed per channel: each batch continues from it (see PtsBehind). */
          const committedPts = new Map<number, number>()
          for (const [id, info] of followed) {
            storedTop.set(id, Option.getOrElse(yield* posts.maxMsgId(id), () => 0))
            const stored = yield* checkpoints.get(id, UPDATES_STREAM)
            const pts = Option.getOrUndefined(stored) as { pts?: unknown } | undefined
            if (typeof pts?.pts === "number" && pts.pts > 0) {
              gates.set(id, new PtsGate(pts.pts))
              committedPts.set(id, pts.pts)
              needCatchUp.push(id)
            } else {
              // Followed for the first time: from the pts its stored history was read at (what changed since, a
              // deletion included, is replayed by a difference), else from its current pts.
              const fromHistory = historyStartPts(Option.getOrUndefined(yield* checkpoints.get(id, "history")))
              let start = fromHistory
              if (start === undefined) {
                const fetched = yield* Effect.result(telegram.getFullChannel(info))
                if (fetched._tag === "Failure") {
                  if (!isUnavailable(fetched.failure)) return yield* Effect.fail(fetched.failure)
                  yield* leaveOut(info.username ? `@${info.username}` : String(id), fetched.failure)
                  followed.delete(id)
                  continue
                }
                start = fetched.success.pts ?? 0
              }
              gates.set(id, new PtsGate(start))
              committedPts.set(id, start)
              if (fromHistory !== undefined) needCatchUp.push(id)
              yield* checkpoints.advancePts(id, UPDATES_STREAM, start)
              yield* Effect.logInfo(
                fromHistory === undefined
                  ? "channel followed from its current pts"
                  : "channel followed from the pts its history was read at",
              ).pipe(Effect.annotateLogs({ channel: describePeer({ _tag: "Id", id }), pts: start }))
            }
          }

          if (followed.size === 0) {
            return yield* Effect.fail(new NothingToFollow({ channels: refs.map(describePeer).join(", ") }))
          }

          // Differences are fetched beside the writer and handed to it through the queue (it alone moves the gates).
          const inFlight = new Set<number>()
          /** The account whose stream gives each channel's counter updates. */
          const counterSource = new Map<number, string>()
          let stopping = false
          const gapSince = new Map<number, number>()
          const failedAt = new Map<number, number>()
          const fetchDiff = (channelId: number, pts: number) =>
            Effect.gen(function* () {
              const info = followed.get(channelId)!
              const diff = yield* telegram.getChannelDifference(info, pts, DIFF_LIMIT)
              if (diff._tag === "TooLong") {
                yield* Effect.logWarning("channel difference too long: syncing its history").pipe(
                  Effect.annotateLogs({ channel: info.username ? `@${info.username}` : String(channelId), pts }),
                )
                const ref: PeerRef = info.username
                  ? { _tag: "Username", username: info.username }
                  : { _tag: "Id", id: channelId }
                yield* history.syncAll([ref], { limitPerRun: 0, concurrency: 1 })
                return { _tag: "Diff" as const, channelId, diff, viaHistory: true }
              }
              return { _tag: "Diff" as const, channelId, diff, viaHistory: false }
            }).pipe(
              Effect.catchCause((cause) =>
                Effect.succeed({ _tag: "DiffFailed" as const, channelId, error: failureMessage(cause) })
              ),
              Effect.flatMap((item) => Queue.offer(queue, item)),
            )
          const requestDiff = (channelId: number) =>
            Effect.gen(function* () {
              if (stopping || inFlight.has(channelId)) return
              const gate = gates.get(channelId)
              if (!gate) return
              inFlight.add(channelId)
              yield* Effect.forkScoped(fetchDiff(channelId, gate.pts))
            })
          for (const id of needCatchUp) yield* requestDiff(id)

          /** Applies one batch to the gates and collects its writes. */
          const collect = (items: ReadonlyArray<Item>, now: number) =>
            Effect.gen(function* () {
              const writes = new Map<number, Writes>()
              const of = (channelId: number): Writes => {
                let w = writes.get(channelId)
                if (!w) writes.set(channelId, w = { posts: new Map(), deleted: new Set(), metrics: [], pts: undefined })
                return w
              }
              let applied = 0
              let duplicates = 0
              let oldest = now
              const latencies: Array<number> = []
              const committed: Array<{ channelId: number; pts: number; at: number }> = []
              const apply = (e: PtsEvent & { readonly at?: number }) => {
                const w = of(e.channelId)
                stage(w, e)
                w.pts = e.pts
                applied++
                if (e.at !== undefined) {
                  latencies.push(e.at)
                  committed.push({ channelId: e.channelId, pts: e.pts, at: e.at })
                }
              }
              for (const item of items) {
                switch (item._tag) {
                  case "Connected":
                    // Updates may have been missed while the connection was down.
                    for (const id of gates.keys()) yield* requestDiff(id)
                    break
                  case "Event": {
                    const e = item.event
                    oldest = Math.min(oldest, item.at)
                    if (e._tag === "ChannelTooLong") {
                      yield* requestDiff(e.channelId)
                    } else if (isPtsEvent(e)) {
                      const gate = gates.get(e.channelId)
                      if (!gate) break
                      const before = gate.waiting
                      const ready = gate.offer({ ...e, at: item.at })
                      if (ready.length === 0 && gate.waiting === before) duplicates++
                      ready.forEach(apply)
                      if (gate.gap && !gapSince.has(e.channelId)) gapSince.set(e.channelId, now)
                      if (!gate.gap) gapSince.delete(e.channelId)
                    } else {
                      // Counter updates carry no pts: copies from several accounts could interleave and put an
                      // older value last. Each channel's counters come from one account's (ordered) stream only.
                      const source = counterSource.get(e.channelId) ?? item.account
                      counterSource.set(e.channelId, source)
                      if (source !== item.account) {
                        duplicates++
                        break
                      }
                      const change = metricChange(e)
                      if (
                        change.msgId > (storedTop.get(e.channelId) ?? 0) && !of(e.channelId).posts.has(change.msgId)
                      ) {
                        hold(e.channelId, change)
                      } else {
                        of(e.channelId).metrics.push(change)
                      }
                      applied++
                      latencies.push(item.at)
                    }
                    break
                  }
                  case "StoredTop": {
                    if (item.top > (storedTop.get(item.channelId) ?? 0)) storedTop.set(item.channelId, item.top)
                    const waiting = held.get(item.channelId)
                    if (!waiting) break
                    for (const [msgId, changes] of waiting) {
                      if (msgId > item.top) continue
                      of(item.channelId).metrics.push(...changes)
                      waiting.delete(msgId)
                    }
                    break
                  }
                  case "DiffFailed":
                    yield* Metric.update(
                      Metric.withAttributes(Metrics.errorsTotal, {
                        error_type: "difference_failed",
                        component: "updates",
                      }),
                      1,
                    )
                    inFlight.delete(item.channelId)
                    failedAt.set(item.channelId, now)
                    yield* Effect.logWarning("channel difference failed; trying again later").pipe(
                      Effect.annotateLogs({ channelId: item.channelId, error: item.error }),
                    )
                    break
                  case "Diff": {
                    inFlight.delete(item.channelId)
                    failedAt.delete(item.channelId)
                    const gate = gates.get(item.channelId)!
                    const d = item.diff
                    const w = of(item.channelId)
                    // New posts as they are now, then edits, deletions and counters in order.
                    const fresh = d._tag === "Empty" || (d._tag === "TooLong" && item.viaHistory) ? [] : d.posts
                    for (const post of fresh) stagePost(w, post)
                    if (d._tag === "Difference") {
                      for (const e of d.events) {
                        stage(w, e)
                      }
                    }
                    const hadGap = gate.gap
                    const before = gate.pts
                    gate.advance(d.pts).forEach(apply)
                    if (gate.pts !== before) w.pts = gate.pts
                    yield* bump((s) => ({
                      differences: s.differences + 1,
                      tooLong: s.tooLong + (d._tag === "TooLong" ? 1 : 0),
                      gapsRecovered: s.gapsRecovered + (hadGap && !gate.gap ? 1 : 0),
                    }))
                    if (!gate.gap) gapSince.delete(item.channelId)
                    // Not final: ask again at once from the new pts.
                    if (d._tag === "Difference" && !d.final) yield* requestDiff(item.channelId)
                    break
                  }
                }
              }
              // Counters held for posts this batch stores go in after them.
              for (const [channelId, w] of writes) {
                const waiting = held.get(channelId)
                if (!waiting || w.posts.size === 0) continue
                for (const msgId of w.posts.keys()) {
                  const changes = waiting.get(msgId)
                  if (!changes) continue
                  w.metrics.push(...changes)
                  waiting.delete(msgId)
                }
              }
              return { writes, applied, duplicates, oldest, latencies, committed }
            })

          /**
           * Writes one batch and the pts it reaches, per channel, in one transaction. A channel whose stored pts is
           * no longer where this run left it fails the whole batch (rolled back) with PtsBehind.
           */
          const commit = (writes: Map<number, Writes>, takenAt: Date) =>
            sql.withTransaction(
              Effect.forEach(writes, ([channelId, w]) =>
                Effect.gen(function* () {
                  if (w.posts.size > 0) yield* posts.upsertPage(channelId, [...w.posts.values()], takenAt)
                  if (w.deleted.size > 0) yield* posts.markDeleted(channelId, [...w.deleted], takenAt)
                  if (w.metrics.length > 0) yield* posts.applyMetrics(channelId, w.metrics, takenAt)
                  if (w.pts === undefined) return
                  const from = committedPts.get(channelId) ?? 0
                  const moved = yield* checkpoints.advancePts(channelId, UPDATES_STREAM, w.pts, { from })
                  if (!moved) return yield* new PtsBehind({ channelId, committed: from })
                }), { discard: true }),
            ).pipe(
              Effect.tap(() =>
                Effect.sync(() => {
                  for (const [channelId, w] of writes) if (w.pts !== undefined) committedPts.set(channelId, w.pts)
                })
              ),
            )

          /** One round: take a batch (or time out to look at gaps), apply it, commit it. Not interruptible inside. */
          const round = (items: ReadonlyArray<Item>) =>
            Effect.gen(function* () {
              const now = Date.now()
              const { writes, applied, duplicates, oldest, latencies, committed } = yield* collect(items, now)
              // Gaps open for longer than the wait are filled by a difference.
              for (const [channelId, since] of gapSince) {
                if (now - since >= GAP_WAIT_MS && !inFlight.has(channelId)) {
                  const failed = failedAt.get(channelId)
                  if (failed === undefined || now - failed > 2_000) yield* requestDiff(channelId)
                }
              }
              if (writes.size > 0) yield* commit(writes, new Date(now))
              for (const [channelId, w] of writes) {
                for (const msgId of w.posts.keys()) {
                  if (msgId > (storedTop.get(channelId) ?? 0)) storedTop.set(channelId, msgId)
                }
              }
              const done = Date.now()
              yield* Metric.update(
                Metric.withAttributes(Metrics.queueDepth, { task: "updates" }),
                Queue.sizeUnsafe(queue),
              )
              if (writes.size > 0) {
                yield* Metric.update(
                  Metric.withAttributes(Metrics.batchDuration, { task: "updates" }),
                  (done - now) / 1000,
                )
                yield* Metric.update(
                  Metric.withAttributes(Metrics.checkpointLag, { stream: UPDATES_STREAM }),
                  (done - oldest) / 1000,
                )
              }
              if (applied > 0) yield* Metric.update(Metrics.updatesApplied, applied)
              if (committed.length > 0) options.onCommit?.(committed, done)
              yield* bump((s) => ({
                received: s.received + items.filter((i) => i._tag === "Event").length,
                applied: s.applied + applied,
                duplicates: s.duplicates + duplicates,
                batches: s.batches + (writes.size > 0 ? 1 : 0),
                queueDepth: Queue.sizeUnsafe(queue),
                lagMs: writes.size > 0 ? done - oldest : s.lagMs,
                latencies: latencies.length === 0
                  ? s.latencies
                  : [...s.latencies, ...latencies.map((at) => done - at)].slice(-LATENCY_WINDOW),
              }))
            })

          // Every channel caught up, and counters held for posts stored meanwhile by others (history) released.
          const reconcileOnce = Effect.forEach([...followed.keys()], (id) =>
            Effect.gen(function* () {
              yield* requestDiff(id)
              const top = yield* Effect.orElseSucceed(posts.maxMsgId(id), () => Option.none<number>())
              if (Option.isSome(top)) yield* Queue.offer(queue, { _tag: "StoredTop", channelId: id, top: top.value })
            }), { discard: true })
          const reconcile = Effect.repeat(
            reconcileOnce,
            Schedule.spaced(Duration.seconds(Math.max(1, options.reconcileSeconds))),
          ).pipe(Effect.delay(Duration.seconds(Math.max(1, options.reconcileSeconds))))
          yield* Effect.forkScoped(reconcile)
          if (options.statusSeconds > 0) yield* Effect.forkScoped(statusLine(stats, options.statusSeconds))

          const loop = Effect.forever(
            Effect.gen(function* () {
              const items = yield* Effect.timeoutOption(Queue.takeBetween(queue, 1, BATCH), Duration.millis(100))
              yield* Effect.uninterruptible(round(Option.getOrElse(items, () => [])))
            }),
          )
          const writer = yield* Effect.forkScoped(loop)
          yield* Effect.addFinalizer(() =>
            Effect.gen(function* () {
              // Stop: no more rounds; whatever was taken in is written as far as the pts rules allow.
              stopping = true
              yield* Fiber.interrupt(writer)
              const rest = yield* Queue.clear(queue).pipe(Effect.orElseSucceed(() => []))
              yield* round(rest.filter((i) => i._tag === "Event" || i._tag === "Diff")).pipe(
                Effect.catchCause((cause) => Effect.logError("final flush failed", cause)),
              )
              const s = yield* Ref.get(stats)
              yield* Effect.logInfo("live updates stopped").pipe(
                Effect.annotateLogs({ applied: s.applied, duplicates: s.duplicates, gapsRecovered: s.gapsRecovered }),
              )
            })
          )
          return yield* Fiber.join(writer)
        },
        Effect.scoped,
      )

      return LiveUpdates.of({ run, stats: Ref.get(stats) })
    }),
  )
}

/** The p-th percentile of `values` (0 when empty). */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Every `seconds`: updates/s since the last line, lag and queue depth. */
function statusLine(stats: Ref.Ref<LiveStats>, seconds: number) {
  return Effect.gen(function* () {
    let last = yield* Ref.get(stats)
    let lastAt = yield* Clock.currentTimeMillis
    yield* Effect.repeat(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(stats)
        const rate = ((s.applied - last.applied) * 1000) / Math.max(1, now - lastAt)
        yield* Effect.logInfo("live updates").pipe(
          Effect.annotateLogs({
            updatesPerSec: Math.round(rate),
            lagMs: s.lagMs,
            queueDepth: s.queueDepth,
            applied: s.applied,
            gapsRecovered: s.gapsRecovered,
          }),
        )
        last = s
        lastAt = now
      }),
      Schedule.spaced(Duration.seconds(seconds)),
    ).pipe(Effect.delay(Duration.seconds(seconds)))
  })
}
