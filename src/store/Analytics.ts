/**
 * Read models for the analytics surface (issue 18), apart from the write path: posts trending by growth (views gained
 * per hour from the `post_metrics` snapshots, not current totals), the publication heatmap, and the top hashtags,
 * mentions and links of a channel. Every figure counts non-deleted, non-service posts only.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import { arrayLiteral } from "./SqlArrays.ts"

/** A post ranked by how fast its views grew in the window. */
export interface GrowingPost {
  readonly channelId: number
  readonly msgId: number
  /** UNIX seconds. */
  readonly date: number
  readonly text: string
  /** Views at the window's last snapshot of the post. */
  readonly views: number
  /** Views gained between the window's first and last snapshots of the post. */
  readonly gained: number
  /** `gained` per hour between those snapshots. */
  readonly perHour: number
}

export interface GrowthOptions {
  /** The window: snapshots taken in [since, until]. */
  readonly since: Date
  readonly until: Date
  /** Posts at least this old at `until` (a post's first hours grow fastest of all). */
  readonly minAgeSeconds: number
  /** All channels when empty. */
  readonly channelIds: ReadonlyArray<number>
  readonly limit: number
}

/** Posts published in one weekday and hour (UTC): how many, and their average views. */
export interface HeatCell {
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekday: number
  readonly hour: number
  readonly posts: number
  readonly avgViews: number | null
}

export type EntityKind = "hashtags" | "mentions" | "links"

/** One hashtag, mention or link: the posts that carry it and their views. */
export interface TopEntity {
  readonly value: string
  readonly posts: number
  readonly views: number
}

/** The period of a channel's figures: posts dated in [since, until). */
export interface Period {
  readonly channelId: number
  readonly since: Date
  readonly until: Date
}

export class Analytics extends Context.Service<Analytics, {
  /**
   * Posts whose views grew fastest in the window (at least two snapshots a minute or more apart), fastest first (ties:
   * newest first).
   */
  trendingByGrowth(options: GrowthOptions): Effect.Effect<ReadonlyArray<GrowingPost>, StoreError>
  /** Every weekday and hour with posts in the period, in order. */
  heatmap(period: Period): Effect.Effect<ReadonlyArray<HeatCell>, StoreError>
  /** The `limit` entities of `kind` carried by the most posts in the period (ties: most views, then by value). */
  topEntities(period: Period, kind: EntityKind, limit: number): Effect.Effect<ReadonlyArray<TopEntity>, StoreError>
}>()("tgpulse/store/Analytics") {
  static readonly layer = Layer.effect(
    Analytics,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const limitOf = (n: number) => Math.max(0, Math.trunc(n))

      const trendingByGrowth = Effect.fn("mtproto.db.Analytics.trendingByGrowth")(
        function* (options: GrowthOptions) {
          const channels = options.channelIds.length === 0 ? null : arrayLiteral(options.channelIds)
          const rows = yield* sql<{
            channel_id: string
            msg_id: number
            date: number
            text: string
            views: number
            gained: number
            per_hour: number
          }>`
            WITH span AS (
              SELECT channel_id, msg_id,
                (array_agg(views ORDER BY taken_at))[1] AS first_views,
                (array_agg(views ORDER BY taken_at DESC))[1] AS last_views,
                extract(epoch FROM max(taken_at) - min(taken_at))::float8 AS seconds
              FROM post_metrics
              WHERE taken_at >= ${options.since} AND taken_at <= ${options.until} AND views IS NOT NULL
                AND (${channels}::int8[] IS NULL OR channel_id = ANY(${channels}::int8[]))
              GROUP BY channel_id, msg_id
              HAVING count(*) >= 2
            )
            SELECT p.channel_id::text AS channel_id, p.msg_id, date_part('epoch', p.date)::float8 AS date, p.text,
              s.last_views AS views, (s.last_views - s.first_views) AS gained,
              (s.last_views - s.first_views) * 3600.0 / s.seconds AS per_hour
            FROM span s JOIN posts p ON p.channel_id = s.channel_id AND p.msg_id = s.msg_id
            WHERE s.seconds >= 60 AND p.deleted_at IS NULL AND NOT p.is_service
              AND p.date <= ${options.until}::timestamptz - make_interval(secs => ${options.minAgeSeconds})
            ORDER BY per_hour DESC, p.date DESC, p.msg_id DESC
            LIMIT ${limitOf(options.limit)}::int4`
          return rows.map((r): GrowingPost => ({
            channelId: Number(r.channel_id),
            msgId: r.msg_id,
            date: r.date,
            text: r.text,
            views: r.views,
            gained: r.gained,
            perHour: r.per_hour,
          }))
        },
        StoreError.mapError("Analytics.trendingByGrowth"),
      )

      const heatmap = Effect.fn("mtproto.db.Analytics.heatmap")(
        function* (period: Period) {
          const rows = yield* sql<{ weekday: number; hour: number; posts: number; avg_views: number | null }>`
            SELECT extract(dow FROM date AT TIME ZONE 'UTC')::int4 AS weekday,
              extract(hour FROM date AT TIME ZONE 'UTC')::int4 AS hour,
              count(*)::int4 AS posts, avg(views)::float8 AS avg_views
            FROM posts
            WHERE channel_id = ${period.channelId}::int8 AND date >= ${period.since} AND date < ${period.until}
              AND deleted_at IS NULL AND NOT is_service
            GROUP BY 1, 2
            ORDER BY 1, 2`
          return rows.map((r): HeatCell => ({
            weekday: r.weekday,
            hour: r.hour,
            posts: r.posts,
            avgViews: r.avg_views,
          }))
        },
        StoreError.mapError("Analytics.heatmap"),
      )

      const topEntities = Effect.fn("mtproto.db.Analytics.topEntities")(
        function* (period: Period, kind: EntityKind, limit: number) {
          const column = sql.literal(KIND_COLUMNS[kind])
          const rows = yield* sql<{ value: string; posts: number; views: number }>`
            SELECT e.value, count(*)::int4 AS posts, coalesce(sum(p.views), 0)::float8 AS views
            FROM posts p, LATERAL (SELECT DISTINCT unnest(p.${column}) AS value) e
            WHERE p.channel_id = ${period.channelId}::int8 AND p.date >= ${period.since} AND p.date < ${period.until}
              AND p.deleted_at IS NULL AND NOT p.is_service
            GROUP BY e.value
            ORDER BY posts DESC, views DESC, e.value
            LIMIT ${limitOf(limit)}::int4`
          return rows.map((r): TopEntity => ({ value: r.value, posts: r.posts, views: r.views }))
        },
        StoreError.mapError("Analytics.topEntities"),
      )

      return Analytics.of({ trendingByGrowth, heatmap, topEntities })
    }),
  )
}

/** The posts column of each kind (a fixed list: never a caller's string in the statement). */
const KIND_COLUMNS: Record<EntityKind, string> = { hashtags: "hashtags", mentions: "mentions", links: "links" }
