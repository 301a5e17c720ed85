/**
 * Official statistics in SQL: raw graphs, daily and hourly pivots, scalar values, per-post series and public forwards.
 * Every write is an upsert that touches a row only when its value changed, so a re-run changes nothing that did not.
 */
import { createHash } from "node:crypto"
import { Context, Effect, Layer } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import type {
  ChannelStatsWrite,
  DailyPoint,
  PostStatsWrite,
  PublicForward,
  RawEntry,
  StatsValue,
  TimedPoint,
} from "../domain/Stats.ts"
import { arrayLiteral, type Scalar } from "./SqlArrays.ts"

/** Rows a write added or changed (rows whose value was already stored are not touched and not counted). */
export interface WriteCounts {
  readonly raw: number
  readonly inserted: number
  readonly updated: number
}

const NONE: WriteCounts = { raw: 0, inserted: 0, updated: 0 }
const add = (a: WriteCounts, b: WriteCounts): WriteCounts => ({
  raw: a.raw + b.raw,
  inserted: a.inserted + b.inserted,
  updated: a.updated + b.updated,
})

const contentHash = (e: RawEntry) =>
  createHash("sha256").update(`${e.kind}\u0000${e.data ?? ""}\u0000${e.error ?? ""}`).digest("hex").slice(0, 32)

/** The last entry per key wins: ON CONFLICT cannot touch a row twice in one statement. */
function lastPerKey<A>(items: ReadonlyArray<A>, key: (a: A) => string): ReadonlyArray<A> {
  const map = new Map<string, A>()
  for (const item of items) map.set(key(item), item)
  return map.size === items.length ? items : [...map.values()]
}

export class StatsRepo extends Context.Service<StatsRepo, {
  saveChannel(write: ChannelStatsWrite): Effect.Effect<WriteCounts, StoreError>
  savePost(write: PostStatsWrite): Effect.Effect<WriteCounts, StoreError>
  /** Ids of the channel's stored posts dated at or after `sinceSeconds` (UNIX), newest first. */
  postsSince(channelId: number, sinceSeconds: number): Effect.Effect<ReadonlyArray<number>, StoreError>
}>()("tgpulse/store/StatsRepo") {
  static readonly layer = Layer.effect(
    StatsRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const col = <A>(items: ReadonlyArray<A>, f: (a: A) => Scalar) => arrayLiteral(items.map(f))

      /** New raw rows, only where the content differs from the key's latest row. */
      const insertRaw = (channelId: number, entries: ReadonlyArray<RawEntry>) =>
        Effect.gen(function* () {
          if (entries.length === 0) return NONE
          const list = lastPerKey(entries, (e) => e.key)
          const rows = yield* sql<{ n: number }>`
            WITH added AS (
              INSERT INTO stats_raw (channel_id, key, kind, data, error, content_hash)
              SELECT ${channelId}::int8, u.key, u.kind, u.data, u.error, u.hash
              FROM unnest(
                ${col(list, (e) => e.key)}::text[], ${col(list, (e) => e.kind)}::text[],
                ${col(list, (e) => e.data)}::text[], ${col(list, (e) => e.error)}::text[],
                ${col(list, contentHash)}::text[]
              ) AS u(key, kind, data, error, hash)
              WHERE u.hash IS DISTINCT FROM (
                SELECT r.content_hash FROM stats_raw r
                WHERE r.channel_id = ${channelId}::int8 AND r.key = u.key
                ORDER BY r.fetched_at DESC LIMIT 1
              )
              RETURNING 1
            )
            SELECT count(*)::int4 AS n FROM added`
          return { ...NONE, raw: rows[0]?.n ?? 0 }
        })

      /** Runs an upsert that returns `(xmax = 0) AS inserted` for each row it wrote, and counts them. */
      const countChanged = (upsert: Statement.Fragment) =>
        Effect.map(
          sql<{ inserted: number; updated: number }>`
            WITH changed AS (${upsert})
            SELECT count(*) FILTER (WHERE inserted)::int4 AS inserted,
              count(*) FILTER (WHERE NOT inserted)::int4 AS updated
            FROM changed`,
          (rows): WriteCounts => ({ raw: 0, inserted: rows[0]?.inserted ?? 0, updated: rows[0]?.updated ?? 0 }),
        )

      const upsertDaily = (channelId: number, points: ReadonlyArray<DailyPoint>) =>
        Effect.gen(function* () {
          if (points.length === 0) return NONE
          const list = lastPerKey(points, (p) => `${p.day}\u0000${p.metric}`)
          return yield* countChanged(sql`
            INSERT INTO channel_daily AS d (channel_id, day, metric, value)
            SELECT ${channelId}::int8, u.day::date, u.metric, u.value
            FROM unnest(
              ${col(list, (p) => p.day)}::text[], ${col(list, (p) => p.metric)}::text[],
              ${col(list, (p) => p.value)}::float8[]
            ) AS u(day, metric, value)
            ON CONFLICT (channel_id, day, metric) DO UPDATE SET value = excluded.value, updated_at = now()
            WHERE d.value IS DISTINCT FROM excluded.value
            RETURNING (d.xmax = 0) AS inserted`)
        })

      const upsertHourly = (channelId: number, points: ReadonlyArray<TimedPoint>) =>
        Effect.gen(function* () {
          if (points.length === 0) return NONE
          const list = lastPerKey(points, (p) => `${p.x}\u0000${p.metric}`)
          return yield* countChanged(sql`
            INSERT INTO channel_hourly AS h (channel_id, hour, metric, value)
            SELECT ${channelId}::int8, to_timestamp(u.x / 1000.0), u.metric, u.value
            FROM unnest(
              ${col(list, (p) => p.x)}::int8[], ${col(list, (p) => p.metric)}::text[],
              ${col(list, (p) => p.value)}::float8[]
            ) AS u(x, metric, value)
            ON CONFLICT (channel_id, hour, metric) DO UPDATE SET value = excluded.value, updated_at = now()
            WHERE h.value IS DISTINCT FROM excluded.value
            RETURNING (h.xmax = 0) AS inserted`)
        })

      const upsertValues = (
        channelId: number,
        period: ChannelStatsWrite["period"],
        values: ReadonlyArray<StatsValue>,
      ) =>
        Effect.gen(function* () {
          if (values.length === 0) return NONE
          const list = lastPerKey(values, (v) => v.name)
          return yield* countChanged(sql`
            INSERT INTO channel_stats_values AS v (channel_id, day, name, period_start, current, previous, total)
            SELECT ${channelId}::int8, ${period.end}::date, u.name, ${period.start}::date, u.current, u.previous,
              u.total
            FROM unnest(
              ${col(list, (v) => v.name)}::text[], ${col(list, (v) => v.current)}::float8[],
              ${col(list, (v) => v.previous)}::float8[], ${col(list, (v) => v.total)}::float8[]
            ) AS u(name, current, previous, total)
            ON CONFLICT (channel_id, day, name) DO UPDATE SET
              period_start = excluded.period_start, current = excluded.current, previous = excluded.previous,
              total = excluded.total, updated_at = now()
            WHERE (v.period_start, v.current, v.previous, v.total)
              IS DISTINCT FROM (excluded.period_start, excluded.current, excluded.previous, excluded.total)
            RETURNING (v.xmax = 0) AS inserted`)
        })

      const upsertPostSeries = (channelId: number, msgId: number, points: PostStatsWrite["series"]) =>
        Effect.gen(function* () {
          if (points.length === 0) return NONE
          const list = lastPerKey(points, (p) => `${p.x}\u0000${p.metric}`)
          return yield* countChanged(sql`
            INSERT INTO post_stats AS s (channel_id, msg_id, metric, x, granularity, value)
            SELECT ${channelId}::int8, ${msgId}::int4, u.metric, to_timestamp(u.x / 1000.0), u.granularity,
              u.value
            FROM unnest(
              ${col(list, (p) => p.metric)}::text[], ${col(list, (p) => p.x)}::int8[],
              ${col(list, (p) => p.granularity)}::text[], ${col(list, (p) => p.value)}::float8[]
            ) AS u(metric, x, granularity, value)
            ON CONFLICT (channel_id, msg_id, metric, x) DO UPDATE SET
              granularity = excluded.granularity, value = excluded.value, updated_at = now()
            WHERE (s.granularity, s.value) IS DISTINCT FROM (excluded.granularity, excluded.value)
            RETURNING (s.xmax = 0) AS inserted`)
        })

      const upsertForwards = (channelId: number, msgId: number, forwards: ReadonlyArray<PublicForward>) =>
        Effect.gen(function* () {
          if (forwards.length === 0) return NONE
          const list = lastPerKey(forwards, (f) => `${f.channelId}\u0000${f.msgId}`)
          return yield* countChanged(sql`
            INSERT INTO post_public_forwards AS f (
              channel_id, msg_id, fwd_channel_id, fwd_msg_id, fwd_channel_username, fwd_channel_title, fwd_date,
              views
            )
            SELECT ${channelId}::int8, ${msgId}::int4, u.fwd_channel_id, u.fwd_msg_id, u.username, u.title,
              to_timestamp(u.date), u.views
            FROM unnest(
              ${col(list, (f) => f.channelId)}::int8[], ${col(list, (f) => f.msgId)}::int4[],
              ${col(list, (f) => f.channelUsername)}::text[], ${col(list, (f) => f.channelTitle)}::text[],
              ${col(list, (f) => f.date)}::int8[], ${col(list, (f) => f.views)}::int4[]
            ) AS u(fwd_channel_id, fwd_msg_id, username, title, date, views)
            ON CONFLICT (channel_id, msg_id, fwd_channel_id, fwd_msg_id) DO UPDATE SET
              fwd_channel_username = excluded.fwd_channel_username,
              fwd_channel_title = excluded.fwd_channel_title, fwd_date = excluded.fwd_date,
              views = excluded.views, updated_at = now()
            WHERE (f.fwd_channel_username, f.fwd_channel_title, f.fwd_date, f.views)
              IS DISTINCT FROM (excluded.fwd_channel_username, excluded.fwd_channel_title, excluded.fwd_date,
                excluded.views)
            RETURNING (f.xmax = 0) AS inserted`)
        })

      const saveChannel = Effect.fn("mtproto.db.StatsRepo.saveChannel")(
        function* (w: ChannelStatsWrite) {
          return yield* sql.withTransaction(Effect.gen(function* () {
            const raw = yield* insertRaw(w.channelId, w.raw)
            const daily = yield* upsertDaily(w.channelId, w.daily)
            const hourly = yield* upsertHourly(w.channelId, w.hourly)
            const values = yield* upsertValues(w.channelId, w.period, w.values)
            return [raw, daily, hourly, values].reduce(add, NONE)
          }))
        },
        StoreError.mapError("StatsRepo.saveChannel"),
      )

      const savePost = Effect.fn("mtproto.db.StatsRepo.savePost")(
        function* (w: PostStatsWrite) {
          return yield* sql.withTransaction(Effect.gen(function* () {
            const raw = yield* insertRaw(w.channelId, w.raw)
            const series = yield* upsertPostSeries(w.channelId, w.msgId, w.series)
            const forwards = w.forwards === undefined ? NONE : yield* upsertForwards(w.channelId, w.msgId, w.forwards)
            return [raw, series, forwards].reduce(add, NONE)
          }))
        },
        StoreError.mapError("StatsRepo.savePost"),
      )

      const postsSince = Effect.fn("mtproto.db.StatsRepo.postsSince")(
        function* (channelId: number, sinceSeconds: number) {
          const rows = yield* sql<{ msg_id: number }>`
            SELECT msg_id FROM posts
            WHERE channel_id = ${channelId}::int8 AND date >= to_timestamp(${sinceSeconds}::int8)
              AND deleted_at IS NULL AND NOT is_service
            ORDER BY msg_id DESC`
          return rows.map((r) => r.msg_id)
        },
        StoreError.mapError("StatsRepo.postsSince"),
      )

      return StatsRepo.of({ saveChannel, savePost, postsSince })
    }),
  )
}
