/**
 * Live updates: every account's pushed channel updates go through one bounded queue to one writer, which orders them
 * by the pts rules per channel, fills gaps with updates.getChannelDifference (after 0.5 s, as Telegram advises), and
 * commits each batch in one transaction together with the pts it reaches. Catch-up runs at start, after every
 * reconnection and every `reconcileSeconds`; a difference that is too long falls back to a history sync.
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  Queue,
  Ref,
  Schedule,
  Schema,
  Scope,
  Semaphore,
  Stream,
} from "effect"
import type { PeerRef } from "../domain/Refs.ts"
import type { CheckpointStream } from "../domain/Checkpoint.ts"
import { type DiffRequest, type LiveInput, LiveState, type PtsBehind, type Writes } from "../domain/LiveState.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import * as Metrics from "../observe/Metrics.ts"
import { ChannelLocks } from "../store/ChannelLocks.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { CheckpointRepo } from "../store/CheckpointRepo.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { PostRepo } from "../store/PostRepo.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import { HistorySync } from "./HistorySync.ts"
import { EMPTY, LATENCY_WINDOW, type LiveStats, statusLine } from "./LiveStats.ts"
import { type ChannelUnavailable, describeChannel, describePeer, failureMessage, makeResolver, refOf } from "./Peers.ts"

export { type LiveStats, percentile } from "./LiveStats.ts"
export { PtsBehind } from "../domain/LiveState.ts"

/** The checkpoint stream of live updates: `{pts}`. */
const UPDATES_STREAM = "updates" satisfies CheckpointStream
/** Items the intake queue holds before the connections' callbacks wait (nothing is dropped). */
const QUEUE_CAPACITY = 10_000
/** Items one batch takes at most. */
const BATCH = 2_000
/** Changes per getChannelDifference ("ordinary users are supposed to pass 10-100"). */
const DIFF_LIMIT = 100
/** How often a run that follows a changing set of channels (follow) looks at the set. */
const MEMBERSHIP_EVERY = Duration.seconds(1)
/** A changed set of channels is acted on once it stayed the same this long. */
const MEMBERSHIP_SETTLE = Duration.seconds(3)
/** Channels of a `follow` resolving or reading their start at once. */
const JOINS_AT_ONCE = 16
/** A channel that could not join (its start could not be read) tries again after this long. */
const JOIN_RETRY = Duration.seconds(5)

/** A channel handed to the writer: where it starts, and the lock it holds when it joined a running `follow`. */
interface Join {
  readonly _tag: "Join"
  readonly info: ChannelInfo
  readonly pts: number
  readonly catchUp: boolean
  readonly storedTop: number
  readonly lock: Scope.Closeable | undefined
}
/** A channel joins the writer or leaves it (in the writer's order, with the updates). */
type Membership = Join | { readonly _tag: "Leave"; readonly channelId: number }

export interface LiveOptions {
  /** Catch-up of every channel at this interval (pushes are best-effort). */
  readonly reconcileSeconds: number
  /** A status line at this interval (0: none). */
  readonly statusSeconds: number
  /** `follow`: a changed set of channels is acted on once it stayed the same this long (default 3 s). */
  readonly settleMs?: number
  /**
   * Called after each commit with the pts-moving updates it covered (channel, pts, receipt time) and the commit time
   * (wall-clock ms): the benchmark's latency probe.
   */
  readonly onCommit?: (
    updates: ReadonlyArray<{ readonly channelId: number; readonly pts: number; readonly at: number }>,
    committedAt: number,
  ) => Effect.Effect<void>
}

/** Not one of the channels can be followed (each was named in its own error line). */
export class NothingToFollow extends Schema.TaggedError<NothingToFollow>()("NothingToFollow", {
  channels: Schema.String,
}) {
  override get message(): string {
    return `none of the channels can be followed live (${this.channels}): each is private, unknown or not resolved`
  }
}

/** The accounts' update streams ended (they should not): the run stops, to be started again. */
export class UpdatesEnded extends Schema.TaggedError<UpdatesEnded>()("UpdatesEnded", {}) {
  override get message(): string {
    return "the accounts' update streams ended"
  }
}

/** A channel this run cannot use: its own problem, not the run's. */
function isUnavailable(error: unknown): boolean {
  const e = error as { _tag?: string; reason?: { _tag?: string } }
  return e?._tag === "ChannelUnavailable" || (e?._tag === "TelegramError" && e.reason?._tag === "PeerUnavailable")
}

/**
 * Why a live run stopped: its channels could not be read or stored, none could be followed, or the database fell
 * behind it (PtsBehind).
 */
export type LiveError = PoolError | StoreError | PtsBehind | NothingToFollow | ChannelUnavailable | UpdatesEnded

export class LiveUpdates extends Context.Service<LiveUpdates, {
  /**
   * Follows the channels until interrupted. On interruption it stops listening, writes what it holds that the pts
   * rules allow, commits, and returns.
   */
  run(refs: ReadonlyArray<PeerRef>, options: LiveOptions): Effect.Effect<void, LiveError>
  /**
   * Follows the channels `owned` names, looked at every second, until interrupted: a channel named joins (once its
   * lock is free, from its stored pts), one no longer named leaves after its last updates are committed and lets its
   * lock go (a cluster runner follows the channels whose entities it owns). None named is no error: it waits.
   */
  follow(owned: Effect.Effect<ReadonlyArray<PeerRef>>, options: LiveOptions): Effect.Effect<void, LiveError>
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
      const store = yield* LiveStore
      const resolve = makeResolver(telegram, channels)
      const stats = yield* Ref.make(EMPTY)
      const bump = (f: (s: LiveStats) => Partial<LiveStats>) => Ref.update(stats, (s) => ({ ...s, ...f(s) }))

      /** The channels that can be followed (a private or unknown one is left out with one line). */
      const resolveAll = Effect.fnUntraced(function* (refs: ReadonlyArray<PeerRef>) {
        const followed = new Map<number, ChannelInfo>()
        for (const ref of refs) {
          const resolved = yield* Effect.result(resolve(ref))
          if (resolved._tag === "Success") followed.set(resolved.success.id, resolved.success)
          else if (isUnavailable(resolved.failure)) yield* leaveOut(describePeer(ref), resolved.failure)
          else return yield* Effect.fail(resolved.failure)
        }
        return followed
      })

      /**
       * Where a channel starts: its stored pts (then caught up by a difference); followed for the first time, the pts
       * its stored history was read at (what changed since, a deletion included, is replayed by a difference), else
       * its current pts. Undefined when the channel cannot be followed.
       */
      const startOf = Effect.fnUntraced(function* (info: ChannelInfo) {
        const stored = Option.getOrUndefined(yield* checkpoints.get(info.id, UPDATES_STREAM))?.pts ?? 0
        if (stored > 0) return { pts: stored, catchUp: true }
        const fromHistory = Option.getOrUndefined(yield* checkpoints.get(info.id, "history"))?.pts || undefined
        let pts = fromHistory
        if (pts === undefined) {
          const fetched = yield* Effect.result(telegram.getFullChannel(info))
          if (fetched._tag === "Failure") {
            if (!isUnavailable(fetched.failure)) return yield* Effect.fail(fetched.failure)
            yield* leaveOut(describeChannel(info), fetched.failure)
            return undefined
          }
          pts = fetched.success.pts ?? 0
        }
        yield* checkpoints.advancePts(info.id, UPDATES_STREAM, pts)
        yield* Effect.logInfo(
          fromHistory === undefined
            ? "channel followed from its current pts"
            : "channel followed from the pts its history was read at",
        ).pipe(Effect.annotateLogs({ channel: describePeer({ _tag: "Id", id: info.id }), pts }))
        return { pts, catchUp: fromHistory !== undefined }
      })

      /** A difference, fetched beside the writer; a too-long one first syncs the channel's history. */
      const fetchDiff = (info: ChannelInfo, request: DiffRequest): Effect.Effect<LiveInput> =>
        Effect.gen(function* () {
          const diff = yield* telegram.getChannelDifference(info, request.pts, DIFF_LIMIT)
          const { epoch } = request
          if (diff._tag !== "TooLong") {
            return { _tag: "Diff" as const, channelId: info.id, epoch, diff, viaHistory: false }
          }
          yield* Effect.logWarning("channel difference too long: syncing its history").pipe(
            Effect.annotateLogs({ channel: describeChannel(info), pts: request.pts }),
          )
          yield* history.syncAll([refOf(info)], { limitPerRun: 0, concurrency: 1 })
          return { _tag: "Diff" as const, channelId: info.id, epoch, diff, viaHistory: true }
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.succeed({
              _tag: "DiffFailed" as const,
              channelId: info.id,
              epoch: request.epoch,
              error: failureMessage(cause),
            })
          ),
        )

      /**
       * The writer and what feeds it: the accounts' updates for the channels followed, the differences, the catch-up
       * schedule and the status line, all in the caller's scope; on close, what was taken in is written as far as the
       * pts rules allow and every channel's lock is let go. Channels come and go through `add` and `remove`.
       */
      const follower = Effect.fnUntraced(function* (options: LiveOptions) {
        yield* Ref.set(stats, EMPTY)
        const followed = new Map<number, ChannelInfo>()
        /** The lock of each channel followed through `add`: let go when it is removed (after its last commit). */
        const lockOf = new Map<number, Scope.Closeable>()
        // Every account's updates into one bounded queue; a full queue makes the connections wait (nothing dropped).
        const queue = yield* Queue.bounded<LiveInput | Membership>(QUEUE_CAPACITY)
        const intake = yield* Effect.forkScoped(
          Stream.runForEach(
            telegram.updates,
            ({ account, signal }) =>
              signal._tag === "Connected"
                ? Queue.offer(queue, { _tag: "Connected", account })
                : !followed.has(signal.channelId)
                ? Effect.void
                : Effect.flatMap(
                  Clock.currentTimeMillis,
                  (at) => Queue.offer(queue, { _tag: "Event", event: signal, at, account }),
                ),
          ),
        )

        const state = new LiveState()
        /** The pts this run last committed per channel: each batch continues from it (see PtsBehind). */
        const committedPts = new Map<number, number>()

        // Differences are fetched beside the writer and handed to it through the queue (it alone moves the pts).
        const fetch = (requests: ReadonlyArray<DiffRequest>) =>
          Effect.forEach(
            requests,
            (r) => {
              const info = followed.get(r.channelId)
              return info === undefined
                ? Effect.void
                : Effect.forkScoped(Effect.flatMap(fetchDiff(info, r), (i) => Queue.offer(queue, i)))
            },
            { discard: true },
          )

        /** Writes one batch with the pts it reaches (see LiveStore.commit), then remembers what it committed. */
        const commit = (writes: ReadonlyMap<number, Writes>, takenAt: Date) =>
          store.commit(writes, (channelId) => committedPts.get(channelId) ?? 0, takenAt).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                for (const [channelId, w] of writes) if (w.pts !== undefined) committedPts.set(channelId, w.pts)
                state.committed(writes)
              })
            ),
          )

        /** A channel joins (before the batch's updates) or leaves (after its last commit; its lock let go). */
        const join = (m: Join) =>
          Effect.sync(() => {
            followed.set(m.info.id, m.info)
            state.follow(m.info.id, m.pts, m.storedTop)
            committedPts.set(m.info.id, m.pts)
            if (m.lock) lockOf.set(m.info.id, m.lock)
            return m.catchUp ? [m.info.id] : []
          })
        const leave = (channelId: number) =>
          Effect.suspend(() => {
            state.unfollow(channelId)
            followed.delete(channelId)
            committedPts.delete(channelId)
            const lock = lockOf.get(channelId)
            lockOf.delete(channelId)
            return lock ? Scope.close(lock, Exit.void) : Effect.void
          })

        /** One round: a batch (maybe empty: the gaps are looked at), applied, committed. Not interruptible inside. */
        const round = (batch: ReadonlyArray<LiveInput | Membership>) =>
          Effect.gen(function* () {
            const inputs: Array<LiveInput> = []
            const catchUp: Array<number> = []
            const leaving: Array<number> = []
            for (const i of batch) {
              if (i._tag === "Join") catchUp.push(...yield* join(i))
              else if (i._tag === "Leave") leaving.push(i.channelId)
              else inputs.push(i)
            }
            const now = yield* Clock.currentTimeMillis
            const step = state.step(inputs, now)
            for (const failed of step.failedDiffs) {
              yield* Metric.update(
                Metric.withAttributes(Metrics.errorsTotal, { error_type: "difference_failed", component: "updates" }),
                1,
              )
              yield* Effect.logWarning("channel difference failed; trying again later").pipe(
                Effect.annotateLogs({ channelId: failed.channelId, error: failed.error }),
              )
            }
            if (step.writes.size > 0) yield* commit(step.writes, new Date(now))
            yield* fetch([...step.diffs, ...state.catchUp(catchUp)])
            for (const channelId of leaving) yield* leave(channelId)
            const done = yield* Clock.currentTimeMillis
            yield* Metric.update(
              Metric.withAttributes(Metrics.queueDepth, { task: "updates" }),
              Queue.sizeUnsafe(queue),
            )
            if (step.writes.size > 0) {
              yield* Metric.update(
                Metric.withAttributes(Metrics.batchDuration, { task: "updates" }),
                (done - now) / 1000,
              )
              yield* Metric.update(
                Metric.withAttributes(Metrics.checkpointLag, { stream: UPDATES_STREAM }),
                (done - step.oldest) / 1000,
              )
            }
            if (step.applied > 0) yield* Metric.update(Metrics.updatesApplied, step.applied)
            if (step.committed.length > 0 && options.onCommit) yield* options.onCommit(step.committed, done)
            yield* bump((s) => ({
              received: s.received + step.received,
              applied: s.applied + step.applied,
              duplicates: s.duplicates + step.duplicates,
              differences: s.differences + step.differences,
              tooLong: s.tooLong + step.tooLong,
              gapsRecovered: s.gapsRecovered + step.gapsRecovered,
              batches: s.batches + (step.writes.size > 0 ? 1 : 0),
              queueDepth: Queue.sizeUnsafe(queue),
              lagMs: step.writes.size > 0 ? done - step.oldest : s.lagMs,
              latencies: step.latencies.length === 0
                ? s.latencies
                : [...s.latencies, ...step.latencies.map((at) => done - at)].slice(-LATENCY_WINDOW),
            }))
          })

        // Every channel caught up, and counters held for posts stored meanwhile by others (history) released.
        const reconcileOnce = Effect.gen(function* () {
          yield* fetch(state.catchUp())
          for (const id of [...followed.keys()]) {
            const top = yield* Effect.orElseSucceed(posts.maxMsgId(id), () => Option.none<number>())
            if (Option.isSome(top)) yield* Queue.offer(queue, { _tag: "StoredTop", channelId: id, top: top.value })
          }
        })
        const reconcile = Effect.repeat(
          reconcileOnce,
          Schedule.spaced(Duration.seconds(Math.max(1, options.reconcileSeconds))),
        ).pipe(Effect.delay(Duration.seconds(Math.max(1, options.reconcileSeconds))))
        yield* Effect.forkScoped(reconcile)
        if (options.statusSeconds > 0) yield* Effect.forkScoped(statusLine(stats, options.statusSeconds))

        const loop = Effect.forever(
          Effect.gen(function* () {
            // With a gap open, a round every 100 ms even without input (the gap wait runs on the clock); else the
            // writer sleeps until something comes.
            const take = Queue.takeBetween(queue, 1, BATCH)
            const inputs = state.gapOpen
              ? yield* Effect.timeoutOption(take, Duration.millis(100))
              : Option.some(yield* take)
            yield* Effect.uninterruptible(round(Option.getOrElse(inputs, () => [])))
          }),
        )
        const writer = yield* Effect.forkScoped(loop)
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            // Stop: no more rounds; whatever was taken in is written as far as the pts rules allow.
            state.stop()
            yield* Fiber.interrupt(writer)
            const rest = yield* Queue.clear(queue).pipe(Effect.orElseSucceed(() => []))
            yield* round(rest.filter((i) => i._tag === "Event" || i._tag === "Diff" || i._tag === "Join")).pipe(
              Effect.catchCause((cause) => Effect.logError("final flush failed", cause)),
            )
            for (const channelId of [...lockOf.keys()]) yield* leave(channelId)
            const s = yield* Ref.get(stats)
            yield* Effect.logInfo("live updates stopped").pipe(
              Effect.annotateLogs({ applied: s.applied, duplicates: s.duplicates, gapsRecovered: s.gapsRecovered }),
            )
          })
        )
        return {
          /** Fails when the writer fails or the accounts' updates stop coming in (the run is then started again). */
          done: Effect.raceFirst(
            Fiber.join(writer),
            Effect.andThen(Fiber.await(intake), Effect.fail(new UpdatesEnded())),
          ),
          add: (m: Join) => Queue.offer(queue, m),
          remove: (channelId: number) => Queue.offer(queue, { _tag: "Leave", channelId } as const),
        }
      })

      /** Where a channel starts, as the writer takes it in (undefined: it cannot be followed). */
      const startAt = Effect.fnUntraced(function* (info: ChannelInfo, lock?: Scope.Closeable) {
        const start = yield* startOf(info)
        if (start === undefined) return undefined
        const storedTop = Option.getOrElse(yield* posts.maxMsgId(info.id), () => 0)
        return { _tag: "Join", info, pts: start.pts, catchUp: start.catchUp, storedTop, lock } satisfies Join
      })

      const run = Effect.fn("mtproto.collector.updates")(
        function* (refs: ReadonlyArray<PeerRef>, options: LiveOptions) {
          const resolved = yield* resolveAll(refs)
          // One follower per channel across processes: another one following these channels makes this run a
          // standby that starts when it stops (locks taken in ascending order: two standbys never wait on each other).
          for (const id of [...resolved.keys()].sort((a, b) => a - b)) yield* locks.lock(id, UPDATES_STREAM)
          const joins: Array<Join> = []
          for (const info of resolved.values()) {
            const j = yield* startAt(info)
            if (j !== undefined) joins.push(j)
          }
          if (joins.length === 0) {
            return yield* Effect.fail(new NothingToFollow({ channels: refs.map(describePeer).join(", ") }))
          }
          const live = yield* follower(options)
          for (const j of joins) yield* live.add(j)
          return yield* live.done
        },
        Effect.scoped,
      )

      const follow = Effect.fn("mtproto.collector.updates")(
        function* (owned: Effect.Effect<ReadonlyArray<PeerRef>>, options: LiveOptions) {
          const live = yield* follower(options)
          const members = new Map<string, Fiber.Fiber<number | undefined, unknown>>()

          /** Channels resolving or reading their start at once (the lock waits are not counted). */
          const joining = yield* Semaphore.make(JOINS_AT_ONCE)
          /**
           * One channel joins: resolved, its lock taken (waiting while its previous follower lets go), its start
           * read, then handed to the writer with the lock. Interrupted while it resolves or waits, it holds nothing;
           * a failure is logged and tried again every JOIN_RETRY.
           */
          const joinOnce = (ref: PeerRef) =>
            Effect.uninterruptibleMask((restore) =>
              Effect.gen(function* () {
                const lock = yield* Scope.make()
                const exit = yield* Effect.exit(Effect.gen(function* () {
                  const info = yield* restore(joining.withPermits(1)(resolve(ref)))
                  yield* restore(Scope.provide(locks.lock(info.id, UPDATES_STREAM), lock))
                  return yield* joining.withPermits(1)(startAt(info, lock))
                }))
                if (Exit.isSuccess(exit) && exit.value !== undefined) {
                  yield* live.add(exit.value)
                  return exit.value.info.id
                }
                yield* Scope.close(lock, Exit.void)
                if (Exit.isSuccess(exit)) return undefined
                if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
                const failure = Cause.squash(exit.cause)
                if (isUnavailable(failure)) {
                  yield* leaveOut(describePeer(ref), failure)
                  return undefined
                }
                return yield* Effect.failCause(exit.cause)
              })
            )
          const join = (ref: PeerRef) =>
            joinOnce(ref).pipe(
              Effect.tapCause((cause) =>
                Effect.logWarning("channel could not join live updates; trying again").pipe(
                  Effect.annotateLogs({ channel: describePeer(ref), error: failureMessage(cause) }),
                )
              ),
              Effect.retry(Schedule.spaced(JOIN_RETRY)),
            )

          /** The channels named now join; those no longer named leave (their last updates committed first). */
          let seen = ""
          let stableSince = 0
          const sync = Effect.gen(function* () {
            const wanted = new Map((yield* owned).map((ref) => [describePeer(ref), ref]))
            // Only a set that stayed the same for MEMBERSHIP_SETTLE is acted on: runners starting together move
            // shards back and forth for a few seconds, and every move costs a catch-up.
            const now = yield* Clock.currentTimeMillis
            const names = [...wanted.keys()].join("\n")
            if (names !== seen) [seen, stableSince] = [names, now]
            if (now - stableSince < (options.settleMs ?? Duration.toMillis(MEMBERSHIP_SETTLE))) return
            for (const [key, ref] of wanted) {
              if (!members.has(key)) members.set(key, yield* Effect.forkScoped(join(ref)))
            }
            for (const [key, fiber] of [...members]) {
              if (wanted.has(key)) continue
              members.delete(key)
              yield* Fiber.interrupt(fiber)
              const joined = yield* Fiber.await(fiber)
              if (Exit.isSuccess(joined) && joined.value !== undefined) yield* live.remove(joined.value)
            }
          })
          yield* Effect.forkScoped(Effect.repeat(sync, Schedule.spaced(MEMBERSHIP_EVERY)))
          return yield* live.done
        },
        Effect.scoped,
      )

      return LiveUpdates.of({ run, follow, stats: Ref.get(stats) })
    }),
  )
}

/** A channel this account set cannot follow (private, unknown, no access hash) is left out, not fatal. */
const leaveOut = (channel: string, cause: unknown) =>
  Effect.logError("channel left out of live updates").pipe(
    Effect.annotateLogs({ channel, error: (cause as { message?: string }).message ?? String(cause) }),
  )
