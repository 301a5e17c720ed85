/** Migration 1: channels, posts, post_metrics and checkpoints (never edited once landed: changes are new files). */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE channels (
      id bigint PRIMARY KEY,
      access_hash bigint,
      username text,
      title text NOT NULL DEFAULT '',
      kind text NOT NULL DEFAULT 'broadcast' CHECK (kind IN ('broadcast', 'megagroup')),
      about text,
      participants_count integer,
      stats_dc integer,
      can_view_stats boolean,
      resolved_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE UNIQUE INDEX channels_username_key ON channels (lower(username)) WHERE username IS NOT NULL`
  yield* sql`
    CREATE TABLE posts (
      channel_id bigint NOT NULL REFERENCES channels (id),
      msg_id integer NOT NULL,
      date timestamptz NOT NULL,
      text text NOT NULL,
      links text[] NOT NULL DEFAULT '{}',
      mentions text[] NOT NULL DEFAULT '{}',
      hashtags text[] NOT NULL DEFAULT '{}',
      media_kind text NOT NULL,
      grouped_id bigint,
      post_author text,
      from_id text,
      fwd_from_channel_id bigint,
      fwd_from_msg_id integer,
      fwd_date timestamptz,
      fwd_from_name text,
      reply_to_msg_id integer,
      replies integer,
      views integer,
      forwards integer,
      reactions jsonb NOT NULL DEFAULT '{}',
      reactions_total integer NOT NULL DEFAULT 0,
      edit_date timestamptz,
      content_hash text NOT NULL,
      is_service boolean NOT NULL DEFAULT false,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      content_changed_at timestamptz,
      metrics_changed_at timestamptz,
      deleted_at timestamptz,
      PRIMARY KEY (channel_id, msg_id)
    )`
  yield* sql`CREATE INDEX posts_channel_date_idx ON posts (channel_id, date DESC)`
  yield* sql`CREATE INDEX posts_hashtags_idx ON posts USING gin (hashtags)`
  yield* sql`
    CREATE TABLE post_metrics (
      channel_id bigint NOT NULL,
      msg_id integer NOT NULL,
      taken_at timestamptz NOT NULL,
      views integer,
      forwards integer,
      replies integer,
      reactions_total integer NOT NULL DEFAULT 0,
      reactions jsonb NOT NULL DEFAULT '{}',
      PRIMARY KEY (channel_id, msg_id, taken_at),
      FOREIGN KEY (channel_id, msg_id) REFERENCES posts ON DELETE CASCADE
    )`
  yield* sql`
    CREATE TABLE checkpoints (
      channel_id bigint NOT NULL REFERENCES channels (id),
      stream text NOT NULL,
      cursor jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, stream)
    )`
})
