/**
 * What was collected, read back: posts, totals, summaries and rankings over the stored posts (the demo, the report and
 * the read API). Reads only.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import type { Post } from "../domain/Post.ts"

export interface ChannelTotals {
  readonly posts: number
  readonly views: number
  readonly forwards: number
  readonly replies: number
  readonly reactions: number
}

export interface ChannelSummary {
  /** Stored posts that are not deleted. */
  readonly posts: number
  /** Mean views over posts that have a view count; null when none has. */
  readonly avgViews: number | null
  /** Reach rate (ERR): avgViews / participants_count, as a ratio; null when either is unknown. */
  readonly err: number | null
  /** Engagement rate (ER): sum(forwards + reactions + replies) / sum(views), as a ratio; null without views. */
  readonly er: number | null
}

export interface TrendingPost {
  readonly channelId: number
  readonly msgId: number
  /** Unix seconds. */
  readonly date: number
  readonly text: string
  readonly views: number | null
  readonly forwards: number | null
  readonly replies: number | null
  readonly reactionsTotal: number
  /** (forwards + reactions + replies) / max(views, 1). */
  readonly engagementRate: number
  /** The ranking key: views + 10 × forwards + 5 × reactions + 3 × replies (missing counts as 0). */
  readonly score: number
}

export interface TrendingOptions {
  readonly since: Date
  readonly until: Date
  readonly limit: number
  readonly channelId?: number
}

export class PostReads extends Context.Service<PostReads, {
  /** Non-deleted posts, newest (highest id) first, strictly below `beforeMsgId` when given. */
  channelPosts(
    channelId: number,
    options: { readonly limit: number; readonly beforeMsgId?: number },
  ): Effect.Effect<ReadonlyArray<Post>, StoreError>
  /** Non-deleted posts stored for the channel. */
  count(channelId: number): Effect.Effect<number, StoreError>
  /** Sums over non-deleted posts (missing counts as 0). */
  totals(channelId: number): Effect.Effect<ChannelTotals, StoreError>
  /**
   * Non-deleted, non-service posts dated in [since, until), best `score` first (ties: newest first). The score
   * rewards reach and weighs the rarer, costlier actions more: a forward spreads the post, a reaction or a reply
   * is an explicit response.
   */
  trending(options: TrendingOptions): Effect.Effect<ReadonlyArray<TrendingPost>, StoreError>
  /** Post count, average views, ERR and ER over non-deleted posts. */
  channelSummary(channelId: number): Effect.Effect<ChannelSummary, StoreError>
  /** The `n` most viewed non-deleted posts (ties: newest first). */
  topByViews(channelId: number, n: number): Effect.Effect<ReadonlyArray<Post>, StoreError>
}>()("tgpulse/store/PostReads") {
  static readonly layer = Layer.effect(
    PostReads,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const selectPost = sql.literal(`
        channel_id, msg_id, date_part('epoch', date) AS date, text, links, mentions, hashtags, media_kind,
        grouped_id::text AS grouped_id, post_author, from_id, fwd_from_channel_id, fwd_from_msg_id,
        date_part('epoch', fwd_date) AS fwd_date, fwd_from_name, reply_to_msg_id, replies, views, forwards, reactions,
        reactions_total, date_part('epoch', edit_date) AS edit_date, content_hash, is_service`)

      const channelPosts = Effect.fn("mtproto.db.PostReads.channelPosts")(
        function* (channelId: number, options: { readonly limit: number; readonly beforeMsgId?: number }) {
          const rows = yield* sql<PostRow>`
            SELECT ${selectPost} FROM posts
            WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL
              AND msg_id < ${options.beforeMsgId ?? 2147483647}::int4
            ORDER BY msg_id DESC
            LIMIT ${Math.max(0, Math.trunc(options.limit))}::int4`
          return rows.map(toPost)
        },
        StoreError.mapError("PostReads.channelPosts"),
      )

      const count = Effect.fn("mtproto.db.PostReads.count")(
        function* (channelId: number) {
          const [row] = yield* sql<{ n: number }>`
            SELECT count(*)::int4 AS n FROM posts WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL`
          return row?.n ?? 0
        },
        StoreError.mapError("PostReads.count"),
      )

      const totals = Effect.fn("mtproto.db.PostReads.totals")(
        function* (channelId: number) {
          const [row] = yield* sql<
            { posts: number; views: number; forwards: number; replies: number; reactions: number }
          >`
            SELECT count(*)::float8 AS posts, coalesce(sum(views), 0)::float8 AS views,
              coalesce(sum(forwards), 0)::float8 AS forwards, coalesce(sum(replies), 0)::float8 AS replies,
              coalesce(sum(reactions_total), 0)::float8 AS reactions
            FROM posts WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL`
          return {
            posts: row?.posts ?? 0,
            views: row?.views ?? 0,
            forwards: row?.forwards ?? 0,
            replies: row?.replies ?? 0,
            reactions: row?.reactions ?? 0,
          }
        },
        StoreError.mapError("PostReads.totals"),
      )

      const trending = Effect.fn("mtproto.db.PostReads.trending")(
        function* (options: TrendingOptions) {
          const rows = yield* sql<{
            channel_id: bigint
            msg_id: number
            date: number
            text: string
            views: number | null
            forwards: number | null
            replies: number | null
            reactions_total: number
            engagement_rate: number
            score: number
          }>`
            SELECT channel_id, msg_id, date_part('epoch', date) AS date, text, views, forwards, replies,
              reactions_total,
              (coalesce(forwards, 0) + reactions_total + coalesce(replies, 0))::float8
                / greatest(coalesce(views, 0), 1) AS engagement_rate,
              (coalesce(views, 0) + 10 * coalesce(forwards, 0) + 5 * reactions_total
                + 3 * coalesce(replies, 0))::float8 AS score
            FROM posts
            WHERE date >= ${options.since} AND date < ${options.until} AND deleted_at IS NULL AND NOT is_service
              AND (${options.channelId ?? null}::int8 IS NULL OR channel_id = ${options.channelId ?? null}::int8)
            ORDER BY score DESC, date DESC, msg_id DESC
            LIMIT ${Math.max(0, Math.trunc(options.limit))}::int4`
          return rows.map((r): TrendingPost => ({
            channelId: Number(r.channel_id),
            msgId: r.msg_id,
            date: r.date,
            text: r.text,
            views: r.views,
            forwards: r.forwards,
            replies: r.replies,
            reactionsTotal: r.reactions_total,
            engagementRate: r.engagement_rate,
            score: r.score,
          }))
        },
        StoreError.mapError("PostReads.trending"),
      )

      const channelSummary = Effect.fn("mtproto.db.PostReads.channelSummary")(
        function* (channelId: number) {
          const [row] = yield* sql<{ posts: number; avg_views: number | null; err: number | null; er: number | null }>`
            WITH s AS (
              SELECT count(*)::float8 AS posts, avg(views)::float8 AS avg_views, sum(views)::float8 AS views,
                (coalesce(sum(forwards), 0) + sum(reactions_total) + coalesce(sum(replies), 0))::float8 AS actions
              FROM posts WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL
            )
            SELECT s.posts, s.avg_views,
              s.avg_views / nullif(c.participants_count, 0) AS err,
              s.actions / nullif(s.views, 0) AS er
            FROM s LEFT JOIN channels c ON c.id = ${channelId}::int8`
          return {
            posts: row?.posts ?? 0,
            avgViews: row?.avg_views ?? null,
            err: row?.err ?? null,
            er: row?.er ?? null,
          }
        },
        StoreError.mapError("PostReads.channelSummary"),
      )

      const topByViews = Effect.fn("mtproto.db.PostReads.topByViews")(
        function* (channelId: number, n: number) {
          const rows = yield* sql<PostRow>`
            SELECT ${selectPost} FROM posts
            WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL
            ORDER BY views DESC NULLS LAST, msg_id DESC
            LIMIT ${Math.max(0, Math.trunc(n))}::int4`
          return rows.map(toPost)
        },
        StoreError.mapError("PostReads.topByViews"),
      )

      return PostReads.of({ channelPosts, count, totals, trending, channelSummary, topByViews })
    }),
  )
}

interface PostRow {
  readonly channel_id: bigint
  readonly msg_id: number
  readonly date: number
  readonly text: string
  readonly links: ReadonlyArray<string>
  readonly mentions: ReadonlyArray<string>
  readonly hashtags: ReadonlyArray<string>
  readonly media_kind: string
  readonly grouped_id: string | null
  readonly post_author: string | null
  readonly from_id: string | null
  readonly fwd_from_channel_id: bigint | null
  readonly fwd_from_msg_id: number | null
  readonly fwd_date: number | null
  readonly fwd_from_name: string | null
  readonly reply_to_msg_id: number | null
  readonly replies: number | null
  readonly views: number | null
  readonly forwards: number | null
  readonly reactions: Record<string, number>
  readonly reactions_total: number
  readonly edit_date: number | null
  readonly content_hash: string
  readonly is_service: boolean
}

function toPost(r: PostRow): Post {
  return {
    channelId: Number(r.channel_id),
    msgId: r.msg_id,
    date: r.date,
    text: r.text,
    links: [...r.links],
    mentions: [...r.mentions],
    hashtags: [...r.hashtags],
    mediaKind: r.media_kind,
    groupedId: r.grouped_id,
    postAuthor: r.post_author,
    fromId: r.from_id,
    fwdFromChannelId: r.fwd_from_channel_id === null ? null : Number(r.fwd_from_channel_id),
    fwdFromMsgId: r.fwd_from_msg_id,
    fwdDate: r.fwd_date,
    fwdFromName: r.fwd_from_name,
    replyToMsgId: r.reply_to_msg_id,
    replies: r.replies,
    views: r.views,
    forwards: r.forwards,
    reactions: r.reactions,
    reactionsTotal: r.reactions_total,
    editDate: r.edit_date,
    contentHash: r.content_hash,
    isService: r.is_service,
  }
}
