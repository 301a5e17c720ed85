/**
 * Migration 10: the edit and deletion log. `post_versions` keeps every distinct content of a post (its first sight is
 * its first version; a re-read of the same content, a reaction or a view adds nothing) and one `deleted` entry when it
 * goes, hash-chained per channel so that an export can be verified without the database (`tgpulse verify`).
 *
 * Canonical form of an entry (src/domain/Chain.ts recomputes it): hash = lowercase hex SHA-256 of the UTF-8 bytes of
 *
 *   prev_hash \n channel_id \n seq \n msg_id \n kind \n content_hash \n edit_date \n seen_at \n media_identity \n
 *   entities \n text
 *
 * (joined by one "\n", no trailing one): numbers in decimal; times as ISO 8601 UTC with milliseconds
 * (`2026-12-07T03:04:05.678Z`, seen_at is stored truncated to milliseconds), NULL as the empty string; prev_hash is
 * the empty string for seq 1; `entities` and `media_identity` are Normalize's canonical JSON (JSON never holds a raw
 * newline), the text comes last so that its newlines are unambiguous. A `deleted` entry has empty content_hash,
 * entities and text and NULL edit_date and media_identity; its seen_at is when the deletion was recorded.
 *
 * Every write path is covered by triggers on posts, at no cost per row: statement-level triggers queue the posts
 * whose content hash changed, that were inserted or that were marked deleted; at COMMIT a deferred trigger (one call
 * per transaction) takes each touched channel's chain head row, in channel order, and appends the entries. The head
 * lock is taken last in a transaction and held only until its commit, so writers of one channel take turns on the
 * chain (one gap-free sequence) and never deadlock on it. Posts stored before this migration get their first version
 * here; their entities and media identity were not kept then (entities NULL: written as the empty string).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // What the content hash covers besides the text, in Normalize's canonical JSON (NULL: no media / not known).
  yield* sql`ALTER TABLE posts ADD COLUMN entities text, ADD COLUMN media_identity text`
  yield* sql`
    CREATE TABLE post_versions (
      channel_id bigint NOT NULL REFERENCES channels (id),
      seq bigint NOT NULL,
      msg_id integer NOT NULL,
      kind text NOT NULL CHECK (kind IN ('version', 'deleted')),
      content_hash text NOT NULL,
      text text NOT NULL,
      entities text NOT NULL,
      media_identity text,
      edit_date timestamptz,
      seen_at timestamptz NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL,
      PRIMARY KEY (channel_id, seq)
    )`
  yield* sql`CREATE INDEX post_versions_msg_idx ON post_versions (channel_id, msg_id, seq)`
  // The end of each channel's chain; its row lock orders the writers of one channel.
  yield* sql`
    CREATE TABLE post_chain_heads (
      channel_id bigint PRIMARY KEY REFERENCES channels (id),
      seq bigint NOT NULL DEFAULT 0,
      hash text NOT NULL DEFAULT ''
    )`
  // Posts to look at when the transaction that wrote them commits (empty outside a transaction in progress): one row
  // per statement and channel, not per post (a table that sheds a row per post at every commit is scanned through its
  // dead rows until vacuumed: a sync of 100,000 posts ran 9 times slower).
  yield* sql`CREATE TABLE post_chain_queue (channel_id bigint NOT NULL, msg_ids integer[] NOT NULL)`
  // One row per transaction with queued posts: the deferred trigger on it runs once, at commit.
  yield* sql`CREATE TABLE post_chain_pending (txid bigint PRIMARY KEY)`

  yield* sql`
    CREATE FUNCTION post_chain_time(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$`

  // Appends the entries of channel ch's queued posts. The statements reading large tables run with EXECUTE, planned on
  // each run (a plan cached while the tables were small would scan them whole once they grew).
  yield* sql`
    CREATE FUNCTION post_chain_append(ch bigint) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      head_seq bigint;
      head_hash text;
      h text;
      r record;
      seqs bigint[] := '{}';
      ids int4[] := '{}';
      kinds text[] := '{}';
      chashes text[] := '{}';
      texts text[] := '{}';
      ents text[] := '{}';
      medias text[] := '{}';
      edits timestamptz[] := '{}';
      seens timestamptz[] := '{}';
      prevs text[] := '{}';
      hashes text[] := '{}';
    BEGIN
      INSERT INTO post_chain_heads (channel_id) VALUES (ch) ON CONFLICT DO NOTHING;
      -- Waits for a writer of this channel that is committing; then reads what it committed (READ COMMITTED).
      SELECT seq, hash INTO head_seq, head_hash FROM post_chain_heads WHERE channel_id = ch FOR UPDATE;
      FOR r IN EXECUTE $q$
        WITH q AS (SELECT DISTINCT unnest(msg_ids) AS msg_id FROM post_chain_queue WHERE channel_id = $1),
        c AS (
          SELECT p.msg_id, p.content_hash, p.edit_date, p.media_identity, coalesce(p.entities, '') AS entities, p.text,
            date_trunc('milliseconds', coalesce(p.content_read_at, p.first_seen_at)) AS read_at,
            date_trunc('milliseconds', p.deleted_at) AS deleted_at, l.kind AS last_kind, v.content_hash AS last_hash
          -- Each post by its key (LIMIT 1 keeps the lookup a nested loop: as a join, the planner scanned every post
          -- of the channel at each commit).
          FROM q CROSS JOIN LATERAL (
              SELECT * FROM posts x WHERE x.channel_id = $1 AND x.msg_id = q.msg_id LIMIT 1
            ) p
            LEFT JOIN LATERAL (
              SELECT x.kind FROM post_versions x WHERE x.channel_id = $1 AND x.msg_id = q.msg_id
              ORDER BY x.seq DESC LIMIT 1
            ) l ON true
            LEFT JOIN LATERAL (
              SELECT x.content_hash FROM post_versions x
              WHERE x.channel_id = $1 AND x.msg_id = q.msg_id AND x.kind = 'version'
              ORDER BY x.seq DESC LIMIT 1
            ) v ON true
        )
        SELECT * FROM (
          SELECT msg_id, 0 AS o, 'version' AS kind, content_hash, text, entities, media_identity, edit_date,
            read_at AS seen_at
          FROM c WHERE last_hash IS DISTINCT FROM content_hash
          UNION ALL
          SELECT msg_id, 1, 'deleted', '', '', '', NULL, NULL, deleted_at
          FROM c
          WHERE deleted_at IS NOT NULL
            AND (last_hash IS DISTINCT FROM content_hash OR last_kind IS DISTINCT FROM 'deleted')
        ) e
        ORDER BY msg_id, o
      $q$ USING ch LOOP
        head_seq := head_seq + 1;
        h := encode(sha256(convert_to(
          head_hash || E'\n' || ch::text || E'\n' || head_seq::text || E'\n' || r.msg_id::text || E'\n' || r.kind
            || E'\n' || r.content_hash || E'\n' || coalesce(post_chain_time(r.edit_date), '') || E'\n'
            || post_chain_time(r.seen_at) || E'\n' || coalesce(r.media_identity, '') || E'\n' || r.entities
            || E'\n' || r.text,
          'UTF8')), 'hex');
        seqs := seqs || head_seq;
        ids := ids || r.msg_id;
        kinds := kinds || r.kind::text;
        chashes := chashes || r.content_hash;
        texts := texts || r.text;
        ents := ents || r.entities;
        medias := medias || r.media_identity;
        edits := edits || r.edit_date;
        seens := seens || r.seen_at;
        prevs := prevs || head_hash;
        hashes := hashes || h;
        head_hash := h;
      END LOOP;
      IF cardinality(seqs) > 0 THEN
        EXECUTE $q$
          INSERT INTO post_versions (
            channel_id, seq, msg_id, kind, content_hash, text, entities, media_identity, edit_date, seen_at, prev_hash,
            hash
          )
          SELECT $1, u.* FROM unnest($2::int8[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[]) AS u
        $q$ USING ch, seqs, ids, kinds, chashes, texts, ents, medias, edits, seens, prevs, hashes;
        UPDATE post_chain_heads SET seq = head_seq, hash = head_hash WHERE channel_id = ch;
      END IF;
      DELETE FROM post_chain_queue WHERE channel_id = ch;
    END $$`

  yield* sql`
    CREATE FUNCTION post_chain_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      ch bigint;
    BEGIN
      FOR ch IN SELECT DISTINCT channel_id FROM post_chain_queue ORDER BY channel_id LOOP
        PERFORM post_chain_append(ch);
      END LOOP;
      DELETE FROM post_chain_pending WHERE txid = NEW.txid;
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE CONSTRAINT TRIGGER post_chain_commit AFTER INSERT ON post_chain_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION post_chain_commit()`

  // Posts written: the inserted ones, those whose content hash changed and those marked deleted are queued.
  yield* sql`
    CREATE FUNCTION posts_chain_queue() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO post_chain_queue (channel_id, msg_ids)
        SELECT channel_id, array_agg(msg_id) FROM new_rows GROUP BY channel_id;
      ELSE
        INSERT INTO post_chain_queue (channel_id, msg_ids)
        SELECT n.channel_id, array_agg(n.msg_id) FROM new_rows n JOIN old_rows o USING (channel_id, msg_id)
        WHERE n.content_hash IS DISTINCT FROM o.content_hash OR (n.deleted_at IS NOT NULL AND o.deleted_at IS NULL)
        GROUP BY n.channel_id;
      END IF;
      IF FOUND THEN
        INSERT INTO post_chain_pending (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
      END IF;
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE TRIGGER posts_chain_insert AFTER INSERT ON posts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION posts_chain_queue()`
  yield* sql`
    CREATE TRIGGER posts_chain_update AFTER UPDATE ON posts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION posts_chain_queue()`

  // The posts stored before: their first version (and their deletion), in each channel's id order.
  yield* sql`INSERT INTO post_chain_queue (channel_id, msg_ids) SELECT channel_id, array_agg(msg_id) FROM posts GROUP BY 1`
  yield* sql`SELECT post_chain_append(c.channel_id) FROM (SELECT DISTINCT channel_id FROM posts ORDER BY 1) c`
})
