/** Every migration, keyed `NNNN_name` for the record loader (static imports keep bundling and compiling possible). */
import history from "./0001_history.ts"

export const migrations = {
  "0001_history": history,
} as const
