/**
 * Comments in SQL: each post's thread (its comments and its checkpoint, written together in one statement), the
 * channels' linked discussion groups, and the reads of both; no Telegram here.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Comment, ThreadState } from "../domain/Comment.ts"
import { StoreError } from "../domain/Errors.ts"
import { arrayLiteral, joinList, type Scalar, toJson } from "./SqlArrays.ts"

/** Where a thread's read got to, stored with its page. */
export interface ThreadCheckpoint {
  /** Every comment of the thread up to this id is stored (moves only up). */
  readonly maxCommentId: number
  /** The thread's total as Telegram reported it with the page (undefined: keep the stored one). */
  readonly reportedCount?: number | undefined
  /** The discussion message (the thread's top in the group), when known. */
  readonly discussionMsgId?: number | null | undefined
  /** When the read was made (stamps `read_at`; undefined leaves it: a live comment is no read of the thread). */
  readonly readAt?: Date | undefined
}

export interface StoredThread {
  /** Comments of the page that were new. */
  readonly inserted: number
  /** Comments of the page whose content or reactions changed. */
  readonly updated: number
  /** The thread's checkpoint after the statement. */
  readonly maxCommentId: number
}

export class CommentRepo extends Context.Service<CommentRepo, {
  /**
   * The channel's discussion group as last read: `Some(null)` when it has none, `None` when never read. Also the
   * group's id of a channel whose group changed is the new one.
   */
  linkedGroup(channelId: number): Effect.Effect<Option.Option<number | null>, StoreError>
  /** Records the channel's discussion group (null: none), read now. The group's own row must exist already. */
  setLinkedGroup(channelId: number, groupId: number | null): Effect.Effect<void, StoreError>
  /**
   * The posts of `channelId` (not deleted) that have replies, or carry a reply count (their channel has a group) and
   * are dated at or after `sinceSec` (UNIX), each with its thread's state.
   */
  threads(channelId: number, sinceSec: number): Effect.Effect<ReadonlyArray<ThreadState>, StoreError>
  /** Marks the threads of these posts looked at, at `at` (a probe found nothing new); their checkpoints stay. */
  markLooked(
    channelId: number,
    groupId: number,
    postIds: ReadonlyArray<number>,
    at: Date,
  ): Effect.Effect<void, StoreError>
  /**
   * Stores comments of post `postId` and the thread's checkpoint in ONE statement: new comments inserted, changed ones
   * updated, identical ones untouched (idempotent); the checkpoint only moves up (`greatest`), `comments_stored`
   * grows by the rows inserted. With no comments it stores the checkpoint alone (a read that found nothing new).
   */
  storeThread(
    channelId: number,
    postId: number,
    groupId: number,
    comments: ReadonlyArray<Comment>,
    checkpoint: ThreadCheckpoint,
  ): Effect.Effect<StoredThread, StoreError>
  /**
   * Stores comments of group `groupId` (discussing `channelId`) that came live, each under the post its thread belongs
   * to: the post whose discussion message it answers, or that of the comment it answers (stored, or earlier in
   * `comments`). `discussions` (the group's automatic forwards of new posts) are recorded first. A comment whose thread
   * is unknown is left to the next read of the post (counted in `unknown`). No thread checkpoint moves: a comment
   * pushed live says nothing of the ones before it. Stored raw entities stay when the live comment has none.
   */
  storeLive(
    groupId: number,
    channelId: number,
    discussions: ReadonlyArray<{ readonly msgId: number; readonly postId: number }>,
    comments: ReadonlyArray<Comment>,
  ): Effect.Effect<{ readonly inserted: number; readonly unknown: number }, StoreError>
  /** The post whose discussion message in group `groupId` is `discussionMsgId`, when a read has seen it. */
  threadOf(
    groupId: number,
    discussionMsgId: number,
  ): Effect.Effect<Option.Option<{ readonly channelId: number; readonly postId: number }>, StoreError>
  /** The channels whose discussion group is `groupId`. */
  channelsOfGroup(groupId: number): Effect.Effect<ReadonlyArray<number>, StoreError>
  /** The newest `limit` comments of a post, newest first. */
  newest(
    channelId: number,
    postId: number,
    limit: number,
  ): Effect.Effect<
    ReadonlyArray<{ readonly commentId: number; readonly author: string | null; readonly text: string }>,
    StoreError
  >
  /** Comments stored per post of `channelId` (posts with none left out). */
  countsByPost(channelId: number): Effect.Effect<ReadonlyMap<number, number>, StoreError>
}>()("tgpulse/store/CommentRepo") {
  static readonly layer = Layer.effect(
    CommentRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const linkedGroup = Effect.fn("mtproto.db.CommentRepo.linkedGroup")(
        function* (channelId: number) {
          const rows = yield* sql<{ linked_chat_id: string | null; linked_read_at: Date | null }>`
            SELECT linked_chat_id::text AS linked_chat_id, linked_read_at FROM channels WHERE id = ${channelId}::int8`
          const row = rows[0]
          if (!row || row.linked_read_at === null) return Option.none()
          return Option.some(row.linked_chat_id === null ? null : Number(row.linked_chat_id))
        },
        StoreError.mapError("CommentRepo.linkedGroup"),
      )

      const setLinkedGroup = Effect.fn("mtproto.db.CommentRepo.setLinkedGroup")(
        function* (channelId: number, groupId: number | null) {
          yield* sql`UPDATE channels SET linked_chat_id = ${groupId}::int8, linked_read_at = now()
            WHERE id = ${channelId}::int8`
        },
        StoreError.mapError("CommentRepo.setLinkedGroup"),
      )

      const threads = Effect.fn("mtproto.db.CommentRepo.threads")(
        function* (channelId: number, sinceSec: number) {
          const rows = yield* sql<
            { msg_id: number; date: number; replies: number | null; stored: number; max_id: number; read_at: number }
          >`
            SELECT p.msg_id, date_part('epoch', p.date)::float8 AS date, p.replies,
              coalesce(t.comments_stored, 0) AS stored, coalesce(t.max_comment_id, 0) AS max_id,
              date_part('epoch', t.read_at)::float8 AS read_at
            FROM posts p LEFT JOIN comment_threads t ON t.channel_id = p.channel_id AND t.post_id = p.msg_id
            WHERE p.channel_id = ${channelId}::int8 AND p.deleted_at IS NULL AND NOT p.is_service
              AND (p.replies > 0 OR (p.replies IS NOT NULL AND p.date >= to_timestamp(${sinceSec}::int8)))
            ORDER BY p.msg_id`
          return rows.map((r): ThreadState => ({
            postId: r.msg_id,
            postDate: Number(r.date),
            replies: r.replies,
            stored: r.stored,
            maxCommentId: r.max_id,
            readAt: r.read_at === null ? undefined : Number(r.read_at),
          }))
        },
        StoreError.mapError("CommentRepo.threads"),
      )

      /** See storeThread; `live` keeps stored raw entities where the comment has none. */
      const writeThread = (
        channelId: number,
        postId: number,
        groupId: number,
        comments: ReadonlyArray<Comment>,
        checkpoint: ThreadCheckpoint,
        live: boolean,
      ) =>
        Effect.gen(function* () {
          const byId = new Map(comments.map((c) => [c.commentId, c]))
          const page = [...byId.values()].sort((a, b) => a.commentId - b.commentId)
          const col = <A extends Scalar>(f: (c: Comment) => A) => arrayLiteral(page.map(f))
          const json = (f: (c: Comment) => unknown) => arrayLiteral(page.map((c) => toJson(f(c))))
          const list = (f: (c: Comment) => ReadonlyArray<string>) => arrayLiteral(page.map((c) => joinList(f(c))))
          const [row] = yield* sql<{ inserted: number; updated: number; max_comment_id: number }>`
            WITH input AS (
              SELECT * FROM unnest(
                ${col((c) => c.commentId)}::int4[], ${col((c) => c.author)}::text[], ${col((c) => c.date)}::int8[],
                ${col((c) => c.text)}::text[], ${list((c) => c.links)}::text[], ${list((c) => c.mentions)}::text[],
                ${list((c) => c.hashtags)}::text[], ${json((c) => c.entities)}::jsonb[],
                ${col((c) => c.mediaKind)}::text[], ${col((c) => c.replyTo)}::int4[],
                ${json((c) => c.reactions)}::jsonb[], ${col((c) => c.reactionsTotal)}::int4[],
                ${col((c) => c.editDate)}::int8[]
              ) AS u(comment_id, author, date, text, links, mentions, hashtags, entities, media_kind, reply_to,
                reactions, reactions_total, edit_date)
            ),
            upserted AS (
              INSERT INTO comments AS c (
                channel_id, post_id, comment_id, group_id, author, date, text, links, mentions, hashtags, entities,
                media_kind, reply_to, reactions, reactions_total, edit_date
              )
              SELECT ${channelId}::int8, ${postId}::int4, u.comment_id, ${groupId}::int8, u.author,
                to_timestamp(u.date), u.text, string_to_array(u.links, chr(31)), string_to_array(u.mentions, chr(31)),
                string_to_array(u.hashtags, chr(31)), u.entities, u.media_kind, u.reply_to, u.reactions,
                u.reactions_total, to_timestamp(u.edit_date)
              FROM input u ORDER BY u.comment_id
              ON CONFLICT (channel_id, post_id, comment_id) DO UPDATE SET
                group_id = excluded.group_id, author = excluded.author, text = excluded.text, links = excluded.links,
                mentions = excluded.mentions, hashtags = excluded.hashtags,
                entities = CASE WHEN ${live}::bool AND excluded.entities = '[]'::jsonb THEN c.entities
                  ELSE excluded.entities END,
                media_kind = excluded.media_kind, reply_to = excluded.reply_to, reactions = excluded.reactions,
                reactions_total = excluded.reactions_total, edit_date = excluded.edit_date, updated_at = now()
              WHERE (c.group_id, c.author, c.text, c.entities, c.media_kind, c.reply_to, c.reactions,
                c.reactions_total, c.edit_date)
                IS DISTINCT FROM (excluded.group_id, excluded.author, excluded.text,
                CASE WHEN ${live}::bool AND excluded.entities = '[]'::jsonb THEN c.entities ELSE excluded.entities END,
                excluded.media_kind, excluded.reply_to, excluded.reactions, excluded.reactions_total,
                excluded.edit_date)
              RETURNING (c.xmax = 0) AS inserted
            ),
            thread AS (
              INSERT INTO comment_threads AS t (
                channel_id, post_id, group_id, discussion_msg_id, max_comment_id, comments_stored, reported_count,
                read_at
              )
              VALUES (
                ${channelId}::int8, ${postId}::int4, ${groupId}::int8, ${checkpoint.discussionMsgId ?? null}::int4,
                ${checkpoint.maxCommentId}::int4, (SELECT count(*) FROM upserted WHERE inserted)::int4,
                ${checkpoint.reportedCount ?? null}::int4, ${checkpoint.readAt ?? null}::timestamptz
              )
              ON CONFLICT (channel_id, post_id) DO UPDATE SET
                group_id = excluded.group_id,
                discussion_msg_id = coalesce(excluded.discussion_msg_id, t.discussion_msg_id),
                max_comment_id = greatest(t.max_comment_id, excluded.max_comment_id),
                comments_stored = t.comments_stored + excluded.comments_stored,
                reported_count = coalesce(excluded.reported_count, t.reported_count),
                read_at = coalesce(excluded.read_at, t.read_at),
                updated_at = now()
              RETURNING t.max_comment_id
            )
            SELECT
              (SELECT count(*) FROM upserted WHERE inserted)::int4 AS inserted,
              (SELECT count(*) FROM upserted WHERE NOT inserted)::int4 AS updated,
              (SELECT max_comment_id FROM thread) AS max_comment_id`
          return {
            inserted: row?.inserted ?? 0,
            updated: row?.updated ?? 0,
            maxCommentId: row?.max_comment_id ?? checkpoint.maxCommentId,
          }
        })

      const storeThread = Effect.fn("mtproto.db.CommentRepo.storeThread")(
        (
          channelId: number,
          postId: number,
          groupId: number,
          comments: ReadonlyArray<Comment>,
          checkpoint: ThreadCheckpoint,
        ) => writeThread(channelId, postId, groupId, comments, checkpoint, false),
        StoreError.mapError("CommentRepo.storeThread"),
      )

      const storeLive = Effect.fn("mtproto.db.CommentRepo.storeLive")(
        function* (
          groupId: number,
          channelId: number,
          discussions: ReadonlyArray<{ readonly msgId: number; readonly postId: number }>,
          comments: ReadonlyArray<Comment>,
        ) {
          for (const d of discussions) {
            yield* writeThread(channelId, d.postId, groupId, [], { maxCommentId: 0, discussionMsgId: d.msgId }, true)
          }
          const answered = [...new Set(comments.flatMap((c) => (c.replyTo === null ? [] : [c.replyTo])))]
          if (answered.length === 0) return { inserted: 0, unknown: comments.length }
          const rows = yield* sql<{ id: number; post_id: number }>`
            SELECT discussion_msg_id AS id, post_id FROM comment_threads
            WHERE group_id = ${groupId}::int8 AND channel_id = ${channelId}::int8
              AND discussion_msg_id = ANY(${arrayLiteral(answered)}::int4[])
            UNION ALL
            SELECT comment_id AS id, post_id FROM comments
            WHERE group_id = ${groupId}::int8 AND channel_id = ${channelId}::int8
              AND comment_id = ANY(${arrayLiteral(answered)}::int4[])`
          const postOf = new Map(rows.map((r) => [r.id, r.post_id]))
          const byPost = new Map<number, Array<Comment>>()
          let unknown = 0
          for (const c of [...comments].sort((a, b) => a.commentId - b.commentId)) {
            const postId = c.replyTo === null ? undefined : postOf.get(c.replyTo)
            if (postId === undefined) {
              unknown++
              continue
            }
            postOf.set(c.commentId, postId)
            byPost.set(postId, [...(byPost.get(postId) ?? []), c])
          }
          let inserted = 0
          for (const [postId, list] of byPost) {
            inserted += (yield* writeThread(channelId, postId, groupId, list, { maxCommentId: 0 }, true)).inserted
          }
          return { inserted, unknown }
        },
        StoreError.mapError("CommentRepo.storeLive"),
      )

      const markLooked = Effect.fn("mtproto.db.CommentRepo.markLooked")(
        function* (channelId: number, groupId: number, postIds: ReadonlyArray<number>, at: Date) {
          if (postIds.length === 0) return
          yield* sql`
            INSERT INTO comment_threads AS t (channel_id, post_id, group_id, read_at)
            SELECT ${channelId}::int8, id, ${groupId}::int8, ${at}::timestamptz
            FROM unnest(${arrayLiteral(postIds)}::int4[]) AS id ORDER BY id
            ON CONFLICT (channel_id, post_id) DO UPDATE SET read_at = excluded.read_at, updated_at = now()`
        },
        StoreError.mapError("CommentRepo.markLooked"),
      )

      const threadOf = Effect.fn("mtproto.db.CommentRepo.threadOf")(
        function* (groupId: number, discussionMsgId: number) {
          const rows = yield* sql<{ channel_id: string; post_id: number }>`
            SELECT channel_id::text AS channel_id, post_id FROM comment_threads
            WHERE group_id = ${groupId}::int8 AND discussion_msg_id = ${discussionMsgId}::int4 LIMIT 1`
          const row = rows[0]
          return row ? Option.some({ channelId: Number(row.channel_id), postId: row.post_id }) : Option.none()
        },
        StoreError.mapError("CommentRepo.threadOf"),
      )

      const channelsOfGroup = Effect.fn("mtproto.db.CommentRepo.channelsOfGroup")(
        function* (groupId: number) {
          const rows = yield* sql<{ id: string }>`
            SELECT id::text AS id FROM channels WHERE linked_chat_id = ${groupId}::int8 ORDER BY id`
          return rows.map((r) => Number(r.id))
        },
        StoreError.mapError("CommentRepo.channelsOfGroup"),
      )

      const countsByPost = Effect.fn("mtproto.db.CommentRepo.countsByPost")(
        function* (channelId: number) {
          const rows = yield* sql<{ post_id: number; n: number }>`
            SELECT post_id, count(*)::int4 AS n FROM comments WHERE channel_id = ${channelId}::int8 GROUP BY post_id`
          return new Map(rows.map((r) => [r.post_id, r.n]))
        },
        StoreError.mapError("CommentRepo.countsByPost"),
      )

      const newest = Effect.fn("mtproto.db.CommentRepo.newest")(
        function* (channelId: number, postId: number, limit: number) {
          return yield* sql<{ commentId: number; author: string | null; text: string }>`
            SELECT comment_id AS "commentId", author, text FROM comments
            WHERE channel_id = ${channelId}::int8 AND post_id = ${postId}::int4
            ORDER BY comment_id DESC LIMIT ${limit}::int4`
        },
        StoreError.mapError("CommentRepo.newest"),
      )

      return CommentRepo.of({
        newest,
        linkedGroup,
        setLinkedGroup,
        threads,
        storeThread,
        storeLive,
        markLooked,
        threadOf,
        channelsOfGroup,
        countsByPost,
      })
    }),
  )
}
