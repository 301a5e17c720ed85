/** Per (channel, stream) checkpoints in SQL, with the monotonic history merge done by the database; no policy here. */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { decodeHistoryCursor, type HistoryCursor } from "../domain/Checkpoint.ts"
import { StoreError } from "../domain/Errors.ts"

const HISTORY = "history"

/** A positive integer, else 0 ("unset"): the same reading as `decodeHistoryCursor`. */
const bound = (n: number): number => (Number.isSafeInteger(n) && n > 0 ? n : 0)

export class CheckpointRepo extends Context.Service<CheckpointRepo, {
  /** The stored cursor (JSON) of `stream`, if any. */
  get(channelId: number, stream: string): Effect.Effect<Option.Option<unknown>, StoreError>
  /** Replaces the cursor of `stream` as given (no merge). */
  put(channelId: number, stream: string, cursor: object): Effect.Effect<void, StoreError>
  /** Sets `{pts}` of a stream's cursor, never lowering it (a replayed or late batch cannot move it back). */
  advancePts(channelId: number, stream: string, pts: number): Effect.Effect<void, StoreError>
  /**
   * Merges `cursor` into the stored "history" cursor in one statement and returns the result: top only rises,
   * bottom only falls (0 or absent means unset on either side), done only turns true. An older cursor passed late
   * never moves the checkpoint backwards. Other keys of the stored cursor are kept.
   */
  advanceHistory(channelId: number, cursor: HistoryCursor): Effect.Effect<HistoryCursor, StoreError>
  /**
   * The statement of `advanceHistory`, not yet run: a writer passes it to `PostRepo.upsertPage` so that a page and
   * the checkpoint it reaches are written by one statement (atomic, one round trip).
   */
  mergeHistory(channelId: number, cursor: HistoryCursor): Statement.Fragment
}>()("tgpulse/store/CheckpointRepo") {
  static readonly layer = Layer.effect(
    CheckpointRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      /** A stored field of the conflicting row that is not a positive number reads as 0 (unset). */
      const stored = (key: "top" | "bottom") =>
        sql.literal(
          `(CASE WHEN jsonb_typeof(c.cursor -> '${key}') = 'number' ` +
            `THEN least(greatest(trunc((c.cursor ->> '${key}')::numeric), 0), 2147483647)::int8 ELSE 0 END)`,
        )

      const get = Effect.fn("mtproto.db.CheckpointRepo.get")(
        function* (channelId: number, stream: string) {
          const rows = yield* sql<{ cursor: unknown }>`
            SELECT cursor FROM checkpoints WHERE channel_id = ${channelId}::int8 AND stream = ${stream}`
          return Option.map(Option.fromNullishOr(rows[0]), (r) => r.cursor)
        },
        StoreError.mapError("CheckpointRepo.get"),
      )

      const put = Effect.fn("mtproto.db.CheckpointRepo.put")(
        function* (channelId: number, stream: string, cursor: object) {
          yield* sql`
            INSERT INTO checkpoints (channel_id, stream, cursor)
            VALUES (${channelId}::int8, ${stream}, ${JSON.stringify(cursor)}::jsonb)
            ON CONFLICT (channel_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`
        },
        StoreError.mapError("CheckpointRepo.put"),
      )

      const advancePts = Effect.fn("mtproto.db.CheckpointRepo.advancePts")(
        function* (channelId: number, stream: string, pts: number) {
          yield* sql`
            INSERT INTO checkpoints AS c (channel_id, stream, cursor)
            VALUES (${channelId}::int8, ${stream}, jsonb_build_object('pts', ${pts}::int8))
            ON CONFLICT (channel_id, stream) DO UPDATE SET
              cursor = c.cursor || jsonb_build_object(
                'pts', greatest(CASE WHEN jsonb_typeof(c.cursor -> 'pts') = 'number' THEN (c.cursor ->> 'pts')::int8 ELSE 0 END, ${pts}::int8)
              ),
              updated_at = now()`
        },
        StoreError.mapError("CheckpointRepo.advancePts"),
      )

      const mergeHistory = (channelId: number, cursor: HistoryCursor) => {
        const top = bound(cursor.top)
        const bottom = bound(cursor.bottom)
        const done = cursor.done === true
        // Read from the locked row itself (not a snapshot), so concurrent merges cannot lose an advance.
        const storedTop = stored("top")
        const storedBottom = stored("bottom")
        return sql`
          INSERT INTO checkpoints AS c (channel_id, stream, cursor)
          VALUES (
            ${channelId}::int8, ${HISTORY},
            jsonb_build_object('top', ${top}::int8, 'bottom', ${bottom}::int8, 'done', ${done}::bool)
          )
          ON CONFLICT (channel_id, stream) DO UPDATE SET
            cursor = c.cursor || jsonb_build_object(
              'top', greatest(${storedTop}, ${top}::int8),
              'bottom', CASE
                WHEN ${storedBottom} = 0 THEN ${bottom}::int8
                WHEN ${bottom}::int8 = 0 THEN ${storedBottom}
                ELSE least(${storedBottom}, ${bottom}::int8)
              END,
              'done', coalesce(c.cursor -> 'done' = 'true'::jsonb, false) OR ${done}::bool
            ),
            updated_at = now()`
      }

      const advanceHistory = Effect.fn("mtproto.db.CheckpointRepo.advanceHistory")(
        function* (channelId: number, cursor: HistoryCursor) {
          const rows = yield* sql<{ cursor: unknown }>`${mergeHistory(channelId, cursor)} RETURNING cursor`
          return decodeHistoryCursor(rows[0]?.cursor)
        },
        StoreError.mapError("CheckpointRepo.advanceHistory"),
      )

      return CheckpointRepo.of({ get, put, advancePts, advanceHistory, mergeHistory })
    }),
  )
}
