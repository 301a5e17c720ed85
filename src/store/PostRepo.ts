/** Posts and their metric snapshots in SQL: idempotent page upserts, counters and deletions; no Telegram here. */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"
import type { CounterChange, Post } from "../domain/Post.ts"
import { arrayLiteral, joinList, type Scalar, toJson } from "./SqlArrays.ts"

/** What one `upsertPage` did; `inserted + updated + unchanged` is the page size. */
export interface UpsertCounts {
  /** The `checkpoint` column of the row the `also` statement returned; undefined when it returned none (or no `also`). */
  readonly checkpoint?: unknown
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
  /** Updated posts whose `contentHash` changed (an edit of text or media, not a reaction or a view). */
  readonly contentChanged: number
  /** `post_metrics` rows written: one per inserted post and per post whose views/forwards/replies/reactions moved. */
  readonly snapshots: number
}

export class PostRepo extends Context.Service<PostRepo, {
  /**
   * Stores one page of `channelId`'s posts in ONE statement (one round trip): new posts are inserted, changed ones
   * updated, identical ones left untouched (not rewritten). A metric snapshot taken at `takenAt` is written for each
   * inserted post and each post whose views, forwards, replies or reactions changed. Idempotent: replaying a page
   * changes nothing. A post seen again clears its `deleted_at`, unless it was deleted after the page was read from
   * Telegram (`fetchedAt`, default `takenAt`): a page that was in flight while the deletion came in never brings the
   * post back. Runs in the caller's transaction, if any; the channel MUST exist. `checkpoint`, a data-modifying
   * statement (the checkpoint this page reaches), runs as part of the same statement, so both commit or neither does,
   * in one round trip; with no posts, it runs alone. It must end in `RETURNING ... AS checkpoint` (at most one row):
   * that value comes back as `checkpoint`.
   */
  upsertPage(
    channelId: number,
    posts: ReadonlyArray<Post>,
    takenAt: Date,
    options?: { readonly checkpoint?: Statement.Fragment; readonly fetchedAt?: Date },
  ): Effect.Effect<UpsertCounts, StoreError>
  /**
   * New counters of stored posts (a field left undefined keeps its value): rows change only where a value differs,
   * and each changed post gets a `post_metrics` snapshot at `takenAt`. Posts not stored are left alone. Returns the
   * number of posts changed.
   */
  applyMetrics(
    channelId: number,
    changes: ReadonlyArray<CounterChange>,
    takenAt: Date,
  ): Effect.Effect<number, StoreError>
  /** Live posts dated at or after `sinceSec` (UNIX) with when their counters were last refreshed (UNIX s). */
  refreshCandidates(
    channelId: number,
    sinceSec: number,
  ): Effect.Effect<ReadonlyArray<{ msgId: number; date: number; refreshedAt: number | undefined }>, StoreError>
  /**
   * Fresh counters of stored posts, fetched at `takenAt`: each post's row is updated where a value changed, its
   * refresh time set, and a `post_metrics` snapshot written for every one (changed or not). Returns the posts stored.
   */
  recordRefresh(
    channelId: number,
    counters: ReadonlyArray<CounterChange>,
    takenAt: Date,
  ): Effect.Effect<number, StoreError>
  /**
   * Marks posts deleted at `at` (those not already deleted) and records the deletion for posts not stored yet;
   * returns how many were marked.
   */
  markDeleted(channelId: number, msgIds: ReadonlyArray<number>, at: Date): Effect.Effect<number, StoreError>
  /**
   * Marks deleted those of `msgIds` that a recorded deletion newer than their stored content should have hidden;
   * returns how many. Call it after the write of those posts or deletions COMMITTED: a page and a deletion committed
   * at the same time (READ COMMITTED) may each miss the other, as neither statement sees the other's uncommitted
   * rows; whichever settles last sees both.
   */
  settleDeletions(channelId: number, msgIds: ReadonlyArray<number>): Effect.Effect<number, StoreError>
  /** The highest stored message id, deleted posts included. */
  maxMsgId(channelId: number): Effect.Effect<Option.Option<number>, StoreError>
}>()("tgpulse/store/PostRepo") {
  static readonly layer = Layer.effect(
    PostRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const upsertPage = Effect.fn("mtproto.db.PostRepo.upsertPage")(
        function* (
          channelId: number,
          posts: ReadonlyArray<Post>,
          takenAt: Date,
          options: { readonly checkpoint?: Statement.Fragment; readonly fetchedAt?: Date } = {},
        ) {
          const also = options.checkpoint
          const readAt = options.fetchedAt ?? takenAt
          // A deletion recorded after the page was read stands (the post's or, not stored yet, in post_deletions); an
          // older one is undone by the post being there.
          const deletedAt = sql`CASE WHEN p.deleted_at > ${readAt} THEN p.deleted_at ELSE excluded.deleted_at END`
          // The content of a page read before the stored version does not undo it: an older edit_date (or none), or
          // the same one (two edits within a second) and read before the stored content was.
          const older = sql`(${sql.literal(OLDER_EDIT)} OR (
            p.edit_date IS NOT DISTINCT FROM excluded.edit_date AND p.content_read_at > ${readAt}::timestamptz
          ))`
          const newest = (column: string) =>
            sql`CASE WHEN ${older} THEN p.${sql(column)} ELSE excluded.${sql(column)} END`
          if (posts.length === 0) {
            const rows = also ? yield* sql<{ checkpoint?: unknown }>`${also}` : []
            return { inserted: 0, updated: 0, unchanged: 0, contentChanged: 0, snapshots: 0, ...checkpointOf(rows[0]) }
          }
          const page = dedupe(posts)
          const col = <A extends Scalar>(f: (p: Post) => A) => arrayLiteral(page.map(f))
          const json = (f: (p: Post) => unknown) => arrayLiteral(page.map((p) => toJson(f(p))))
          const list = (f: (p: Post) => ReadonlyArray<string>) => arrayLiteral(page.map((p) => joinList(f(p))))
          // No join with the stored rows: whether content or metrics changed is stamped by this very statement
          // (`*_changed_at = now()`, the transaction's time), so the plan never depends on the table's size.
          const [row] = yield* sql<
            { inserted: number; updated: number; content_changed: number; snapshots: number; checkpoint?: unknown }
          >`
            WITH input AS (
              SELECT u.*, CASE WHEN d.deleted_at > ${readAt} THEN d.deleted_at END AS deleted_at FROM unnest(
                ${col((p) => p.msgId)}::int4[], ${col((p) => p.date)}::int8[], ${col((p) => p.text)}::text[],
                ${list((p) => p.links)}::text[], ${list((p) => p.mentions)}::text[],
                ${list((p) => p.hashtags)}::text[], ${col((p) => p.mediaKind)}::text[],
                ${col((p) => p.groupedId)}::int8[], ${col((p) => p.postAuthor)}::text[],
                ${col((p) => p.fromId)}::text[], ${col((p) => p.fwdFromChannelId)}::int8[],
                ${col((p) => p.fwdFromMsgId)}::int4[], ${col((p) => p.fwdDate)}::int8[],
                ${col((p) => p.fwdFromName)}::text[], ${col((p) => p.replyToMsgId)}::int4[],
                ${col((p) => p.replies)}::int4[], ${col((p) => p.views)}::int4[], ${col((p) => p.forwards)}::int4[],
                ${json((p) => p.reactions)}::jsonb[], ${col((p) => p.reactionsTotal)}::int4[],
                ${col((p) => p.editDate)}::int8[], ${col((p) => p.contentHash)}::text[],
                ${col((p) => p.isService)}::bool[], ${col((p) => p.entities)}::text[],
                ${col((p) => p.mediaIdentity)}::text[]
              ) AS u(
                msg_id, date, text, links, mentions, hashtags, media_kind, grouped_id, post_author, from_id,
                fwd_from_channel_id, fwd_from_msg_id, fwd_date, fwd_from_name, reply_to_msg_id, replies, views,
                forwards, reactions, reactions_total, edit_date, content_hash, is_service, entities, media_identity
              ) LEFT JOIN post_deletions d ON d.channel_id = ${channelId}::int8 AND d.msg_id = u.msg_id
            ),
            upserted AS (
              INSERT INTO posts AS p (
                channel_id, msg_id, date, text, links, mentions, hashtags, media_kind, grouped_id, post_author,
                from_id, fwd_from_channel_id, fwd_from_msg_id, fwd_date, fwd_from_name, reply_to_msg_id, replies,
                views, forwards, reactions, reactions_total, edit_date, content_hash, is_service, metrics_changed_at,
                deleted_at, content_read_at, entities, media_identity
              )
              SELECT
                ${channelId}::int8, u.msg_id, to_timestamp(u.date), u.text, string_to_array(u.links, chr(31)),
                string_to_array(u.mentions, chr(31)), string_to_array(u.hashtags, chr(31)), u.media_kind,
                u.grouped_id, u.post_author, u.from_id, u.fwd_from_channel_id, u.fwd_from_msg_id,
                to_timestamp(u.fwd_date), u.fwd_from_name, u.reply_to_msg_id, u.replies, u.views, u.forwards,
                u.reactions, u.reactions_total, to_timestamp(u.edit_date), u.content_hash, u.is_service, now(),
                u.deleted_at, ${readAt}::timestamptz, u.entities, u.media_identity
              FROM input u
              -- Rows in ascending id order: two statements writing the same posts (a history page and a live batch)
              -- take their row locks in the same order, so they wait for each other instead of deadlocking.
              ORDER BY u.msg_id
              ON CONFLICT (channel_id, msg_id) DO UPDATE SET
                date = excluded.date, text = ${newest("text")}, links = ${newest("links")},
                mentions = ${newest("mentions")}, hashtags = ${newest("hashtags")},
                media_kind = ${newest("media_kind")}, grouped_id = excluded.grouped_id,
                post_author = excluded.post_author, from_id = excluded.from_id,
                fwd_from_channel_id = excluded.fwd_from_channel_id, fwd_from_msg_id = excluded.fwd_from_msg_id,
                fwd_date = excluded.fwd_date, fwd_from_name = excluded.fwd_from_name,
                reply_to_msg_id = excluded.reply_to_msg_id, replies = excluded.replies, views = excluded.views,
                forwards = excluded.forwards, reactions = excluded.reactions,
                reactions_total = excluded.reactions_total, edit_date = ${newest("edit_date")},
                content_hash = ${newest("content_hash")}, entities = ${newest("entities")},
                media_identity = ${
            newest("media_identity")
          }, is_service = excluded.is_service, deleted_at = ${deletedAt},
                updated_at = now(),
                content_read_at = CASE
                  WHEN ${older} THEN p.content_read_at
                  ELSE greatest(p.content_read_at, ${readAt}::timestamptz)
                END,
                content_changed_at = CASE
                  WHEN p.content_hash IS DISTINCT FROM ${newest("content_hash")} THEN now()
                  ELSE p.content_changed_at
                END,
                metrics_changed_at = CASE
                  WHEN (p.views, p.forwards, p.replies, p.reactions, p.reactions_total)
                    IS DISTINCT FROM (excluded.views, excluded.forwards, excluded.replies, excluded.reactions,
                      excluded.reactions_total)
                  THEN now()
                  ELSE p.metrics_changed_at
                END
              WHERE (
                p.date, p.text, p.links, p.mentions, p.hashtags, p.media_kind, p.grouped_id, p.post_author,
                p.from_id, p.fwd_from_channel_id, p.fwd_from_msg_id, p.fwd_date, p.fwd_from_name, p.reply_to_msg_id,
                p.replies, p.views, p.forwards, p.reactions, p.reactions_total, p.edit_date, p.content_hash,
                p.is_service, p.deleted_at, p.entities, p.media_identity
              ) IS DISTINCT FROM (
                excluded.date, ${newest("text")}, ${newest("links")}, ${newest("mentions")}, ${newest("hashtags")},
                ${newest("media_kind")}, excluded.grouped_id, excluded.post_author, excluded.from_id,
                excluded.fwd_from_channel_id, excluded.fwd_from_msg_id, excluded.fwd_date, excluded.fwd_from_name,
                excluded.reply_to_msg_id, excluded.replies, excluded.views, excluded.forwards, excluded.reactions,
                excluded.reactions_total, ${newest("edit_date")}, ${newest("content_hash")}, excluded.is_service,
                ${deletedAt}, ${newest("entities")}, ${newest("media_identity")}
              )
              RETURNING
                p.msg_id, (p.xmax = 0) AS inserted, (p.content_changed_at = now()) IS TRUE AS content_changed,
                (p.metrics_changed_at = now()) IS TRUE AS snapshot, p.views, p.forwards, p.replies, p.reactions,
                p.reactions_total
            ),
            snapshots AS (
              INSERT INTO post_metrics (channel_id, msg_id, taken_at, views, forwards, replies, reactions_total, reactions)
              SELECT ${channelId}::int8, c.msg_id, ${takenAt}, c.views, c.forwards, c.replies, c.reactions_total,
                c.reactions
              FROM upserted c WHERE c.snapshot
              ON CONFLICT DO NOTHING
              RETURNING 1
            )${also ? sql`, also AS (${also})` : sql.literal("")}
            SELECT
              count(*) FILTER (WHERE inserted)::int4 AS inserted,
              count(*) FILTER (WHERE NOT inserted)::int4 AS updated,
              count(*) FILTER (WHERE content_changed)::int4 AS content_changed,
              (SELECT count(*) FROM snapshots)::int4 AS snapshots${
            also ? sql`, (SELECT checkpoint FROM also LIMIT 1) AS checkpoint` : sql.literal("")
          }
            FROM upserted`
          const inserted = row?.inserted ?? 0
          const updated = row?.updated ?? 0
          return {
            inserted,
            updated,
            unchanged: posts.length - inserted - updated,
            contentChanged: row?.content_changed ?? 0,
            snapshots: row?.snapshots ?? 0,
            ...checkpointOf(row),
          }
        },
        StoreError.mapError("PostRepo.upsertPage"),
      )

      /** `input AS (...)`: one row per post (later values of a field win), absent fields NULL. */
      const metricsInput = (changes: ReadonlyArray<CounterChange>) => {
        const byId = new Map<number, CounterChange>()
        for (const c of changes) {
          const before = byId.get(c.msgId)
          const defined = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined))
          byId.set(c.msgId, before ? { ...before, ...defined } : c)
        }
        const list = [...byId.values()]
        const col = (f: (c: CounterChange) => Scalar | undefined) => arrayLiteral(list.map((c) => f(c) ?? null))
        return sql`input AS (
          SELECT * FROM unnest(
            ${col((c) => c.msgId)}::int4[], ${col((c) => c.views)}::int4[], ${col((c) => c.forwards)}::int4[],
            ${col((c) => c.replies)}::int4[],
            ${col((c) => (c.reactions === undefined ? null : toJson(c.reactions)))}::jsonb[],
            ${col((c) => c.reactionsTotal)}::int4[]
          ) AS u(msg_id, views, forwards, replies, reactions, reactions_total)
        )`
      }

      /**
       * New counters of stored posts at `takenAt`. A live change (`refresh` false) touches only posts whose values
       * differ and snapshots those; a refresh touches every post, stamps its refresh time and snapshots every one.
       */
      const writeCounters = (
        channelId: number,
        changes: ReadonlyArray<CounterChange>,
        takenAt: Date,
        refresh: boolean,
      ) =>
        Effect.gen(function* () {
          if (changes.length === 0) return 0
          const distinct = sql`(p.views, p.forwards, p.replies, p.reactions, p.reactions_total) IS DISTINCT FROM (
            coalesce(u.views, p.views), coalesce(u.forwards, p.forwards), coalesce(u.replies, p.replies),
            coalesce(u.reactions, p.reactions), coalesce(u.reactions_total, p.reactions_total)
          )`
          const rows = yield* sql<{ n: number }>`
            WITH ${metricsInput(changes)},
            changed AS (
              UPDATE posts p SET
                views = coalesce(u.views, p.views), forwards = coalesce(u.forwards, p.forwards),
                replies = coalesce(u.replies, p.replies), reactions = coalesce(u.reactions, p.reactions),
                reactions_total = coalesce(u.reactions_total, p.reactions_total),
                metrics_changed_at = CASE WHEN ${distinct} THEN ${takenAt} ELSE p.metrics_changed_at END,
                metrics_refreshed_at = CASE WHEN ${refresh}::bool THEN ${takenAt} ELSE p.metrics_refreshed_at END,
                updated_at = CASE WHEN ${distinct} THEN now() ELSE p.updated_at END
              FROM input u
              WHERE p.channel_id = ${channelId}::int8 AND p.msg_id = u.msg_id AND (${refresh}::bool OR ${distinct})
              RETURNING p.msg_id, p.views, p.forwards, p.replies, p.reactions, p.reactions_total
            ),
            snapshots AS (
              INSERT INTO post_metrics (channel_id, msg_id, taken_at, views, forwards, replies, reactions_total, reactions)
              SELECT ${channelId}::int8, c.msg_id, ${takenAt}, c.views, c.forwards, c.replies, c.reactions_total,
                c.reactions
              FROM changed c
              ON CONFLICT (channel_id, msg_id, taken_at) DO UPDATE SET
                views = excluded.views, forwards = excluded.forwards, replies = excluded.replies,
                reactions_total = excluded.reactions_total, reactions = excluded.reactions
              RETURNING 1
            )
            SELECT count(*)::int4 AS n FROM changed`
          return rows[0]?.n ?? 0
        })

      const applyMetrics = Effect.fn("mtproto.db.PostRepo.applyMetrics")(
        (channelId: number, changes: ReadonlyArray<CounterChange>, takenAt: Date) =>
          writeCounters(channelId, changes, takenAt, false),
        StoreError.mapError("PostRepo.applyMetrics"),
      )

      const recordRefresh = Effect.fn("mtproto.db.PostRepo.recordRefresh")(
        (channelId: number, counters: ReadonlyArray<CounterChange>, takenAt: Date) =>
          writeCounters(channelId, counters, takenAt, true),
        StoreError.mapError("PostRepo.recordRefresh"),
      )

      const refreshCandidates = Effect.fn("mtproto.db.PostRepo.refreshCandidates")(
        function* (channelId: number, sinceSec: number) {
          const rows = yield* sql<{ msg_id: number; date: number; refreshed_at: number | null }>`
            SELECT msg_id, date_part('epoch', date)::float8 AS date,
              date_part('epoch', metrics_refreshed_at)::float8 AS refreshed_at
            FROM posts
            WHERE channel_id = ${channelId}::int8 AND date >= to_timestamp(${sinceSec}::int8) AND deleted_at IS NULL
              AND NOT is_service
            ORDER BY msg_id`
          return rows.map((r) => ({
            msgId: r.msg_id,
            date: Number(r.date),
            refreshedAt: r.refreshed_at === null ? undefined : Number(r.refreshed_at),
          }))
        },
        StoreError.mapError("PostRepo.refreshCandidates"),
      )

      const markDeleted = Effect.fn("mtproto.db.PostRepo.markDeleted")(
        function* (channelId: number, msgIds: ReadonlyArray<number>, at: Date) {
          if (msgIds.length === 0) return 0
          const rows = yield* sql<{ msg_id: number }>`
            WITH recorded AS (
              INSERT INTO post_deletions (channel_id, msg_id, deleted_at)
              SELECT ${channelId}::int8, id, ${at} FROM unnest(${arrayLiteral(msgIds)}::int4[]) AS id
              ON CONFLICT (channel_id, msg_id) DO UPDATE
                SET deleted_at = greatest(post_deletions.deleted_at, excluded.deleted_at)
            )
            UPDATE posts SET deleted_at = ${at}, updated_at = now()
            WHERE channel_id = ${channelId}::int8 AND msg_id = ANY(${arrayLiteral(msgIds)}::int4[])
              AND deleted_at IS NULL
            RETURNING msg_id`
          return rows.length
        },
        StoreError.mapError("PostRepo.markDeleted"),
      )

      const settleDeletions = Effect.fn("mtproto.db.PostRepo.settleDeletions")(
        function* (channelId: number, msgIds: ReadonlyArray<number>) {
          if (msgIds.length === 0) return 0
          const rows = yield* sql<{ msg_id: number }>`
            UPDATE posts p SET deleted_at = d.deleted_at, updated_at = now()
            FROM post_deletions d
            WHERE d.channel_id = ${channelId}::int8 AND d.msg_id = ANY(${arrayLiteral(msgIds)}::int4[])
              AND p.channel_id = d.channel_id AND p.msg_id = d.msg_id AND p.deleted_at IS NULL
              AND (p.content_read_at IS NULL OR d.deleted_at > p.content_read_at)
            RETURNING p.msg_id`
          return rows.length
        },
        StoreError.mapError("PostRepo.settleDeletions"),
      )

      const maxMsgId = Effect.fn("mtproto.db.PostRepo.maxMsgId")(
        function* (channelId: number) {
          const [row] = yield* sql<{ max: number | null }>`
            SELECT max(msg_id) AS max FROM posts WHERE channel_id = ${channelId}::int8`
          return Option.fromNullishOr(row?.max)
        },
        StoreError.mapError("PostRepo.maxMsgId"),
      )

      return PostRepo.of({
        upsertPage,
        applyMetrics,
        refreshCandidates,
        recordRefresh,
        markDeleted,
        settleDeletions,
        maxMsgId,
      })
    }),
  )
}

/** The stored post was edited after the incoming one was (the incoming one is an older read of it). */
const OLDER_EDIT = "(p.edit_date IS NOT NULL AND (excluded.edit_date IS NULL OR excluded.edit_date < p.edit_date))"

/** One row per message id (the last one wins): ON CONFLICT cannot touch a row twice in one statement. */
function dedupe(posts: ReadonlyArray<Post>): ReadonlyArray<Post> {
  const byId = new Map<number, Post>()
  for (const post of posts) byId.set(post.msgId, post)
  return byId.size === posts.length ? posts : [...byId.values()]
}

/** The `checkpoint` a page's `also` statement returned, when it returned one. */
function checkpointOf(row: { readonly checkpoint?: unknown } | undefined): { readonly checkpoint?: unknown } {
  return row?.checkpoint === undefined || row.checkpoint === null ? {} : { checkpoint: row.checkpoint }
}
