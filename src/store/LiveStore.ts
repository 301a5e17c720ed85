/**
 * Live updates' writes: one batch (posts, deletions, counters per channel) and the pts it reaches. Each channel's share
 * of the batch is written in one transaction with that channel's pts, then its deletions settled against history pages
 * committed meanwhile (PostRepo.settleDeletions). The channels of a batch are written side by side (CHANNELS_AT_ONCE
 * transactions at once, on as many connections): their rows, checkpoints and pts are their own, so no commit of one
 * channel depends on another's, and the batch takes about as long as its largest channel instead of the sum of all.
 * The pts only moves on from where the writer last committed it: a stored pts below that means the database lost
 * commits it had acknowledged, and the channel's transaction is rolled back with PtsBehind. A reset (Telegram refused
 * the pts) replaces the stored pts, lower or higher.
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { describeStoreFailure, sqlReasonOf, StoreError } from "../domain/Errors.ts"
import { PtsBehind, type Writes } from "../domain/LiveState.ts"
import { CheckpointRepo } from "./CheckpointRepo.ts"
import { CommentRepo } from "./CommentRepo.ts"
import { commentOfPost } from "../domain/Comment.ts"
import { PostRepo } from "./PostRepo.ts"

export class LiveStore extends Context.Service<LiveStore, {
  /**
   * Writes `writes` at `takenAt`; each channel's pts moves from `from(channelId)` (the pts this writer last committed
   * for it) to its batch's pts, in the transaction that writes that channel's rows. Succeeds once every channel's
   * transaction committed; when one fails, the others have committed or rolled back as a whole (each channel's rows
   * and pts together), and the writer starts again from the stored pts.
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
      const comments = yield* CommentRepo
      /** The channel each followed discussion group discusses (null: the channel is no group), looked up once. */
      const discussed = new Map<number, number | null>()
      const discussedBy = (channelId: number) =>
        discussed.has(channelId)
          ? Effect.succeed(discussed.get(channelId)!)
          : Effect.map(comments.channelsOfGroup(channelId), (ids) => {
            discussed.set(channelId, ids[0] ?? null)
            return ids[0] ?? null
          })
      /**
       * A discussion group's new messages are comments (stored under their posts: CommentRepo.storeLive), its
       * automatic forwards of the channel's posts the threads' discussion messages; nothing of it goes to `posts`.
       */
      const writeComments = (groupId: number, channelId: number, w: Writes) => {
        const messages = [...w.posts.values()]
        const discussions = messages.flatMap((p) =>
          p.fwdFromChannelId === channelId && p.fwdFromMsgId !== null
            ? [{ msgId: p.msgId, postId: p.fwdFromMsgId }]
            : []
        )
        const replies = messages.filter((p) => !p.isService && p.replyToMsgId !== null).map(commentOfPost)
        return comments.storeLive(groupId, channelId, discussions, replies)
      }
      /** One channel's writes and pts in one transaction, then its deletions settled. */
      const commitChannel = (channelId: number, w: Writes, committed: number, takenAt: Date) =>
        sql.withTransaction(Effect.gen(function* () {
          const group = w.posts.size > 0 || w.deleted.size > 0 || w.metrics.length > 0
            ? yield* discussedBy(channelId)
            : null
          if (group !== null) {
            if (w.posts.size > 0) yield* writeComments(channelId, group, w)
          } else if (w.posts.size > 0) yield* posts.upsertPage(channelId, [...w.posts.values()], takenAt)
          if (w.deleted.size > 0 && group === null) yield* posts.markDeleted(channelId, [...w.deleted], takenAt)
          if (w.metrics.length > 0 && group === null) yield* posts.applyMetrics(channelId, w.metrics, takenAt)
          if (w.pts === undefined) return
          if (w.reset) return yield* checkpoints.put(channelId, "updates", { pts: w.pts })
          const moved = yield* checkpoints.advancePts(channelId, "updates", w.pts, { from: committed })
          if (!moved) return yield* new PtsBehind({ channelId, committed })
        })).pipe(
          // Rolled back by the server to break a deadlock with a concurrent page (or a serialization failure):
          // nothing was written, so the channel's writes are written again.
          Effect.retry({ while: isConflict, schedule: CONFLICT_RETRY }),
          Effect.catchTag("SqlError", (e) =>
            Effect.fail(
              new StoreError({ operation: "LiveStore.commit", message: describeStoreFailure(e), cause: e }),
            )),
          // Committed: a history page stored meanwhile may have missed these deletions, or these posts a deletion.
          Effect.andThen(posts.settleDeletions(channelId, [...w.posts.keys(), ...w.deleted])),
        )
      return LiveStore.of({
        commit: (writes, from, takenAt) =>
          Effect.forEach(writes, ([channelId, w]) => commitChannel(channelId, w, from(channelId), takenAt), {
            concurrency: CHANNELS_AT_ONCE,
            discard: true,
          }).pipe(Effect.withSpan("mtproto.db.LiveStore.commit")),
      })
    }),
  )
}

/**
 * Channels of one batch written at once, each in its own transaction on its own connection (the pool has 8; history
 * pages, statistics and the lock connection need theirs too). On embedded PostgreSQL (one connection) they queue.
 */
const CHANNELS_AT_ONCE = 4

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
