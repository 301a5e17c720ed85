/**
 * Migration 2: accounts (status, health, counters and quarantine of each pool account; never its session) and
 * account_peers (each account's own access hash of a channel, where it differs from the one in channels).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE accounts (
      name text PRIMARY KEY,
      status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'healthy', 'cooling', 'backoff', 'quarantined')),
      health real NOT NULL DEFAULT 1,
      requests bigint NOT NULL DEFAULT 0,
      flood_waits bigint NOT NULL DEFAULT 0,
      flood_seconds bigint NOT NULL DEFAULT 0,
      quarantine_reason text,
      -- The first 16 hex digits of the session's SHA-256: a new login (a new session) lifts a quarantine.
      session_fingerprint text,
      quarantined_at timestamptz,
      proxy text,
      last_used_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE account_peers (
      account text NOT NULL,
      channel_id bigint NOT NULL REFERENCES channels (id),
      access_hash bigint NOT NULL,
      resolved_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account, channel_id)
    )`
})
