/**
 * Live updates' writes: one batch (posts, deletions, counters per channel) and the pts it reaches, in one transaction,
 * then the batch's deletions settled against history pages committed meanwhile (PostRepo.settleDeletions).
 * The pts only moves on from where the writer last committed it: a stored pts below that means the database lost
 * commits it had acknowledged, and the batch is rolled back with PtsBehind.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import { PtsBehind, type Writes } from "../domain/LiveState.ts"
import { CheckpointRepo } from "./CheckpointRepo.ts"
import { PostRepo } from "./PostRepo.ts"

export class LiveStore extends Context.Service<LiveStore, {
  /**
   * Writes `writes` at `takenAt`; each channel's pts moves from `from(channelId)` (the pts this writer last committed
   * for it) to its batch's pts.
   */
  commit(
    writes: ReadonlyMap<number, Writes>,
    from: (channelId: number) => number,
    takenAt: Date,
  ): Effect.Effect<void, StoreError | PtsBehind>
}>()("tgpulse/store/LiveStore") {
  static readonly layer = Layer.effect(
    LiveStore,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const posts = yield* PostRepo
      const checkpoints = yield* CheckpointRepo
      return LiveStore.of({
        commit: (writes, from, takenAt) =>
          sql.withTransaction(
            Effect.forEach(writes, ([channelId, w]) =>
              Effect.gen(function* () {
                if (w.posts.size > 0) yield* posts.upsertPage(channelId, [...w.posts.values()], takenAt)
                if (w.deleted.size > 0) yield* posts.markDeleted(channelId, [...w.deleted], takenAt)
                if (w.metrics.length > 0) yield* posts.applyMetrics(channelId, w.metrics, takenAt)
                if (w.pts === undefined) return
                const committed = from(channelId)
                const moved = yield* checkpoints.advancePts(channelId, "updates", w.pts, { from: committed })
                if (!moved) return yield* new PtsBehind({ channelId, committed })
              }), { discard: true }),
          ).pipe(
            Effect.catchTag("SqlError", (e) =>
              Effect.fail(new StoreError({ operation: "LiveStore.commit", message: e.message, cause: e }))),
            // Committed: a history page stored meanwhile may have missed these deletions, or these posts a deletion.
            Effect.andThen(Effect.forEach(
              writes,
              ([channelId, w]) =>
                posts.settleDeletions(channelId, [...w.posts.keys(), ...w.deleted]),
              { discard: true },
            )),
            Effect.withSpan("mtproto.db.LiveStore.commit"),
          ),
      })
    }),
  )
}
