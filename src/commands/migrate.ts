/** `deno task migrate`: applies pending migrations to the configured database (they also run at every start). */
import { Effect } from "effect"
import { SqlLive } from "../App.ts"

/** The migrate command's work (its flags and description: ./Commands.ts). */
export const run = () =>
  // Building the layer migrates under the migrator's lock and logs what it applied.
  Effect.void.pipe(Effect.provide(SqlLive))
