/**
 * Live updates: every account's pushed channel updates go through one bounded queue to one writer, which orders them
 * by the pts rules per channel, fills gaps with updates.getChannelDifference (after 0.5 s, as Telegram advises), and
 * commits each batch in one transaction together with the pts it reaches. Catch-up runs at start, after every
 * reconnection and every `reconcileSeconds`; a difference that is too long falls back to a history sync, and a pts
 * Telegram refuses (PERSISTENT_TIMESTAMP_INVALID/EMPTY) is reset to the channel's current one after a history sync.
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
  Option,
  Ref,
  Schedule,
  Schema,
  Scope,
  Semaphore,
} from "effect"
import type { PeerRef } from "../domain/Refs.ts"
import type { DiffRequest, LiveInput, PtsBehind } from "../domain/LiveState.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import { ChannelLocks } from "../store/ChannelLocks.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { CheckpointRepo } from "../store/CheckpointRepo.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { PostRepo } from "../store/PostRepo.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import { Comments } from "./Comments.ts"
import { HistorySync } from "./HistorySync.ts"
import { EMPTY, type LiveStats } from "./LiveStats.ts"
import { type Join, type LiveOptions, makeWriter, UPDATES_STREAM, UpdatesEnded } from "./LiveWriter.ts"
import { type ChannelUnavailable, describeChannel, describePeer, failureMessage, makeResolver, refOf } from "./Peers.ts"
import { Dialogs } from "./Dialogs.ts"

export { type LiveStats, percentile } from "./LiveStats.ts"
export { PtsBehind } from "../domain/LiveState.ts"
export { type LiveOptions, UpdatesEnded } from "./LiveWriter.ts"

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

/** Not one of the channels can be followed (each was named in its own error line). */
export class NothingToFollow extends Schema.TaggedError<NothingToFollow>()("NothingToFollow", {
  channels: Schema.String,
}) {
  override get message(): string {
    return `none of the channels can be followed live (${this.channels}): each is private, unknown or not resolved`
  }
}

/** Telegram's refusals of the pts itself (core.telegram.org/method/updates.getChannelDifference, 400). */
const PTS_REFUSED: ReadonlySet<string> = new Set(["PERSISTENT_TIMESTAMP_INVALID", "PERSISTENT_TIMESTAMP_EMPTY"])

/** The refusal `error` is when Telegram refused the pts of a difference (undefined for any other failure). */
function ptsRefusal(error: unknown): string | undefined {
  const e = error as { _tag?: string; reason?: { _tag?: string; errorMessage?: string } }
  const message = e?._tag === "TelegramError" && e.reason?._tag === "Unexpected" ? e.reason.errorMessage : undefined
  return message !== undefined && PTS_REFUSED.has(message) ? message : undefined
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
      // With comments enabled, the channels' discussion groups are followed too (LiveStore stores their comments).
      const comments = yield* Comments
      const resolve = makeResolver(telegram, channels, yield* Dialogs)
      const stats = yield* Ref.make(EMPTY)

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

      /**
       * Telegram refused the pts (PERSISTENT_TIMESTAMP_INVALID: one the channel never reached; _EMPTY: none). As tdlib
       * and mtcute do with a refused common pts (they read updates.getState again), the channel's own pts is read
       * (channels.getFullChannel) and the channel goes on from it, its history synced first: what changed after the
       * pts tgpulse really holds is unknown, as after a too-long difference. Telegram refusing the very pts it reports
       * is no reason to reset again: the difference failed, and is asked again after the backoff.
       */
      const resetPts = Effect.fnUntraced(function* (info: ChannelInfo, request: DiffRequest, refusal: string) {
        const [channelId, epoch] = [info.id, request.epoch]
        const pts = (yield* telegram.getFullChannel(info)).pts ?? 0
        if (pts <= 0 || pts === request.pts) {
          const own = pts <= 0 ? "channels.getFullChannel gives no pts" : "the pts channels.getFullChannel gives"
          return { _tag: "DiffFailed" as const, channelId, epoch, error: `${refusal} for pts ${request.pts} (${own})` }
        }
        yield* Effect.logWarning("channel pts refused: its history synced, it goes on from its current pts").pipe(
          Effect.annotateLogs({ channel: describeChannel(info), error: refusal, pts: request.pts, reset: pts }),
        )
        if (!(yield* comments.catchUpGroup(info.id))) {
          yield* history.syncAll([refOf(info)], { limitPerRun: 0, concurrency: 1 })
        }
        return { _tag: "PtsReset" as const, channelId, epoch, pts }
      })

      /** A difference, fetched beside the writer; a too-long one first syncs the channel's history. */
      const fetchDiff = (info: ChannelInfo, request: DiffRequest): Effect.Effect<LiveInput> =>
        Effect.gen(function* () {
          const answered = yield* Effect.result(telegram.getChannelDifference(info, request.pts, DIFF_LIMIT))
          if (answered._tag === "Failure") {
            const refusal = ptsRefusal(answered.failure)
            if (refusal === undefined) return yield* Effect.fail(answered.failure)
            return yield* resetPts(info, request, refusal)
          }
          const diff = answered.success
          const { epoch } = request
          if (diff._tag !== "TooLong") {
            return { _tag: "Diff" as const, channelId: info.id, epoch, diff, viaHistory: false }
          }
          yield* Effect.logWarning("channel difference too long: syncing its history").pipe(
            Effect.annotateLogs({ channel: describeChannel(info), pts: request.pts }),
          )
          if (!(yield* comments.catchUpGroup(info.id))) {
            yield* history.syncAll([refOf(info)], { limitPerRun: 0, concurrency: 1 })
          }
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

      const follower = makeWriter({ updates: telegram.updates, store, posts, fetchDiff, stats })

      /** Where a channel starts, as the writer takes it in (undefined: it cannot be followed). */
      const startAt = Effect.fnUntraced(function* (info: ChannelInfo, lock?: Scope.Closeable) {
        const start = yield* startOf(info)
        if (start === undefined) return undefined
        const storedTop = Option.getOrElse(yield* posts.maxMsgId(info.id), () => 0)
        return { _tag: "Join", info, pts: start.pts, catchUp: start.catchUp, storedTop, lock } satisfies Join
      })

      const run = Effect.fn("mtproto.collector.updates")(
        function* (refs: ReadonlyArray<PeerRef>, options: LiveOptions) {
          const resolved = yield* resolveAll(yield* comments.withGroups(refs))
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
        function* (followed: Effect.Effect<ReadonlyArray<PeerRef>>, options: LiveOptions) {
          const owned = Effect.flatMap(followed, comments.withGroups)
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
