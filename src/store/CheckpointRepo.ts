/** Per (channel, stream) checkpoints in SQL, with the monotonic history merge done by the database; no policy here. */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import {
  type Checkpoint,
  CHECKPOINTS,
  type CheckpointStream,
  decodeCheckpoint,
  decodeHistoryCursor,
  type HistoryCursor,
} from "../domain/Checkpoint.ts"
import { StoreError } from "../domain/Errors.ts"

const HISTORY: CheckpointStream = "history"

/** A positive integer, else 0 ("unset"): the same reading as `decodeHistoryCursor`. */
const bound = (n: number): number => (Number.isSafeInteger(n) && n > 0 ? n : 0)

export class CheckpointRepo extends Context.Service<CheckpointRepo, {
  /** The stored cursor of `stream`, if any, read with its schema (a malformed field reads as unset). */
  get<S extends CheckpointStream>(channelId: number, stream: S): Effect.Effect<Option.Option<Checkpoint<S>>, StoreError>
  /** Replaces the cursor of `stream` as given (no merge). */
  put<S extends CheckpointStream>(channelId: number, stream: S, cursor: Checkpoint<S>): Effect.Effect<void, StoreError>
  /**
   * Sets `{pts}` of a stream's cursor, never lowering it (a replayed or late batch cannot move it back). With `from`
   * (the pts the writer's batch continues from), only a stored cursor at `from` or beyond moves: a stored pts below it
   * means the database lost batches it had acknowledged, and the call returns false (nothing written).
   */
  advancePts(
    channelId: number,
    stream: CheckpointStream,
    pts: number,
    options?: { readonly from?: number },
  ): Effect.Effect<boolean, StoreError>
  /**
   * Merges `cursor` into the stored "history" cursor in one statement and returns the result: top only rises,
   * bottom only falls (0 or absent means unset on either side), done only turns true. An older cursor passed late
   * never moves the checkpoint backwards. Other keys of the stored cursor are kept.
   *
   * With `from` (the cursor the writer's page continues from) the merge happens only when the stored cursor covers
   * `from` (`coversHistory`): a page is never bookmarked past a hole left by pages the database lost. Returns
   * `undefined` when the merge was refused.
   */
  advanceHistory(
    channelId: number,
    cursor: HistoryCursor,
    options?: { readonly from?: HistoryCursor },
  ): Effect.Effect<HistoryCursor | undefined, StoreError>
  /**
   * The statement of `advanceHistory`, not yet run (`RETURNING cursor AS checkpoint`): a writer passes it to
   * `PostRepo.upsertPage` so that a page and the checkpoint it reaches are written by one statement (atomic, one
   * round trip); no row comes back when the merge was refused.
   */
  mergeHistory(
    channelId: number,
    cursor: HistoryCursor,
    options?: {
      readonly from?: HistoryCursor
      /** The channel's pts the page was read at: kept as `pts` when the cursor has none (`historyStartPts`). */
      readonly pts?: number | undefined
    },
  ): Statement.Fragment
  /**
   * The stored "history" cursor once it is durable: commits on the server's disk (a synchronous commit, whatever
   * `synchronous_commit` says, which flushes every earlier commit too). What it returns survives a database crash.
   */
  confirmHistory(channelId: number): Effect.Effect<HistoryCursor, StoreError>
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

      const get = <S extends CheckpointStream>(channelId: number, stream: S) =>
        sql<{ cursor: unknown }>`
          SELECT cursor FROM checkpoints WHERE channel_id = ${channelId}::int8 AND stream = ${stream}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (r) => decodeCheckpoint(stream, r.cursor))),
          StoreError.mapError("CheckpointRepo.get"),
          Effect.withSpan("mtproto.db.CheckpointRepo.get"),
        )

      const put = Effect.fn("mtproto.db.CheckpointRepo.put")(
        function* <S extends CheckpointStream>(channelId: number, stream: S, cursor: Checkpoint<S>) {
          const encoded = Schema.encodeSync(CHECKPOINTS[stream] as unknown as Schema.Codec<Checkpoint<S>, unknown>)(
            cursor,
          )
          yield* sql`
            INSERT INTO checkpoints (channel_id, stream, cursor)
            VALUES (${channelId}::int8, ${stream}, ${JSON.stringify(encoded)}::jsonb)
            ON CONFLICT (channel_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`
        },
        StoreError.mapError("CheckpointRepo.put"),
      )

      const storedPts = sql.literal(
        `(CASE WHEN jsonb_typeof(c.cursor -> 'pts') = 'number' THEN (c.cursor ->> 'pts')::int8 ELSE 0 END)`,
      )
      const advancePts = Effect.fn("mtproto.db.CheckpointRepo.advancePts")(
        function* (channelId: number, stream: CheckpointStream, pts: number, options: { readonly from?: number } = {}) {
          const next = sql`c.cursor || jsonb_build_object('pts', greatest(${storedPts}, ${pts}::int8))`
          const rows = options.from === undefined
            ? yield* sql`
              INSERT INTO checkpoints AS c (channel_id, stream, cursor)
              VALUES (${channelId}::int8, ${stream}, jsonb_build_object('pts', ${pts}::int8))
              ON CONFLICT (channel_id, stream) DO UPDATE SET cursor = ${next}, updated_at = now()
              RETURNING 1`
            : yield* sql`
              UPDATE checkpoints AS c SET cursor = ${next}, updated_at = now()
              WHERE c.channel_id = ${channelId}::int8 AND c.stream = ${stream}
                AND ${storedPts} >= ${options.from}::int8
              RETURNING 1`
          return rows.length > 0
        },
        StoreError.mapError("CheckpointRepo.advancePts"),
      )

      const mergeHistory = (
        channelId: number,
        cursor: HistoryCursor,
        options: { readonly from?: HistoryCursor; readonly pts?: number | undefined } = {},
      ) => {
        const pts = options.pts !== undefined && Number.isSafeInteger(options.pts) && options.pts > 0
          ? sql`jsonb_build_object('pts', ${options.pts}::int8)`
          : sql.literal(`'{}'::jsonb`)
        const top = bound(cursor.top)
        const bottom = bound(cursor.bottom)
        const done = cursor.done === true
        // Read from the locked row itself (not a snapshot), so concurrent merges cannot lose an advance.
        const storedTop = stored("top")
        const storedBottom = stored("bottom")
        const storedDone = sql.literal(`coalesce(c.cursor -> 'done' = 'true'::jsonb, false)`)
        const from = options.from
        const fromTop = from ? bound(from.top) : 0
        const fromBottom = from ? bound(from.bottom) : 0
        const fromDone = from?.done === true
        // `coversHistory` in SQL: a fresh row only for a page that continues nothing (else the insert is not even
        // tried: with no row to conflict with, ON CONFLICT would never look at `covers`); an update only when the
        // stored cursor vouches for what the page continues.
        const fresh = from === undefined || (fromTop === 0 && fromBottom === 0 && !fromDone)
        const covers = from === undefined ? sql.literal("true") : sql`(
          ${storedTop} >= ${fromTop}::int8
          AND (${fromBottom}::int8 = 0 OR (${storedBottom} > 0 AND ${storedBottom} <= ${fromBottom}::int8))
          AND (${storedDone} OR NOT ${fromDone}::bool)
        )`
        return sql`
          INSERT INTO checkpoints AS c (channel_id, stream, cursor)
          SELECT ${channelId}::int8, ${HISTORY},
            jsonb_build_object('top', ${top}::int8, 'bottom', ${bottom}::int8, 'done', ${done}::bool) || ${pts}
          WHERE ${fresh}::bool
            OR EXISTS (SELECT 1 FROM checkpoints WHERE channel_id = ${channelId}::int8 AND stream = ${HISTORY})
          ON CONFLICT (channel_id, stream) DO UPDATE SET
            cursor = ${pts} || c.cursor || jsonb_build_object(
              'top', greatest(${storedTop}, ${top}::int8),
              'bottom', CASE
                WHEN ${storedBottom} = 0 THEN ${bottom}::int8
                WHEN ${bottom}::int8 = 0 THEN ${storedBottom}
                ELSE least(${storedBottom}, ${bottom}::int8)
              END,
              'done', ${storedDone} OR ${done}::bool
            ),
            updated_at = now()
          WHERE ${covers}
          RETURNING c.cursor AS checkpoint`
      }

      const advanceHistory = Effect.fn("mtproto.db.CheckpointRepo.advanceHistory")(
        function* (channelId: number, cursor: HistoryCursor, options: { readonly from?: HistoryCursor } = {}) {
          const rows = yield* sql<{ checkpoint: unknown }>`${mergeHistory(channelId, cursor, options)}`
          return rows[0] === undefined ? undefined : decodeHistoryCursor(rows[0].checkpoint)
        },
        StoreError.mapError("CheckpointRepo.advanceHistory"),
      )

      const confirmHistory = Effect.fn("mtproto.db.CheckpointRepo.confirmHistory")(
        function* (channelId: number) {
          // set_config(..., true) lasts until the end of this statement's own transaction: its commit is synchronous.
          // The update writes a commit record, so the flush covers every earlier (asynchronous) commit as well.
          const rows = yield* sql<{ checkpoint: unknown }>`
            WITH durable AS (SELECT set_config('synchronous_commit', 'on', true))
            UPDATE checkpoints SET updated_at = now() FROM durable
            WHERE channel_id = ${channelId}::int8 AND stream = ${HISTORY}
            RETURNING cursor AS checkpoint`
          return decodeHistoryCursor(rows[0]?.checkpoint)
        },
        StoreError.mapError("CheckpointRepo.confirmHistory"),
      )

      return CheckpointRepo.of({ get, put, advancePts, advanceHistory, mergeHistory, confirmHistory })
    }),
  )
}
