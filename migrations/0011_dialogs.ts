/**
 * Migration 11: each account's dialog list (the channels and supergroups it belongs to) and its walk. A walk pages
 * messages.getDialogs from the newest dialog; every page's channels and the next page's offset are stored together,
 * so that a walk cut off (a process killed, a flood wait too long) resumes in the next run from its offset instead of
 * starting again. A finished walk is replaced by the next run's: its rows are the account's dialogs until then.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE dialog_walks (
      account text PRIMARY KEY,
      -- Which walk of the account this is (1, 2, ...): the rows of dialogs it has seen carry it.
      walk integer NOT NULL,
      -- The next page's offset (0, 0, NULL: the first page).
      offset_date integer NOT NULL DEFAULT 0,
      offset_id integer NOT NULL DEFAULT 0,
      offset_peer_kind text CHECK (offset_peer_kind IN ('channel', 'user', 'chat')),
      offset_peer_id bigint,
      offset_peer_hash bigint,
      pages integer NOT NULL DEFAULT 0,
      started_at timestamptz NOT NULL DEFAULT now(),
      -- NULL while the walk is under way.
      finished_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE dialogs (
      account text NOT NULL,
      channel_id bigint NOT NULL REFERENCES channels (id),
      -- The account administers (or created) the channel.
      admin boolean NOT NULL,
      walk integer NOT NULL,
      seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account, channel_id)
    )`
  yield* sql`CREATE INDEX dialogs_channel ON dialogs (channel_id)`
})
