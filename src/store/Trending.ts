/**
 * Trending by growth, the read behind `Analytics.trendingByGrowth`: posts ranked by views gained per hour between
 * their first and last snapshots in a window, read from the `post_growth` rollup (migration 8: a row per post with two
 * snapshots or more, its latest, the time of the one before, the first snapshot of every UTC hour) rather than by
 * grouping every snapshot of the window. So a window starts at the top of the hour: `since` is rounded down to the
 * hour (UTC), and a 24-hour window reads 24 to 25 hours of snapshots. Ranking and keyset pages are otherwise those of
 * the snapshots themselves (a post needs two snapshots in the window a minute or more apart; ties: newest, then channel
 * and id). A post with snapshots after `until` (a window in the past, not the API's) is read from `post_metrics`.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
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
  /** The window: snapshots taken in [since rounded down to the hour (UTC), until]. */
  readonly since: Date
  readonly until: Date
  /** Posts at least this old at `until` (a post's first hours grow fastest of all). */
  readonly minAgeSeconds: number
  /** All channels when empty. */
  readonly channelIds: ReadonlyArray<number>
  readonly limit: number
  /** Only the posts ranked after this one (the last of the previous page). */
  readonly after?: GrowthCursor | undefined
}

/** Where a post stands in the trending order: its growth per hour, date, channel and id. */
export type GrowthCursor = readonly [perHour: number, date: number, channelId: number, msgId: number]

const HOUR_MS = 3_600_000

/** `trendingByGrowth` over `sql`: the posts of the window ranked after `after`, fastest first, `limit` of them. */
export const trendingByGrowth = (sql: SqlClient.SqlClient) =>
  Effect.fn("mtproto.db.Analytics.trendingByGrowth")(
    function* (options: GrowthOptions) {
      const start = new Date(Math.floor(options.since.getTime() / HOUR_MS) * HOUR_MS)
      const until = options.until
      const channels = options.channelIds.length === 0 ? null : arrayLiteral(options.channelIds)
      const ids = sql`coalesce(${channels}::int8[], ARRAY(SELECT id FROM channels))`
      const newest = sql`${until}::timestamptz - make_interval(secs => ${options.minAgeSeconds})`
      const after = options.after
      const rows = yield* sql<{
        channel_id: string
        msg_id: number
        date: number
        text: string
        views: number
        gained: number
        per_hour: number
      }>`
        WITH spans AS (
          -- The post's two latest snapshots in the window: the latest is the last, and the first opens the first of
          -- its hours at or after the start.
          SELECT g.channel_id, g.msg_id, g.date, g.last_at, g.last_views,
            g.hour_at[h.i] AS first_at, g.hour_views[h.i] AS first_views
          FROM post_growth g
            CROSS JOIN LATERAL (
              SELECT width_bucket(${start}::timestamptz - interval '1 microsecond', g.hour_at) + 1 AS i
            ) h
          WHERE g.channel_id = ANY(${ids}) AND g.live AND g.prev_at >= ${start}::timestamptz
            AND g.last_at <= ${until}::timestamptz AND g.date <= ${newest}
          UNION ALL
          -- Snapshots after the window's end (a window in the past): the post's snapshots in it, from post_metrics.
          SELECT g.channel_id, g.msg_id, g.date, s.last_at, s.last_views, s.first_at, s.first_views
          FROM post_growth g
            CROSS JOIN LATERAL (
              SELECT min(m.taken_at) AS first_at, max(m.taken_at) AS last_at,
                (array_agg(m.views ORDER BY m.taken_at))[1] AS first_views,
                (array_agg(m.views ORDER BY m.taken_at DESC))[1] AS last_views
              FROM post_metrics m
              WHERE m.channel_id = g.channel_id AND m.msg_id = g.msg_id AND m.taken_at >= ${start}::timestamptz
                AND m.taken_at <= ${until}::timestamptz AND m.views IS NOT NULL
              HAVING count(*) >= 2
            ) s
          WHERE g.channel_id = ANY(${ids}) AND g.live AND g.last_at > ${until}::timestamptz AND g.date <= ${newest}
        ), ranked AS (
          SELECT channel_id, msg_id, date_part('epoch', date)::float8 AS date, last_views AS views,
            (last_views - first_views) AS gained,
            ((last_views - first_views)::float8 * 3600 / date_part('epoch', last_at - first_at))::float8 AS per_hour
          FROM spans
          WHERE date_part('epoch', last_at - first_at) >= 60
        )
        SELECT r.channel_id::text AS channel_id, r.msg_id, r.date, p.text, r.views, r.gained, r.per_hour
        FROM (
          SELECT * FROM ranked
          WHERE ${after === undefined}::bool
            OR (per_hour, date, channel_id, msg_id) < (${after?.[0] ?? 0}::float8, ${after?.[1] ?? 0}::float8,
              ${after?.[2] ?? 0}::int8, ${after?.[3] ?? 0}::int4)
          ORDER BY per_hour DESC, date DESC, channel_id DESC, msg_id DESC
          LIMIT ${Math.max(0, Math.trunc(options.limit))}::int4
        ) r
        JOIN posts p ON p.channel_id = r.channel_id AND p.msg_id = r.msg_id
        ORDER BY r.per_hour DESC, r.date DESC, r.channel_id DESC, r.msg_id DESC`
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
