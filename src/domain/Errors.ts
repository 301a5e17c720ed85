/** Cross-module tagged errors that are not owned by one adapter. */
import { Effect, Schema } from "effect"

/**
 * A setting is missing or bad. `message` names the variable (or flag), the value (secrets masked) and what was
 * expected; tasks print it as it is and exit with code 2.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  variable: Schema.String,
  message: Schema.String,
}) {}

/** A database operation failed: unreachable, misconfigured, or a statement was rejected. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {
  /** Maps every typed failure of an effect to a StoreError for `operation` (a StoreError passes through). */
  static mapError(operation: string) {
    return <A, E extends { readonly message: string }, R>(
      self: Effect.Effect<A, E, R>,
    ): Effect.Effect<A, StoreError, R> =>
      Effect.mapError(
        self,
        (cause) =>
          cause instanceof StoreError
            ? cause
            : new StoreError({ operation, message: describeStoreFailure(cause), cause }),
      )
  }
}

/**
 * The words of a failed database operation: a SQL failure's own ("PgConnection: Query failed") followed by the
 * server's ("deadlock detected"), which say what happened. The server's message never holds a password or a URL.
 */
export function describeStoreFailure(error: { readonly message: string }): string {
  const server = sqlReasonOf(error)?.cause
  return server instanceof Error && server.message !== "" && !error.message.includes(server.message)
    ? `${error.message}: ${server.message}`
    : error.message
}

/**
 * The reason inside a SQL failure (effect/sql's SqlError: its `_tag`, e.g. "DeadlockError", and the server's error as
 * its `cause`), also when a StoreError wraps it; undefined for any other failure. Read by shape: the domain does not
 * import the SQL client.
 */
export function sqlReasonOf(error: unknown): { readonly _tag?: unknown; readonly cause?: unknown } | undefined {
  const sql = (error instanceof StoreError ? error.cause : error) as
    | { readonly _tag?: unknown; readonly reason?: { readonly _tag?: unknown; readonly cause?: unknown } }
    | undefined
  return sql?._tag === "SqlError" ? sql.reason : undefined
}
