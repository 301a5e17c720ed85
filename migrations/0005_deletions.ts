/**
 * Migration 5: every deletion seen live, kept even when the post is not stored yet (a history page read before the
 * deletion, stored after it, must not bring the post back).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE post_deletions (
      channel_id bigint NOT NULL REFERENCES channels (id),
      msg_id integer NOT NULL,
      deleted_at timestamptz NOT NULL,
      PRIMARY KEY (channel_id, msg_id)
    )`
})
