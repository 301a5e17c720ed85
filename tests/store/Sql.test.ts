/** Sql layers: migrations once, connection retries with safe messages, URL validation and the embedded lock. */
import { Cause, Clock, Effect, Exit, Layer, Redacted, References, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { connectRetry, MIGRATIONS_TABLE, Sql } from "../../src/store/Sql.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { effectTest, runFor, virtualTest } from "../support/effectTest.ts"
import { pgAvailable, pgLayer, storeSuite, tempDir } from "../support/PgTest.ts"

const quiet = Effect.provideService(References.MinimumLogLevel, "Warn")
const dbOptions = { sanitizeOps: false, sanitizeResources: false } as const

const migrationRows = SqlClient.SqlClient.use((sql) =>
  sql<{ migration_id: number; name: string }>`
    SELECT migration_id, name FROM ${sql(MIGRATIONS_TABLE)} ORDER BY migration_id`
)
const ALL = [
  { migration_id: 1, name: "history" },
  { migration_id: 2, name: "accounts" },
  { migration_id: 3, name: "stats" },
  { migration_id: 4, name: "refresh" },
  { migration_id: 5, name: "deletions" },
  { migration_id: 6, name: "metrics_time" },
  { migration_id: 7, name: "content_read" },
  { migration_id: 8, name: "rollups" },
  { migration_id: 9, name: "comments" },
  { migration_id: 10, name: "versions" },
  { migration_id: 11, name: "dialogs" },
]

/** Builds `layer` in a child scope and returns its failure (the layer must fail). */
const buildFailure = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
    assert(Exit.isFailure(exit), "the layer should fail")
    return exit.cause
  })

storeSuite("Sql", {
  "Sql layers migrate at start; a second run applies nothing": Effect.gen(function* () {
    assertEquals(yield* migrationRows, ALL)
    assertEquals(yield* Sql.migrate, [])
    assertEquals(yield* migrationRows, ALL)
  }),
})

effectTest(
  "Sql.migrate applies every migration on an empty database, then nothing",
  Effect.gen(function* () {
    const context = yield* Layer.build(pgLayer({ migrate: false }))
    yield* Effect.gen(function* () {
      assertEquals(yield* Sql.migrate, ALL.map((m) => [m.migration_id, m.name]))
      assertEquals(yield* Sql.migrate, [])
      assertEquals(yield* migrationRows, ALL)
    }).pipe(Effect.provideContext(context))
  }).pipe(quiet),
  { ...dbOptions, ignore: !pgAvailable },
)

effectTest(
  "Sql.layerUrl gives up on an unreachable server after its retries, without showing the password",
  Effect.gen(function* () {
    const cause = yield* buildFailure(
      Sql.layerUrl(Redacted.make("postgres://u:supersecret@127.0.0.1:1/x"), { connectAttempts: 3 }),
    )
    const [error] = Cause.prettyErrors(cause)
    assertEquals(
      error?.message,
      "Cannot connect to PostgreSQL at 127.0.0.1:1/x after 3 attempts: connection refused",
    )
    assert(!Cause.pretty(cause).includes("supersecret"), "the password never shows")
  }),
  dbOptions,
)

effectTest(
  "Sql.layerUrl fails at once on a database that does not exist",
  Effect.gen(function* () {
    const cause = yield* buildFailure(
      Sql.layerUrl(Redacted.make("postgres://postgres@127.0.0.1:5432/tgpulse_no_such_database")),
    )
    const message = Cause.prettyErrors(cause)[0]?.message ?? ""
    assert(
      message.startsWith("Cannot connect to PostgreSQL at 127.0.0.1:5432/tgpulse_no_such_database after 1 attempt:"),
      message,
    )
    assert(message.includes("does not exist"), message)
  }),
  { ...dbOptions, ignore: !pgAvailable },
)

effectTest(
  "Sql.layerUrl rejects a malformed URL without echoing it",
  Effect.forEach(
    ["postgres://u:supersecret@[bad/x", "supersecret", "mysql://u:supersecret@host/db", ""],
    (url) =>
      Effect.gen(function* () {
        const cause = yield* buildFailure(Sql.layerUrl(Redacted.make(url)))
        const [error] = Cause.prettyErrors(cause)
        assert(error?.message.startsWith("Invalid DATABASE_URL"), error?.message)
        assert(!Cause.pretty(cause).includes("supersecret"), "the URL never shows")
      }),
    { discard: true },
  ),
)

effectTest(
  "Sql.layerEmbedded holds an exclusive lock on its data directory; a pid left in the lock file means nothing",
  Effect.gen(function* () {
    const dir = yield* tempDir
    const lock = `${dir}/pgdata.lock`
    const first = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Sql.layerEmbedded(dir), first)
    assertEquals(Deno.readTextFileSync(lock).trim(), String(Deno.pid))

    const refused = Cause.prettyErrors(yield* buildFailure(Sql.layerEmbedded(dir)))[0]?.message
    assertEquals(
      refused,
      `The embedded database "${dir}/pgdata" is in use by another tgpulse process (pid ${Deno.pid}): ` +
        "stop it or set DATABASE_URL",
    )
    // The refused opener left the holder's lock and database alone.
    assertEquals(Deno.readTextFileSync(lock).trim(), String(Deno.pid))
    assertEquals(yield* Effect.provideContext(migrationRows, context), ALL)
    yield* Scope.close(first, Exit.void)

    // The lock file names a live process (pid 1, as after a container restart) that holds no lock: it is taken. The
    // data survived the reopen, no migration re-ran.
    Deno.writeTextFileSync(lock, "1\n")
    const again = yield* Layer.build(Sql.layerEmbedded(dir))
    assertEquals(Deno.readTextFileSync(lock).trim(), String(Deno.pid))
    assertEquals(yield* Effect.provideContext(Sql.migrate, again), [])
    assertEquals(yield* Effect.provideContext(migrationRows, again), ALL)
  }).pipe(quiet),
  dbOptions,
)

virtualTest(
  "Sql.connectRetry: attempts at 0, 250 and 750 ms (the backoff doubles), then no more",
  Effect.gen(function* () {
    const attempts: Array<number> = []
    const attempt = Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => attempts.push(at))).pipe(
      Effect.andThen(Effect.fail("refused")),
    )
    const [outcome] = yield* runFor(5, [Effect.result(Effect.retry(attempt, connectRetry(3, "250 millis")))])
    assertEquals(attempts, [0, 250, 750])
    assertEquals(outcome?._tag, "Failure")
  }),
)
