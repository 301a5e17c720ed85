/**
 * Migration 8: two rollups kept by statement-level triggers (transition tables), so the read API never aggregates the
 * history per request. `channel_totals`: rows that sum, per channel, to its live posts (not deleted, not service) and
 * their views (the channel list read every post: 331 ms at 1,000,000 posts; the newest post's date is one step down
 * the posts' (channel_id, date) index). `post_growth`: per post with two snapshots or more, its latest snapshot with
 * views, the time of the one before it and the first snapshot of every UTC hour, so trending ranks one row per post
 * instead of grouping every snapshot of the window (432 ms at 10,000,000 rows). Both are filled from the stored rows
 * here; migration 6's index, read by trending alone, goes.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // A channel's figures are the sum of its rows: each writing statement appends its change, so writers of one channel
  // never wait on each other (one row per channel would be locked by each until it commits: a deadlock between a
  // live batch and a refresh). Now and then the trigger folds a channel's rows into one.
  yield* sql`
    CREATE TABLE channel_totals (
      id bigserial PRIMARY KEY,
      channel_id bigint NOT NULL,
      posts bigint NOT NULL,
      views bigint NOT NULL
    )`
  yield* sql`CREATE INDEX channel_totals_channel_idx ON channel_totals (channel_id)`
  // Room left on each page: a row rewritten by every snapshot stays on its page, near its peers (read together).
  yield* sql`
    CREATE TABLE post_growth (
      channel_id bigint NOT NULL,
      msg_id integer NOT NULL,
      -- Copies of the post's date and of whether it counts (not deleted, not a service message).
      date timestamptz NOT NULL,
      live boolean NOT NULL,
      -- The latest snapshot with views, and when the one before it was taken.
      last_at timestamptz NOT NULL,
      last_views integer NOT NULL,
      prev_at timestamptz NOT NULL,
      -- The first snapshot with views of every UTC hour that has one, oldest first.
      hour_at timestamptz[] NOT NULL,
      hour_views integer[] NOT NULL,
      -- No foreign key: a deleted post's row goes with its snapshots (the trigger on post_metrics).
      PRIMARY KEY (channel_id, msg_id)
    ) WITH (fillfactor = 70)`
  // Posts with two snapshots or more since a time (prev_at), and those with snapshots after one (last_at).
  yield* sql`CREATE INDEX post_growth_prev_at_idx ON post_growth (channel_id, prev_at) WHERE live`
  yield* sql`CREATE INDEX post_growth_last_at_idx ON post_growth (channel_id, last_at) WHERE live`

  // The trigger functions run their statements that read a large table with EXECUTE, planned on each run: a plan
  // cached while the tables were small (a new database; PGlite never analyzes) would scan them whole once they grew.

  // Rebuilds the posts' rows from post_metrics (a post has one while it has two snapshots with views or more: one
  // alone never trends); also what fills the rollup after a load that bypassed the triggers (`deno task bench api`).
  yield* sql`
    CREATE FUNCTION post_growth_rebuild(cs bigint[], ms integer[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE $q$
        WITH g AS (
          SELECT k.c, k.m, a.*
          FROM (SELECT DISTINCT c, m FROM unnest($1::int8[], $2::int4[]) AS k(c, m) ORDER BY c, m) k
            CROSS JOIN LATERAL (
              -- The snapshots come in time order: the arrays are in it, their last elements the latest.
              SELECT max(taken_at) AS last_at, (array_agg(views))[count(*)] AS last_views,
                (array_agg(taken_at))[count(*) - 1] AS prev_at,
                array_agg(taken_at) FILTER (WHERE opens_hour) AS hour_at,
                array_agg(views) FILTER (WHERE opens_hour) AS hour_views
              FROM (
                SELECT taken_at, views,
                  date_trunc('hour', taken_at, 'UTC') IS DISTINCT FROM
                    lag(date_trunc('hour', taken_at, 'UTC')) OVER (ORDER BY taken_at) AS opens_hour
                FROM post_metrics
                WHERE channel_id = k.c AND msg_id = k.m AND views IS NOT NULL
                ORDER BY taken_at
              ) s
            ) a
        ), gone AS (
          DELETE FROM post_growth d USING g WHERE d.channel_id = g.c AND d.msg_id = g.m AND g.prev_at IS NULL
        )
        INSERT INTO post_growth (channel_id, msg_id, date, live, last_at, last_views, prev_at, hour_at, hour_views)
        SELECT g.c, g.m, p.date, p.deleted_at IS NULL AND NOT p.is_service, g.last_at, g.last_views, g.prev_at,
          g.hour_at, g.hour_views
        FROM g JOIN posts p ON p.channel_id = g.c AND p.msg_id = g.m
        WHERE g.prev_at IS NOT NULL
        ORDER BY g.c, g.m
        ON CONFLICT (channel_id, msg_id) DO UPDATE SET
          date = excluded.date, live = excluded.live, last_at = excluded.last_at, last_views = excluded.last_views,
          prev_at = excluded.prev_at, hour_at = excluded.hour_at, hour_views = excluded.hour_views
      $q$ USING cs, ms;
    END $$`

  // Snapshots written: a post's one new snapshot later than its latest extends its row in place, its very first one
  // needs no row; any other change (a second snapshot, several at once, one older than the latest, an edit or a
  // deletion) rebuilds the post's row.
  yield* sql`
    CREATE FUNCTION post_metrics_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      cs bigint[];
      ms integer[];
    BEGIN
      IF TG_OP = 'INSERT' THEN
        SELECT array_agg(channel_id), array_agg(msg_id) INTO cs, ms
        FROM (SELECT DISTINCT channel_id, msg_id FROM new_rows WHERE views IS NOT NULL) k;
      ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(channel_id), array_agg(msg_id) INTO cs, ms FROM (
          (SELECT channel_id, msg_id, taken_at, views FROM new_rows
           EXCEPT SELECT channel_id, msg_id, taken_at, views FROM old_rows)
          UNION
          (SELECT channel_id, msg_id, taken_at, views FROM old_rows
           EXCEPT SELECT channel_id, msg_id, taken_at, views FROM new_rows)
        ) k;
      ELSE
        SELECT array_agg(channel_id), array_agg(msg_id) INTO cs, ms
        FROM (SELECT DISTINCT channel_id, msg_id FROM old_rows) k;
      END IF;
      IF cs IS NULL THEN
        RETURN NULL;
      END IF;
      -- Writers of one post take turns on its posts row, so what follows reads every snapshot an earlier writer
      -- committed. PostRepo's statements have written the row in this transaction already: it is theirs.
      EXECUTE $q$
        SELECT FROM posts p JOIN unnest($1::int8[], $2::int4[]) AS k(c, m) ON p.channel_id = k.c AND p.msg_id = k.m
        WHERE p.xmin <> pg_current_xact_id()::xid
        ORDER BY p.channel_id, p.msg_id FOR NO KEY UPDATE OF p
      $q$ USING cs, ms;
      IF TG_OP = 'INSERT' THEN
        -- The posts left to rebuild: all but those extended in place and those with their first snapshot only.
        EXECUTE $q$
          WITH n AS (
            SELECT channel_id, msg_id, count(*) AS k, max(taken_at) AS taken_at, max(views) AS views FROM new_rows
            WHERE views IS NOT NULL GROUP BY channel_id, msg_id
          ), extended AS (
            UPDATE post_growth g SET
              prev_at = g.last_at, last_at = n.taken_at, last_views = n.views,
              hour_at = CASE WHEN date_trunc('hour', n.taken_at, 'UTC') > date_trunc('hour', g.last_at, 'UTC')
                THEN g.hour_at || n.taken_at ELSE g.hour_at END,
              hour_views = CASE WHEN date_trunc('hour', n.taken_at, 'UTC') > date_trunc('hour', g.last_at, 'UTC')
                THEN g.hour_views || n.views ELSE g.hour_views END
            FROM n
            WHERE g.channel_id = n.channel_id AND g.msg_id = n.msg_id AND n.k = 1 AND n.taken_at > g.last_at
            RETURNING g.channel_id, g.msg_id
          )
          SELECT array_agg(n.channel_id), array_agg(n.msg_id) FROM n
          WHERE NOT EXISTS (SELECT FROM extended e WHERE e.channel_id = n.channel_id AND e.msg_id = n.msg_id)
            AND NOT (
              n.k = 1
              AND NOT EXISTS (SELECT FROM post_growth g WHERE g.channel_id = n.channel_id AND g.msg_id = n.msg_id)
              AND NOT EXISTS (
                SELECT FROM post_metrics m
                WHERE m.channel_id = n.channel_id AND m.msg_id = n.msg_id AND m.taken_at <> n.taken_at
                  AND m.views IS NOT NULL
              )
            )
        $q$ INTO cs, ms;
      END IF;
      IF cs IS NOT NULL THEN
        PERFORM post_growth_rebuild(cs, ms);
      END IF;
      RETURN NULL;
    END $$`

  // Posts written: each channel's change in live posts and their views is appended (its rows are folded into one when
  // an appended id is a multiple of 32, by one writer at a time); the copies in post_growth follow the posts.
  yield* sql`
    CREATE FUNCTION posts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      cs bigint[];
      ns bigint[];
      vs bigint[];
      fold bigint[];
      folded bigint;
    BEGIN
      IF TG_OP = 'INSERT' THEN
        SELECT array_agg(channel_id), array_agg(n), array_agg(v) INTO cs, ns, vs
        FROM (SELECT channel_id, count(*) AS n, coalesce(sum(views), 0) AS v FROM new_rows
              WHERE deleted_at IS NULL AND NOT is_service GROUP BY channel_id) d;
      ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(channel_id), array_agg(n), array_agg(v) INTO cs, ns, vs
        FROM (SELECT channel_id, sum(sign) AS n, coalesce(sum(sign * views), 0) AS v
              FROM (SELECT channel_id, 1 AS sign, views FROM new_rows WHERE deleted_at IS NULL AND NOT is_service
                    UNION ALL
                    SELECT channel_id, -1, views FROM old_rows WHERE deleted_at IS NULL AND NOT is_service) x
              GROUP BY channel_id
              HAVING sum(sign) <> 0 OR coalesce(sum(sign * views), 0) <> 0) d;
        -- Posts whose date or liveness changed (rarely any): their copies in post_growth.
        IF EXISTS (
          SELECT channel_id, msg_id, date, deleted_at IS NULL AND NOT is_service FROM new_rows
          EXCEPT SELECT channel_id, msg_id, date, deleted_at IS NULL AND NOT is_service FROM old_rows
        ) THEN
          EXECUTE $q$
            UPDATE post_growth g SET date = n.date, live = n.deleted_at IS NULL AND NOT n.is_service
            FROM new_rows n
            WHERE g.channel_id = n.channel_id AND g.msg_id = n.msg_id
              AND (g.date, g.live) IS DISTINCT FROM (n.date, n.deleted_at IS NULL AND NOT n.is_service)
          $q$;
        END IF;
      ELSE
        SELECT array_agg(channel_id), array_agg(-n), array_agg(-v) INTO cs, ns, vs
        FROM (SELECT channel_id, count(*) AS n, coalesce(sum(views), 0) AS v FROM old_rows
              WHERE deleted_at IS NULL AND NOT is_service GROUP BY channel_id) d;
      END IF;
      WITH appended AS (
        INSERT INTO channel_totals (channel_id, posts, views) SELECT * FROM unnest(cs, ns, vs)
        RETURNING id, channel_id
      )
      SELECT array_agg(channel_id) INTO fold FROM appended WHERE id % 32 = 0;
      FOREACH folded IN ARRAY coalesce(fold, '{}') LOOP
        IF pg_try_advisory_xact_lock(hashtextextended('channel_totals ' || folded, 0)) THEN
          EXECUTE $q$
            WITH gone AS (DELETE FROM channel_totals WHERE channel_id = $1 RETURNING posts, views)
            INSERT INTO channel_totals (channel_id, posts, views) SELECT $1, sum(posts), sum(views) FROM gone
          $q$ USING folded;
        END IF;
      END LOOP;
      RETURN NULL;
    END $$`

  yield* sql`
    CREATE TRIGGER posts_rollup_insert AFTER INSERT ON posts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION posts_rollup()`
  yield* sql`
    CREATE TRIGGER posts_rollup_update AFTER UPDATE ON posts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION posts_rollup()`
  yield* sql`
    CREATE TRIGGER posts_rollup_delete AFTER DELETE ON posts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION posts_rollup()`
  yield* sql`
    CREATE TRIGGER post_metrics_rollup_insert AFTER INSERT ON post_metrics REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_metrics_rollup()`
  yield* sql`
    CREATE TRIGGER post_metrics_rollup_update AFTER UPDATE ON post_metrics
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_metrics_rollup()`
  yield* sql`
    CREATE TRIGGER post_metrics_rollup_delete AFTER DELETE ON post_metrics REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_metrics_rollup()`

  // What is stored already.
  yield* sql`
    INSERT INTO channel_totals (channel_id, posts, views)
    SELECT channel_id, count(*), coalesce(sum(views), 0) FROM posts
    WHERE deleted_at IS NULL AND NOT is_service
    GROUP BY channel_id`
  yield* sql`SELECT post_growth_rebuild(array_agg(channel_id), array_agg(msg_id)) FROM posts`
  // Statistics now: without them the planner may take the last_at index for trending's "last_at <= until".
  yield* sql`ANALYZE channel_totals, post_growth`
  yield* sql`DROP INDEX IF EXISTS post_metrics_taken_at_idx`
})
