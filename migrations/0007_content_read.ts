/**
 * Migration 7: when the stored content of a post was read from Telegram. Two versions of a post with the same
 * `edit_date` (two edits within one second, or a clock that stands still) are ordered by it: a page read before the
 * stored version does not overwrite it. A deletion recorded after it stands when a page and the deletion raced
 * (PostRepo.settleDeletions). NULL for rows stored before this migration: they are older than any read to come.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE posts ADD COLUMN content_read_at timestamptz`
})
