/**
 * Migration 9: comments (the discussion-group messages under channel posts), each post's thread checkpoint, and the
 * channel's linked discussion group.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // The discussion group Telegram links to a broadcast channel (channelFull.linked_chat_id), and when it was read:
  // NULL linked_chat_id with a linked_read_at means the channel has no group.
  yield* sql`ALTER TABLE channels ADD COLUMN linked_chat_id bigint, ADD COLUMN linked_read_at timestamptz`
  yield* sql`
    CREATE TABLE comments (
      channel_id bigint NOT NULL REFERENCES channels (id),
      post_id integer NOT NULL,
      comment_id integer NOT NULL,
      group_id bigint NOT NULL,
      author text,
      date timestamptz NOT NULL,
      text text NOT NULL,
      links text[] NOT NULL DEFAULT '{}',
      mentions text[] NOT NULL DEFAULT '{}',
      hashtags text[] NOT NULL DEFAULT '{}',
      entities jsonb NOT NULL DEFAULT '[]',
      media_kind text NOT NULL DEFAULT 'none',
      reply_to integer,
      reactions jsonb NOT NULL DEFAULT '{}',
      reactions_total integer NOT NULL DEFAULT 0,
      edit_date timestamptz,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, post_id, comment_id)
    )`
  yield* sql`CREATE INDEX comments_date_idx ON comments (channel_id, date DESC)`
  // One checkpoint stream per post: every comment of the thread with an id up to max_comment_id is stored.
  yield* sql`
    CREATE TABLE comment_threads (
      channel_id bigint NOT NULL REFERENCES channels (id),
      post_id integer NOT NULL,
      group_id bigint,
      discussion_msg_id integer,
      max_comment_id integer NOT NULL DEFAULT 0,
      comments_stored integer NOT NULL DEFAULT 0,
      reported_count integer,
      read_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, post_id)
    )`
  yield* sql`CREATE INDEX comment_threads_discussion_idx ON comment_threads (group_id, discussion_msg_id)`
})
