/**
 * The Channel entity: one per followed channel, cluster-wide, on the runner that owns its shard.
 * - History: it syncs its channel from the checkpoint stored in the database (its only state), one run at a time. A
 *   sync request is persisted (cluster_messages) before it is delivered: when the runner dies in the middle, the
 *   request goes to the channel's next owner, which carries on from the last stored page (the per-channel lock keeps a
 *   late writer out).
 * - Live updates (MTPROTO_UPDATES_ENABLED): while active it follows its channel, its pts gate fed by what the Account
 *   entities push to it (each account routes its connection's updates to the channels' entities) and by differences
 *   from the stored pts; pushes lost while it moves are gaps the differences fill. Woken every few seconds by the
 *   live-updates singleton, so that every channel is followed somewhere.
 */
import { Duration, Effect, Option, Queue, Schedule, Schema, Stream } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { AppConfig, collectorsOn } from "../Config.ts"
import { ChannelProgress, HistorySync } from "../collect/HistorySync.ts"
import { LiveUpdates } from "../collect/LiveUpdates.ts"
import { describePeer, failureMessage } from "../collect/Peers.ts"
import { parsePeerRef, type PeerRef } from "../domain/Refs.ts"
import type { AccountSignal } from "../domain/Telegram.ts"
import { Ownership } from "./Ownership.ts"

const SyncHistory = Rpc.make("SyncHistory", {
  /** Posts fetched per run (0: no limit). */
  payload: { limitPerRun: Schema.Number },
  /** How the run ended. */
  success: ChannelProgress,
}).annotate(ClusterSchema.Persisted, true)

/** Updates an account's connection received for this channel (AccountSignal records), in order. */
const Push = Rpc.make("Push", { payload: { account: Schema.String, signals: Schema.Array(Schema.Unknown) } })

/** Activates the entity (and so its live following); nothing else. */
const Wake = Rpc.make("Wake")

export const Channel = Entity.make("Channel", [SyncHistory, Push, Wake])

/** The entity id of a channel: `@name` or its id, as the user named it. */
export const channelEntityId = (ref: PeerRef): string => describePeer(ref)

/** How often the live-updates singleton wakes every channel's entity. */
export const WAKE_EVERY = Duration.seconds(5)

/** Pushes an entity holds before the pushing account waits (nothing is dropped while it runs). */
const INBOX = 10_000

export const ChannelEntityLive = Channel.toLayer(
  Effect.gen(function* () {
    const { entityId } = yield* Entity.CurrentAddress
    const ref = Option.fromNullishOr(parsePeerRef(entityId))
    if (Option.isNone(ref)) return yield* Effect.die(new Error(`"${entityId}" does not name a channel`))
    yield* (yield* Ownership).hold("channel", entityId)
    const history = yield* HistorySync
    const config = yield* AppConfig
    const inbox = yield* Queue.bounded<{ readonly account: string; readonly signal: AccountSignal }>(INBOX)
    if (collectorsOn(config).updates) {
      const live = yield* LiveUpdates
      const follow = live.run([ref.value], {
        reconcileSeconds: config.updates.reconcileSec,
        statusSeconds: 0,
        source: Stream.fromQueue(inbox),
      }).pipe(
        Effect.tapCause((cause) =>
          Effect.logError("live updates of the channel failed: following again after a pause").pipe(
            Effect.annotateLogs({ channel: entityId, error: failureMessage(cause) }),
          )
        ),
        Effect.retry(Schedule.spaced("2 seconds")),
        Effect.ignore,
      )
      yield* Effect.forkScoped(follow)
    }
    return Channel.of({
      SyncHistory: ({ payload }) =>
        history.syncAll([ref.value], { limitPerRun: payload.limitPerRun, concurrency: 1 }).pipe(
          Effect.map((runs) => runs[0]!),
        ),
      Push: ({ payload }) =>
        Queue.offerAll(
          inbox,
          payload.signals.map((signal) => ({ account: payload.account, signal: signal as AccountSignal })),
        ).pipe(Effect.asVoid),
      Wake: () => Effect.void,
    })
  }),
  // Pushes arrive while a sync runs (syncs of one channel are serialized by its lock); woken every WAKE_EVERY.
  { concurrency: "unbounded", maxIdleTime: Duration.times(WAKE_EVERY, 6) },
)

/** Syncs every channel through its entity (at most `concurrency` at once, cluster-wide) and returns how each ended. */
export const syncThroughEntities = (
  refs: ReadonlyArray<PeerRef>,
  options: { readonly limitPerRun: number; readonly concurrency: number },
) =>
  Effect.gen(function* () {
    const entityOf = yield* Channel.client
    return yield* Effect.forEach(
      refs,
      (ref) => entityOf(channelEntityId(ref)).SyncHistory({ limitPerRun: options.limitPerRun }),
      { concurrency: options.concurrency },
    )
  })

/** Keeps every channel's entity active (and so followed live) wherever it runs; never ends. */
export const wakeEntities = (refs: ReadonlyArray<PeerRef>) =>
  Effect.gen(function* () {
    const entityOf = yield* Channel.client
    const wake = Effect.forEach(
      refs,
      (ref) => Effect.ignore(entityOf(channelEntityId(ref)).Wake()),
      { concurrency: 16, discard: true },
    )
    return yield* Effect.repeat(wake, Schedule.spaced(WAKE_EVERY)).pipe(Effect.andThen(Effect.never))
  })
