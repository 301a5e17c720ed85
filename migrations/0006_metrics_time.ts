/**
 * Migration 6: snapshots by the time they were taken. Trending by growth reads every snapshot of a window across all
 * channels; without it that was a scan of the whole table (660 ms at 10,000,000 rows, `deno task bench api`).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX post_metrics_taken_at_idx ON post_metrics (taken_at)`
})
