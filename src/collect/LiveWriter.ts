/**
 * The live writer: every account's pushed updates for the channels followed go through one bounded queue to one
 * writer, which orders them by the pts rules (LiveState), commits each batch with the pts it reaches, fetches the
 * differences it asks for beside it, and takes channels in and out in its own order (LiveUpdates decides which).
 */
import {
  Clock,
  Duration,
  Effect,
  Exit,
  Fiber,
  Metric,
  Option,
  Queue,
  Ref,
  Schedule,
  Schema,
  Scope,
  Stream,
} from "effect"
import type { CheckpointStream } from "../domain/Checkpoint.ts"
import { type DiffRequest, type LiveInput, LiveState, type Writes } from "../domain/LiveState.ts"
import type { AccountSignal, ChannelInfo } from "../domain/Telegram.ts"
import * as Metrics from "../observe/Metrics.ts"
import type { LiveStore } from "../store/LiveStore.ts"
import type { PostRepo } from "../store/PostRepo.ts"
import { EMPTY, LATENCY_WINDOW, type LiveStats, statusLine } from "./LiveStats.ts"

/** The checkpoint stream of live updates: `{pts}`. */
export const UPDATES_STREAM = "updates" satisfies CheckpointStream
/** Items the intake queue holds before the connections' callbacks wait (nothing is dropped). */
const QUEUE_CAPACITY = 10_000
/** Items one batch takes at most. */
const BATCH = 2_000
/** A channel handed to the writer: where it starts, and the lock it holds when it joined a running `follow`. */
export interface Join {
  readonly _tag: "Join"
  readonly info: ChannelInfo
  readonly pts: number
  readonly catchUp: boolean
  readonly storedTop: number
  readonly lock: Scope.Closeable | undefined
}
/** A channel joins the writer or leaves it (in the writer's order, with the updates). */
export type Membership = Join | { readonly _tag: "Leave"; readonly channelId: number }

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

/** The accounts' update streams ended (they should not): the run stops, to be started again. */
export class UpdatesEnded extends Schema.TaggedError<UpdatesEnded>()("UpdatesEnded", {}) {
  override get message(): string {
    return "the accounts' update streams ended"
  }
}

/** What the writer runs on. */
export interface WriterDeps {
  readonly updates: Stream.Stream<{ readonly account: string; readonly signal: AccountSignal }>
  readonly store: LiveStore["Service"]
  readonly posts: PostRepo["Service"]
  /** A difference, fetched beside the writer (never fails: a failure comes back as DiffFailed). */
  readonly fetchDiff: (info: ChannelInfo, request: DiffRequest) => Effect.Effect<LiveInput>
  readonly stats: Ref.Ref<LiveStats>
}

/**
 * The writer and what feeds it: the accounts' updates for the channels followed, the differences, the catch-up
 * schedule and the status line, all in the caller's scope; on close, what was taken in is written as far as the pts
 * rules allow and every channel's lock is let go. Channels come and go through `add` and `remove`.
 */
export const makeWriter = (deps: WriterDeps) =>
  Effect.fnUntraced(function* (options: LiveOptions) {
    const { stats } = deps
    const bump = (f: (s: LiveStats) => Partial<LiveStats>) => Ref.update(stats, (s) => ({ ...s, ...f(s) }))
    yield* Ref.set(stats, EMPTY)
    const followed = new Map<number, ChannelInfo>()
    /** The lock of each channel followed through `add`: let go when it is removed (after its last commit). */
    const lockOf = new Map<number, Scope.Closeable>()
    // Every account's updates into one bounded queue; a full queue makes the connections wait (nothing dropped).
    const queue = yield* Queue.bounded<LiveInput | Membership>(QUEUE_CAPACITY)
    const intake = yield* Effect.forkScoped(
      Stream.runForEach(
        deps.updates,
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
    /**
     * Receipt-to-commit latencies of the last LATENCY_WINDOW updates, overwritten in turn: the stats share this one
     * array (percentiles copy it), instead of a new window of 20,000 copied at every round: two large objects a
     * round, allocated straight in the old generation, which filled it and brought its full collections sooner.
     */
    const latencies: Array<number> = []
    let nextLatency = 0
    const recordLatencies = (receivedAt: ReadonlyArray<number>, committedAt: number) => {
      for (const at of receivedAt) {
        latencies[nextLatency] = committedAt - at
        nextLatency = (nextLatency + 1) % LATENCY_WINDOW
      }
      return latencies
    }
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
            : Effect.forkScoped(Effect.flatMap(deps.fetchDiff(info, r), (i) => Queue.offer(queue, i)))
        },
        { discard: true },
      )

    /** Writes one batch with the pts it reaches (see LiveStore.commit), then remembers what it committed. */
    const commit = (writes: ReadonlyMap<number, Writes>, takenAt: Date) =>
      deps.store.commit(writes, (channelId) => committedPts.get(channelId) ?? 0, takenAt).pipe(
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
          ptsResets: s.ptsResets + step.ptsResets,
          gapsRecovered: s.gapsRecovered + step.gapsRecovered,
          batches: s.batches + (step.writes.size > 0 ? 1 : 0),
          queueDepth: Queue.sizeUnsafe(queue),
          lagMs: step.writes.size > 0 ? done - step.oldest : s.lagMs,
          latencies: recordLatencies(step.latencies, done),
        }))
      })

    // Every channel caught up, and counters held for posts stored meanwhile by others (history) released.
    const reconcileOnce = Effect.gen(function* () {
      yield* fetch(state.catchUp())
      for (const id of [...followed.keys()]) {
        const top = yield* Effect.orElseSucceed(deps.posts.maxMsgId(id), () => Option.none<number>())
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
        const flushed = new Set(["Event", "Diff", "PtsReset", "Join"])
        yield* round(rest.filter((i) => flushed.has(i._tag))).pipe(
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
