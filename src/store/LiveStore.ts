/**
 * Live updates' writes: one batch (posts, deletions, counters per channel) and the pts it reaches, in one transaction,
 * then the batch's deletions settled against history pages committed meanwhile (PostRepo.settleDeletions).
 * The pts only moves on from where the writer last committed it: a stored pts below that means the database lost
 * commits it had acknowledged, and the batch is rolled back with PtsBehind. A reset (Telegram refused the pts) replaces
 * the stored pts, lower or higher.
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { describeStoreFailure, sqlReasonOf, StoreError } from "../domain/Errors.ts"
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
                if (w.reset) return yield* checkpoints.put(channelId, "updates", { pts: w.pts })
                const committed = from(channelId)
                const moved = yield* checkpoints.advancePts(channelId, "updates", w.pts, { from: committed })
                if (!moved) return yield* new PtsBehind({ channelId, committed })
              }), { discard: true }),
          ).pipe(
            // Rolled back by the server to break a deadlock with a concurrent page (or a serialization failure):
            // nothing was written, so the batch is written again.
            Effect.retry({ while: isConflict, schedule: CONFLICT_RETRY }),
            Effect.catchTag("SqlError", (e) =>
              Effect.fail(
                new StoreError({ operation: "LiveStore.commit", message: describeStoreFailure(e), cause: e }),
              )),
            // Committed: a history page stored meanwhile may have missed these deletions, or these posts a deletion.
            Effect.andThen(Effect.forEach(
              writes,
              ([channelId, w]) => posts.settleDeletions(channelId, [...w.posts.keys(), ...w.deleted]),
              { discard: true },
            )),
            Effect.withSpan("mtproto.db.LiveStore.commit"),
          ),
      })
    }),
  )
}

/**
 * A transaction the server rolled back so that another could go on (a deadlock or a serialization failure, as a
 * SqlError or a StoreError around one); another attempt may well succeed.
 */
const isConflict = (error: unknown): boolean => {
  const reason = sqlReasonOf(error)?._tag
  return reason === "DeadlockError" || reason === "SerializationError"
}

/** Up to 5 more attempts, 10 ms apart doubling, jittered so that the two writers do not meet again. */
const CONFLICT_RETRY = Schedule.exponential("10 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 5 }))
