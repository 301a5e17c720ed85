/** Migration 4: when each post's counters were last refreshed (messages.getMessagesViews / getMessagesReactions). */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE posts ADD COLUMN metrics_refreshed_at timestamptz`
})
