/**
 * Read models for the analytics surface (issue 18), apart from the write path: the channels with their latest figures
 * (the `channel_totals` rollup, and the newest post from the posts' date index), a channel's summary over a period,
 * posts trending by growth (views gained per hour between snapshots, not current totals: `Trending.ts`, over the
 * `post_growth` rollup), a post's metric series, a channel's daily series (ours and the official statistics'), the
 * publication heatmap, and the top hashtags, mentions and links. Every figure counts non-deleted, non-service posts
 * only.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import { type GrowingPost, type GrowthOptions, trendingByGrowth } from "./Trending.ts"

export type { GrowingPost, GrowthCursor, GrowthOptions } from "./Trending.ts"

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

/** A followed channel and its latest figures. */
export interface ChannelRow {
  readonly id: number
  readonly username: string | null
  readonly title: string
  readonly kind: string
  readonly subscribers: number | null
  readonly posts: number
  /** UNIX seconds of the newest post (null: none stored). */
  readonly lastPostAt: number | null
  readonly views: number
}

/** A channel over a period. */
export interface Summary {
  readonly posts: number
  readonly views: number
  readonly avgViews: number | null
  /** Average views of a post 24 h after it was published (its first snapshot at or after then; null: none yet). */
  readonly avgReach24h: number | null
  /** Average views per subscriber (the channel's participant count now). */
  readonly err: number | null
  /** (forwards + reactions + replies) / views. */
  readonly er: number | null
  readonly reactions: number
  readonly forwards: number
  readonly subscribers: number | null
  /** The official statistics' followers, current and previous period (null: not loaded). */
  readonly followers: { readonly current: number; readonly previous: number | null } | null
}

/** A post among the most viewed. */
export interface TopPost {
  readonly msgId: number
  /** UNIX seconds. */
  readonly date: number
  readonly views: number | null
  readonly text: string
}

/** One snapshot of a post's counters. */
/** A comment under a post, as the API lists it. */
export interface CommentRow {
  readonly commentId: number
  /** UNIX seconds. */
  readonly date: number
  /** `user:<id>` or `channel:<id>`; null when Telegram hides it. */
  readonly author: string | null
  readonly text: string
  /** The comment it answers (null: the post itself). */
  readonly replyTo: number | null
  readonly reactions: number
}

/** One entry of a post's edit and deletion log (post_versions), as the API lists it. */
export interface VersionRow {
  readonly seq: number
  readonly kind: "version" | "deleted"
  /** UNIX seconds (milliseconds as a fraction). */
  readonly seenAt: number
  readonly editDate: number | null
  readonly text: string
  readonly contentHash: string
  readonly hash: string
}

export interface MetricPoint {
  /** UNIX seconds. */
  readonly at: number
  readonly views: number | null
  readonly forwards: number | null
  readonly replies: number | null
  readonly reactions: number
}

/** One day of a channel: the posts published that day and their views, and every official metric of the day. */
export interface DailyPoint {
  /** YYYY-MM-DD (UTC). */
  readonly day: string
  readonly posts: number
  readonly views: number
  readonly official: Readonly<Record<string, number>>
}

export class Analytics extends Context.Service<Analytics, {
  /** Every stored channel, by title. */
  readonly channels: Effect.Effect<ReadonlyArray<ChannelRow>, StoreError>
  /** A channel's figures over the period (posts dated in it). */
  summary(period: Period): Effect.Effect<Summary, StoreError>
  /** The `limit` most viewed posts dated in the period (ties: newest first). */
  topPosts(period: Period, limit: number): Effect.Effect<ReadonlyArray<TopPost>, StoreError>
  /** A post's snapshots, oldest first. */
  postSeries(channelId: number, msgId: number): Effect.Effect<ReadonlyArray<MetricPoint>, StoreError>
  /** The `limit` newest comments under a post, newest first. */
  postComments(channelId: number, msgId: number, limit: number): Effect.Effect<ReadonlyArray<CommentRow>, StoreError>
  /** A post's versions and its deletion, in the order of its channel's chain. */
  postVersions(channelId: number, msgId: number): Effect.Effect<ReadonlyArray<VersionRow>, StoreError>
  /** Every day of the period with posts or official metrics, in order. */
  dailySeries(period: Period): Effect.Effect<ReadonlyArray<DailyPoint>, StoreError>
  /**
   * Posts whose views grew fastest in the window (at least two snapshots a minute or more apart), fastest first (ties:
   * newest first). The window starts at the top of `since`'s hour (UTC).
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

      const channels = Effect.gen(function* () {
        const rows = yield* sql<{
          id: string
          username: string | null
          title: string
          kind: string
          subscribers: number | null
          posts: number
          last_post_at: number | null
          views: number
        }>`
          SELECT c.id::text AS id, c.username, c.title, c.kind, c.participants_count AS subscribers,
            coalesce(t.posts, 0)::int4 AS posts, date_part('epoch', n.date)::float8 AS last_post_at,
            coalesce(t.views, 0)::float8 AS views
          FROM channels c
            LEFT JOIN (
              SELECT channel_id, sum(posts) AS posts, sum(views) AS views FROM channel_totals GROUP BY channel_id
            ) t ON t.channel_id = c.id
            -- The newest live post: the first of the channel's by date that is neither deleted nor a service one.
            LEFT JOIN LATERAL (
              SELECT p.date FROM posts p
              WHERE p.channel_id = c.id AND p.deleted_at IS NULL AND NOT p.is_service
              ORDER BY p.date DESC LIMIT 1
            ) n ON true
          -- A channel's discussion group is kept for its comments (and live updates), not collected as a channel.
          WHERE NOT EXISTS (SELECT 1 FROM channels l WHERE l.linked_chat_id = c.id)
          ORDER BY c.title, c.id`
        return rows.map((r): ChannelRow => ({
          id: Number(r.id),
          username: r.username,
          title: r.title,
          kind: r.kind,
          subscribers: r.subscribers,
          posts: r.posts,
          lastPostAt: r.last_post_at,
          views: r.views,
        }))
      }).pipe(StoreError.mapError("Analytics.channels"), Effect.withSpan("mtproto.db.Analytics.channels"))

      const summary = Effect.fn("mtproto.db.Analytics.summary")(
        function* (period: Period) {
          const [row] = yield* sql<{
            posts: number
            views: number
            avg_views: number | null
            reach: number | null
            actions: number
            reactions: number
            forwards: number
            subscribers: number | null
            followers: number | null
            followers_previous: number | null
          }>`
            WITH p AS (
              SELECT msg_id, date, views, forwards, replies, reactions_total FROM posts
              WHERE channel_id = ${period.channelId}::int8 AND date >= ${period.since} AND date < ${period.until}
                AND deleted_at IS NULL AND NOT is_service
            ), reach AS (
              SELECT (SELECT m.views FROM post_metrics m
                      WHERE m.channel_id = ${period.channelId}::int8 AND m.msg_id = p.msg_id
                        AND m.taken_at >= p.date + interval '24 hours' AND m.views IS NOT NULL
                      ORDER BY m.taken_at LIMIT 1) AS views
              FROM p
            ), f AS (
              SELECT current, previous FROM channel_stats_values
              WHERE channel_id = ${period.channelId}::int8 AND name = 'followers' ORDER BY day DESC LIMIT 1
            )
            SELECT count(*)::int4 AS posts, coalesce(sum(p.views), 0)::float8 AS views,
              avg(p.views)::float8 AS avg_views, (SELECT avg(views)::float8 FROM reach) AS reach,
              (coalesce(sum(p.forwards), 0) + coalesce(sum(p.reactions_total), 0) + coalesce(sum(p.replies), 0))::float8
                AS actions,
              coalesce(sum(p.reactions_total), 0)::float8 AS reactions,
              coalesce(sum(p.forwards), 0)::float8 AS forwards,
              (SELECT participants_count FROM channels WHERE id = ${period.channelId}::int8) AS subscribers,
              (SELECT current FROM f) AS followers, (SELECT previous FROM f) AS followers_previous
            FROM p`
          const views = row?.views ?? 0
          const subscribers = row?.subscribers ?? null
          const avgViews = row?.avg_views ?? null
          return {
            posts: row?.posts ?? 0,
            views,
            avgViews,
            avgReach24h: row?.reach ?? null,
            err: avgViews !== null && subscribers ? avgViews / subscribers : null,
            er: views > 0 ? (row?.actions ?? 0) / views : null,
            reactions: row?.reactions ?? 0,
            forwards: row?.forwards ?? 0,
            subscribers,
            followers: row?.followers == null
              ? null
              : { current: row.followers, previous: row.followers_previous ?? null },
          }
        },
        StoreError.mapError("Analytics.summary"),
      )

      const postSeries = Effect.fn("mtproto.db.Analytics.postSeries")(
        function* (channelId: number, msgId: number) {
          const rows = yield* sql<
            { at: number; views: number | null; forwards: number | null; replies: number | null; reactions: number }
          >`
            SELECT date_part('epoch', taken_at)::float8 AS at, views, forwards, replies, reactions_total AS reactions
            FROM post_metrics WHERE channel_id = ${channelId}::int8 AND msg_id = ${msgId}::int4
            ORDER BY taken_at`
          return rows.map((r): MetricPoint => ({ ...r }))
        },
        StoreError.mapError("Analytics.postSeries"),
      )

      const postComments = Effect.fn("mtproto.db.Analytics.postComments")(
        function* (channelId: number, msgId: number, limit: number) {
          return yield* sql<CommentRow>`
            SELECT comment_id AS "commentId", date_part('epoch', date)::float8 AS date, author, text,
              reply_to AS "replyTo", reactions_total AS reactions
            FROM comments WHERE channel_id = ${channelId}::int8 AND post_id = ${msgId}::int4
            ORDER BY comment_id DESC LIMIT ${limitOf(limit)}::int4`
        },
        StoreError.mapError("Analytics.postComments"),
      )

      const postVersions = Effect.fn("mtproto.db.Analytics.postVersions")(
        function* (channelId: number, msgId: number) {
          return yield* sql<VersionRow>`
            SELECT seq::float8 AS seq, kind, date_part('epoch', seen_at)::float8 AS "seenAt",
              date_part('epoch', edit_date)::float8 AS "editDate", text, content_hash AS "contentHash", hash
            FROM post_versions WHERE channel_id = ${channelId}::int8 AND msg_id = ${msgId}::int4
            ORDER BY seq`
        },
        StoreError.mapError("Analytics.postVersions"),
      )

      const dailySeries = Effect.fn("mtproto.db.Analytics.dailySeries")(
        function* (period: Period) {
          const rows = yield* sql<{ day: string; posts: number; views: number; official: Record<string, number> }>`
            WITH own AS (
              SELECT (date AT TIME ZONE 'UTC')::date AS day, count(*)::int4 AS posts,
                coalesce(sum(views), 0)::float8 AS views
              FROM posts
              WHERE channel_id = ${period.channelId}::int8 AND date >= ${period.since} AND date < ${period.until}
                AND deleted_at IS NULL AND NOT is_service
              GROUP BY 1
            ), official AS (
              SELECT day, jsonb_object_agg(metric, value) AS official FROM channel_daily
              WHERE channel_id = ${period.channelId}::int8
                AND day >= (${period.since}::timestamptz AT TIME ZONE 'UTC')::date
                AND day < (${period.until}::timestamptz AT TIME ZONE 'UTC')::date
              GROUP BY day
            )
            SELECT to_char(coalesce(own.day, official.day), 'YYYY-MM-DD') AS day, coalesce(own.posts, 0)::int4 AS posts,
              coalesce(own.views, 0)::float8 AS views, coalesce(official.official, '{}'::jsonb) AS official
            FROM own FULL JOIN official ON official.day = own.day
            ORDER BY 1`
          return rows.map((r): DailyPoint => ({ day: r.day, posts: r.posts, views: r.views, official: r.official }))
        },
        StoreError.mapError("Analytics.dailySeries"),
      )

      const topPosts = Effect.fn("mtproto.db.Analytics.topPosts")(
        function* (period: Period, limit: number) {
          return yield* sql<TopPost>`
            SELECT msg_id AS "msgId", date_part('epoch', date)::float8 AS date, views, text FROM posts
            WHERE channel_id = ${period.channelId}::int8 AND date >= ${period.since} AND date < ${period.until}
              AND deleted_at IS NULL AND NOT is_service
            ORDER BY views DESC NULLS LAST, date DESC, msg_id DESC
            LIMIT ${limitOf(limit)}::int4`
        },
        StoreError.mapError("Analytics.topPosts"),
      )

      return Analytics.of({
        channels,
        summary,
        topPosts,
        postSeries,
        postComments,
        postVersions,
        dailySeries,
        trendingByGrowth: trendingByGrowth(sql),
        heatmap,
        topEntities,
      })
    }),
  )
}

/** The posts column of each kind (a fixed list: never a caller's string in the statement). */
const KIND_COLUMNS: Record<EntityKind, string> = { hashtags: "hashtags", mentions: "mentions", links: "links" }
