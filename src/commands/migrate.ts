/** `deno task migrate`: applies pending migrations to the configured database (they also run at every start). */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { SqlLive } from "../App.ts"

export const migrate = Command.make("migrate", {}, () =>
  // Building the layer migrates under the migrator's lock and logs what it applied.
  Effect.void.pipe(Effect.provide(SqlLive))).pipe(
    Command.withDescription("Apply pending database migrations (DATABASE_URL, or the embedded database)"),
  )
