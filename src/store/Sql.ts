/** The database connection: PgClient on PostgreSQL or on embedded PGlite, migrated at start (sole driver importer). */
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { type Duration, Effect, Layer, Redacted, Ref, Schedule } from "effect"
import { Migrator, SqlClient, type SqlError } from "effect/sql"
import { migrations } from "../../migrations/mod.ts"
import { StoreError } from "../domain/Errors.ts"
import { describeNetworkError } from "../domain/NetworkError.ts"
import { lockDataDir } from "./DataDirLock.ts"
import { loadPgliteAssets } from "./PgliteAssets.ts"

export { StoreError } from "../domain/Errors.ts"

/** Migration ids are recorded here; ours alone, so another app's migrations never hide ours. */
export const MIGRATIONS_TABLE = "tgpulse_migrations"

export interface UrlOptions {
  /** @default 8 */
  readonly maxConnections?: number
  /** Connection attempts at start before giving up. @default 6 */
  readonly connectAttempts?: number
  /** First delay between attempts; it doubles after each one. @default "250 millis" */
  readonly connectBackoff?: Duration.Input
  /** Per attempt. @default "5 seconds" */
  readonly connectTimeout?: Duration.Input
  /** Apply pending migrations at start. @default true */
  readonly migrate?: boolean
}

type SqlLayer = Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StoreError>

/**
 * Applies pending migrations under the migrator's table lock (several processes may start at once) and returns the
 * ones applied: empty when the schema was already up to date.
 */
const migrate: Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, StoreError, SqlClient.SqlClient> =
  Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: MIGRATIONS_TABLE }).pipe(
    Effect.tap((applied) =>
      applied.length === 0 ? Effect.logInfo("schema up to date") : Effect.logInfo(
        `applied migrations ${applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`).join(", ")}`,
      )
    ),
    StoreError.mapError("migrate"),
    Effect.withSpan("Sql.migrate"),
  )

/** How many of tgpulse's migrations the database has applied (readiness: all of them). */
export const appliedMigrations: Effect.Effect<
  { readonly applied: number; readonly expected: number },
  StoreError,
  SqlClient.SqlClient
> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ n: number }>`SELECT count(*)::int4 AS n FROM ${sql(MIGRATIONS_TABLE)}`,
).pipe(
  Effect.map((rows) => ({ applied: rows[0]?.n ?? 0, expected: Object.keys(migrations).length })),
  StoreError.mapError("appliedMigrations"),
)

/**
 * Plan every statement for its own parameters. Prepared statements otherwise switch to a generic plan fixed while
 * the tables were still small: the page upsert then scanned `posts` and slowed down linearly with the table
 * (measured: 20 ms per page at 2,000 posts, 134 ms at 20,000; 6 ms flat with custom plans; without the
 * force, a 100,000-post sync had reached only 33,000 posts after 60 s).
 *
 * Commits return once the server has flushed them (synchronous_commit = on, whatever the server's own default): a
 * page and its checkpoint, once acknowledged, survive a crash of the database or of its machine, so a run that goes
 * on after a database crash never goes on past pages the database no longer has. With `off` a crash lost the last
 * acknowledged pages while the process carried on from the cursor in its memory (issue 14). Measured on the
 * reference machine: a commit costs 0.25 ms instead of 0.1 ms (pgbench, one client), and `bench history` is the
 * same within its noise (1 x 100,000 posts: 6,600-7,100 posts/s on, 7,000-8,100 off).
 */
const SESSION_SETTINGS = { plan_cache_mode: "force_custom_plan", synchronous_commit: "on" } as const

/** Where a URL points, without its credentials: `host:port/database`. */
function describeTarget(url: URL): string {
  const host = url.hostname === "" ? "localhost" : url.hostname
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres"
  return `${host}:${url.port === "" ? "5432" : url.port}/${database}`
}

const parseUrl = (url: Redacted.Redacted<string>): Effect.Effect<URL, StoreError> =>
  Effect.suspend(() => {
    // The parser's own error would echo the whole URL, password included: never keep it as the cause.
    const parsed = URL.canParse(Redacted.value(url)) ? new URL(Redacted.value(url)) : undefined
    return parsed && (parsed.protocol === "postgres:" || parsed.protocol === "postgresql:")
      ? Effect.succeed(parsed)
      : Effect.fail(
        new StoreError({
          operation: "connect",
          message: "Invalid DATABASE_URL: expected postgres://user:password@host:port/database",
        }),
      )
  })

/** The causes under a SqlError, outermost first (the server's own error, the socket error, …). */
function causes(error: SqlError.SqlError): ReadonlyArray<Error & { readonly code?: unknown }> {
  const chain: Array<Error> = []
  for (let cause: unknown = error.reason.cause; cause instanceof Error && chain.length < 8; cause = cause.cause) {
    chain.push(cause)
  }
  return chain
}

/** Worth another attempt: the server is unreachable or still starting (57P03 cannot_connect_now). */
function isTransient(error: SqlError.SqlError): boolean {
  return error.reason._tag === "ConnectionError" || causes(error).some((cause) => cause.code === "57P03")
}

/** A short reason for a failed attempt: "connection refused", or the server's own words. */
function describeFailure(error: SqlError.SqlError): string {
  const known = describeNetworkError(error.reason.cause)
  if (known) return known
  const innermost = causes(error).at(-1)?.message || error.message
  return innermost.replace(/^PgConnection: /, "")
}

/** Connection attempts: `attempts` in all, `backoff` after the first failure, doubling after each next one. */
export const connectRetry = (attempts: number, backoff: Duration.Input) =>
  Schedule.exponential(backoff).pipe(Schedule.upTo({ times: attempts - 1 }))

/** Opens the pool, proves it with one query (retrying while the server is unreachable), then migrates. */
const connect = Effect.fnUntraced(function* (
  config: PgClient.PgPoolConfig,
  target: string,
  options: { readonly attempts: number; readonly backoff: Duration.Input; readonly migrate: boolean },
) {
  const client = yield* PgClient.make(config).pipe(StoreError.mapError("connect"))
  const attempts = yield* Ref.make(0)
  yield* Ref.update(attempts, (n) => n + 1).pipe(
    Effect.andThen(client`SELECT 1`),
    Effect.tapError((error) =>
      Effect.flatMap(Ref.get(attempts), (n) =>
        isTransient(error) && n < options.attempts
          ? Effect.logWarning(
            `PostgreSQL at ${target}: ${describeFailure(error)} (attempt ${n} of ${options.attempts}), trying again`,
          )
          : Effect.void)
    ),
    Effect.retry({
      schedule: connectRetry(options.attempts, options.backoff),
      while: isTransient,
    }),
    Effect.catch((error) =>
      Effect.flatMap(Ref.get(attempts), (n) =>
        Effect.fail(
          new StoreError({
            operation: "connect",
            message: `Cannot connect to PostgreSQL at ${target} after ${n} attempt${n === 1 ? "" : "s"}: ${
              describeFailure(error)
            }`,
            cause: error,
          }),
        ))
    ),
  )
  if (options.migrate) yield* Effect.provideService(migrate, SqlClient.SqlClient, client)
  return client
})

/** PostgreSQL at `url`; fails with a StoreError (never showing the password) when unreachable after the retries. */
function layerUrl(url: Redacted.Redacted<string>, options: UrlOptions = {}): SqlLayer {
  return PgClient.layerFrom(
    Effect.gen(function* () {
      const target = describeTarget(yield* parseUrl(url))
      return yield* connect(
        {
          url,
          maxConnections: options.maxConnections ?? 8,
          connectTimeout: options.connectTimeout ?? "5 seconds",
          applicationName: "tgpulse",
          startupParameters: SESSION_SETTINGS,
        },
        target,
        {
          attempts: Math.max(1, options.connectAttempts ?? 6),
          backoff: options.connectBackoff ?? "250 millis",
          migrate: options.migrate ?? true,
        },
      )
    }),
  )
}

/**
 * Embedded PostgreSQL (PGlite) with its data in `<dataDir>/pgdata`, served on a loopback port and reached through
 * the same PgClient as a real server. One connection only: PGlite's socket server serves one at a time. PGlite's own
 * files are read from `assetsDir` (TGPULSE_PGLITE_DIR), else from its installed package: never found by PGlite
 * itself, so a bundle or a compiled binary loads them the same way.
 */
function layerEmbedded(dataDir: string, options: { readonly assetsDir?: string | undefined } = {}): SqlLayer {
  return PgClient.layerFrom(
    Effect.gen(function* () {
      yield* lockDataDir(dataDir)
      const pgdata = `${dataDir}/pgdata`
      const assets = yield* loadPgliteAssets(options.assetsDir)
      const db = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            await Deno.mkdir(pgdata, { recursive: true })
            const db = await PGlite.create(pgdata, assets)
            // PGlite is one backend session behind the socket and ignores startup parameters: set them here.
            for (const [name, value] of Object.entries(SESSION_SETTINGS)) await db.exec(`SET ${name} = ${value}`)
            return db
          },
          catch: (cause) =>
            new StoreError({
              operation: "open",
              message: `Cannot open the embedded database "${pgdata}": ${String(cause)}`,
              cause,
            }),
        }),
        (db) => Effect.promise(() => db.close()),
      )
      const server = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
            await server.start()
            return server
          },
          catch: (cause) =>
            new StoreError({
              operation: "open",
              message: `Cannot serve the embedded database on 127.0.0.1: ${String(cause)}`,
              cause,
            }),
        }),
        (server) => Effect.promise(() => server.stop()),
      )
      const port = Number(server.getServerConn().split(":").pop())
      return yield* connect(
        {
          host: "127.0.0.1",
          port,
          username: "postgres",
          database: "postgres",
          maxConnections: 1,
          applicationName: "tgpulse",
          startupParameters: SESSION_SETTINGS,
        },
        `embedded ${pgdata}`,
        { attempts: 3, backoff: "100 millis", migrate: true },
      )
    }),
  )
}

/** The SqlClient layers and the migrator; repositories only see `SqlClient.SqlClient`. */
export const Sql = {
  layerUrl,
  layerEmbedded,
  migrate,
} as const
