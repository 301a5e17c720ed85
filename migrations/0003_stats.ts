/**
 * Migration 3: official statistics. `stats_raw` keeps every graph as Telegram sent it (a new row only when its
 * content changes); `channel_daily` and `channel_hourly` pivot the graphs' daily and hourly series; the scalar values
 * go to `channel_stats_values`; per post, `post_stats` pivots its views and reactions graphs and
 * `post_public_forwards` lists the public channels that reposted it.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE stats_raw (
      channel_id bigint NOT NULL REFERENCES channels (id),
      -- A graph's field name ("followers_graph"), "summary" (period and lists), or "post:<msg_id>:<graph>".
      key text NOT NULL,
      fetched_at timestamptz NOT NULL DEFAULT now(),
      kind text NOT NULL CHECK (kind IN ('graph', 'error', 'summary')),
      -- The graph's JSON exactly as sent (malformed JSON too), or the summary as JSON.
      data text,
      -- statsGraphError's text, a failed async load, or why the JSON could not be read.
      error text,
      -- Of kind, data and error: the same content is never stored twice in a row.
      content_hash text NOT NULL,
      PRIMARY KEY (channel_id, key, fetched_at)
    )`
  yield* sql`
    CREATE TABLE channel_daily (
      channel_id bigint NOT NULL REFERENCES channels (id),
      day date NOT NULL,
      -- "<graph without _graph>.<series name lowercased, spaces as _>", e.g. "followers.joined".
      metric text NOT NULL,
      value double precision NOT NULL,
      -- When the value was last stored changed.
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, day, metric)
    )`
  yield* sql`
    CREATE TABLE channel_hourly (
      channel_id bigint NOT NULL REFERENCES channels (id),
      hour timestamptz NOT NULL,
      metric text NOT NULL,
      value double precision NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, hour, metric)
    )`
  yield* sql`
    CREATE TABLE channel_stats_values (
      channel_id bigint NOT NULL REFERENCES channels (id),
      -- The last day of the statistics period (one row per value and period end).
      day date NOT NULL,
      -- The field in snake case: "followers", "views_per_post", "enabled_notifications", ...
      name text NOT NULL,
      period_start date NOT NULL,
      -- StatsAbsValueAndPrev: current and previous; StatsPercentValue: part (as current) and total.
      current double precision NOT NULL,
      previous double precision,
      total double precision,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, day, name)
    )`
  yield* sql`
    CREATE TABLE post_stats (
      channel_id bigint NOT NULL REFERENCES channels (id),
      msg_id integer NOT NULL,
      metric text NOT NULL,
      -- The point's time (the hour or the day it counts).
      x timestamptz NOT NULL,
      granularity text NOT NULL CHECK (granularity IN ('daily', 'hourly')),
      value double precision NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, msg_id, metric, x)
    )`
  yield* sql`
    CREATE TABLE post_public_forwards (
      channel_id bigint NOT NULL REFERENCES channels (id),
      msg_id integer NOT NULL,
      -- The public channel that reposted the post, and its message.
      fwd_channel_id bigint NOT NULL,
      fwd_msg_id integer NOT NULL,
      fwd_channel_username text,
      fwd_channel_title text,
      fwd_date timestamptz NOT NULL,
      views integer,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel_id, msg_id, fwd_channel_id, fwd_msg_id)
    )`
  yield* sql`CREATE INDEX post_public_forwards_fwd_channel ON post_public_forwards (fwd_channel_id)`
})
