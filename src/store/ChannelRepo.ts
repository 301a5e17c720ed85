/** Channels in SQL: the resolved-peer cache (id, access hash, username) and channel facts; no Telegram here. */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"

export interface ChannelRow {
  readonly id: number
  /** Decimal int64; a null never erases a stored hash. */
  readonly accessHash: string | null
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  /** Optional fields: absent (undefined) keeps the stored value, null clears it. */
  readonly about?: string | null
  readonly participantsCount?: number | null
  readonly statsDc?: number | null
  readonly canViewStats?: boolean | null
}

interface Row {
  readonly id: bigint
  readonly access_hash: string | null
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  readonly about: string | null
  readonly participants_count: number | null
  readonly stats_dc: number | null
  readonly can_view_stats: boolean | null
}

const toChannel = (r: Row): ChannelRow => ({
  id: Number(r.id),
  accessHash: r.access_hash,
  username: r.username,
  title: r.title,
  kind: r.kind,
  about: r.about,
  participantsCount: r.participants_count,
  statsDc: r.stats_dc,
  canViewStats: r.can_view_stats,
})

export class ChannelRepo extends Context.Service<ChannelRepo, {
  /**
   * Inserts or updates a channel and stamps `resolved_at`. A username taken over from another stored channel is
   * cleared there first (usernames move between channels).
   */
  upsert(channel: ChannelRow): Effect.Effect<void, StoreError>
  byId(id: number): Effect.Effect<Option.Option<ChannelRow>, StoreError>
  /** Case-insensitive; a leading "@" is ignored. */
  byUsername(name: string): Effect.Effect<Option.Option<ChannelRow>, StoreError>
  /** Every channel, by id. */
  list(): Effect.Effect<ReadonlyArray<ChannelRow>, StoreError>
}>()("tgpulse/store/ChannelRepo") {
  static readonly layer = Layer.effect(
    ChannelRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const columns = sql.literal(
        "id, access_hash::text AS access_hash, username, title, kind, about, participants_count, stats_dc, " +
          "can_view_stats",
      )

      const upsert = Effect.fn("mtproto.db.ChannelRepo.upsert")(
        function* (c: ChannelRow) {
          return yield* sql.withTransaction(upsertInTransaction(c))
        },
        StoreError.mapError("ChannelRepo.upsert"),
      )

      /**
       * Takes the username from any other channel, then inserts or updates the channel, as one writer: two fibers (or
       * processes) resolving the same channel at once would otherwise both insert, and the username index (which
       * ON CONFLICT (id) does not cover) would refuse the second.
       */
      const upsertInTransaction = Effect.fnUntraced(
        function* (c: ChannelRow) {
          yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`tgpulse:channel:${c.id}`}, 0))`
          if (c.username !== null) {
            yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`tgpulse:username:${c.username.toLowerCase()}`}, 0))`
            yield* sql`
              UPDATE channels SET username = NULL, updated_at = now()
              WHERE lower(username) = lower(${c.username}) AND id <> ${c.id}::int8`
          }
          yield* sql`
            INSERT INTO channels AS c (
              id, access_hash, username, title, kind, about, participants_count, stats_dc, can_view_stats, resolved_at
            ) VALUES (
              ${c.id}::int8, ${c.accessHash}::int8, ${c.username}, ${c.title}, ${c.kind}, ${c.about ?? null}::text,
              ${c.participantsCount ?? null}::int4, ${c.statsDc ?? null}::int4, ${c.canViewStats ?? null}::bool, now()
            )
            ON CONFLICT (id) DO UPDATE SET
              access_hash = coalesce(excluded.access_hash, c.access_hash),
              username = excluded.username,
              title = excluded.title,
              kind = excluded.kind,
              about = CASE WHEN ${c.about !== undefined} THEN excluded.about ELSE c.about END,
              participants_count = CASE
                WHEN ${c.participantsCount !== undefined} THEN excluded.participants_count
                ELSE c.participants_count
              END,
              stats_dc = CASE WHEN ${c.statsDc !== undefined} THEN excluded.stats_dc ELSE c.stats_dc END,
              can_view_stats = CASE
                WHEN ${c.canViewStats !== undefined} THEN excluded.can_view_stats
                ELSE c.can_view_stats
              END,
              resolved_at = now(),
              updated_at = now()`
        },
      )

      const byId = Effect.fn("mtproto.db.ChannelRepo.byId")(
        function* (id: number) {
          const rows = yield* sql<Row>`SELECT ${columns} FROM channels WHERE id = ${id}::int8`
          return Option.map(Option.fromNullishOr(rows[0]), toChannel)
        },
        StoreError.mapError("ChannelRepo.byId"),
      )

      const byUsername = Effect.fn("mtproto.db.ChannelRepo.byUsername")(
        function* (name: string) {
          const rows = yield* sql<Row>`
            SELECT ${columns} FROM channels
            WHERE lower(username) = lower(${name.replace(/^@/, "")}) AND username IS NOT NULL`
          return Option.map(Option.fromNullishOr(rows[0]), toChannel)
        },
        StoreError.mapError("ChannelRepo.byUsername"),
      )

      const list = Effect.fn("mtproto.db.ChannelRepo.list")(
        function* () {
          const rows = yield* sql<Row>`SELECT ${columns} FROM channels ORDER BY id`
          return rows.map(toChannel)
        },
        StoreError.mapError("ChannelRepo.list"),
      )

      return ChannelRepo.of({ upsert, byId, byUsername, list })
    }),
  )
}
