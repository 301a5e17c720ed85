/**
 * The Channel entity: one per followed channel, cluster-wide. It syncs its channel's history on the runner that owns
 * it, from the checkpoint stored in the database (its only state), one run at a time. A sync request is persisted
 * (cluster_messages) before it is delivered: when the runner dies in the middle, the request goes to the channel's
 * next owner, which carries on from the last stored page (the per-channel lock keeps a late writer out).
 *
 * The runner that holds a channel's shard also follows the channel live and refreshes its metrics (ownedChannels):
 * one live writer per runner for all of its channels, not one per entity (a whole live run per entity ran a runner
 * out of memory at 2,000 channels).
 */
import { Effect, Option, Schema } from "effect"
import { ClusterSchema, Entity, EntityId, Sharding } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { describePeer } from "../collect/Peers.ts"
import { ChannelProgress, HistorySync } from "../collect/HistorySync.ts"
import { parsePeerRef, type PeerRef } from "../domain/Refs.ts"

const SyncHistory = Rpc.make("SyncHistory", {
  /** Posts fetched per run (0: no limit). */
  payload: { limitPerRun: Schema.Number },
  /** How the run ended. */
  success: ChannelProgress,
}).annotate(ClusterSchema.Persisted, true)

export const Channel = Entity.make("Channel", [SyncHistory])

/** The entity id of a channel: `@name` or its id, as the user named it. */
export const channelEntityId = (ref: PeerRef): string => describePeer(ref)

export const ChannelEntityLive = Channel.toLayer(
  Effect.gen(function* () {
    const { entityId } = yield* Entity.CurrentAddress
    const ref = Option.fromNullishOr(parsePeerRef(entityId))
    if (Option.isNone(ref)) return yield* Effect.die(new Error(`"${entityId}" does not name a channel`))
    const history = yield* HistorySync
    return Channel.of({
      SyncHistory: ({ payload }) =>
        history.syncAll([ref.value], { limitPerRun: payload.limitPerRun, concurrency: 1 }).pipe(
          Effect.map((runs) => runs[0]!),
        ),
    })
  }),
  { maxIdleTime: "1 minute" },
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

/** The channels among `refs` whose entities this runner owns now (the shard of each is assigned here). */
export const ownedChannels = (refs: ReadonlyArray<PeerRef>) =>
  Effect.gen(function* () {
    const sharding = yield* Sharding.Sharding
    return refs.filter((ref) => {
      const id = EntityId.make(channelEntityId(ref))
      return sharding.hasShardId(sharding.getShardId(id, Channel.getShardGroup(id)))
    })
  })
