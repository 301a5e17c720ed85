/**
 * What was collected, read back: a channel's stored posts, their count and totals. Reads only. (Summaries, rankings and
 * series for the report and the read API are the Analytics read models.)
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
}>()("tgpulse/store/PostReads") {
  static readonly layer = Layer.effect(
    PostReads,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const selectPost = sql.literal(`
        channel_id, msg_id, date_part('epoch', date) AS date, text, links, mentions, hashtags, media_kind,
        grouped_id::text AS grouped_id, post_author, from_id, fwd_from_channel_id, fwd_from_msg_id,
        date_part('epoch', fwd_date) AS fwd_date, fwd_from_name, reply_to_msg_id, replies, views, forwards, reactions,
        reactions_total, date_part('epoch', edit_date) AS edit_date, content_hash, entities, media_identity, is_service`)

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

      return PostReads.of({ channelPosts, count, totals })
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
  readonly entities: string | null
  readonly media_identity: string | null
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
    entities: r.entities ?? "[]",
    mediaIdentity: r.media_identity,
    isService: r.is_service,
  }
}
