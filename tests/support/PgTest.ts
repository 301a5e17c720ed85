/** Fresh databases for store tests (a new PostgreSQL database, or PGlite in a temp dir) and the contract runner. */
import { Effect, Layer, ManagedRuntime, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../../src/domain/Errors.ts"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { CheckpointRepo } from "../../src/store/CheckpointRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { PostReads } from "../../src/store/PostReads.ts"
import { Sql } from "../../src/store/Sql.ts"
import { runEffect } from "./effectTest.ts"
import { fillDataDir } from "./PgliteTemplate.ts"

/** The local server CI provides; the PostgreSQL variants are skipped only when nothing listens there. */
export const PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

async function reachable(hostname: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port })
    conn.close()
    return true
  } catch {
    return false
  }
}

export const pgAvailable: boolean = await reachable("127.0.0.1", 5432)

/** Migration logs stay out of the test output. */
const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const admin = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  SqlClient.SqlClient.use(f).pipe(
    Effect.provide(Sql.layerUrl(Redacted.make(PG_ADMIN_URL), { migrate: false, maxConnections: 1 })),
  )

/** Creates `tgpulse_test_<random>` and drops it (disconnecting leftovers) when the scope closes; yields its URL. */
export const freshDatabase = Effect.acquireRelease(
  Effect.gen(function* () {
    const name = `tgpulse_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
    yield* admin((sql) => sql`CREATE DATABASE ${sql(name)}`).pipe(StoreError.mapError("createDatabase"))
    return name
  }),
  (name) => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(Effect.orDie),
).pipe(Effect.map((name) => Redacted.make(`postgres://postgres@127.0.0.1:5432/${name}`)))

/** A scoped SQL client on `url` for a test to read what a process wrote: `query(text)` resolves with the rows. */
export const reader = (url: Redacted.Redacted<string>) =>
  Effect.map(
    Layer.build(Sql.layerUrl(url, { migrate: true, maxConnections: 2 })),
    (context) => <A extends object>(text: string) =>
      Effect.runPromise(
        SqlClient.SqlClient.use((sql) => sql.unsafe<A>(text)).pipe(Effect.provideContext(context)),
      ) as Promise<ReadonlyArray<A>>,
  )

/** A temp directory removed (recursively) when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => Deno.makeTempDir({ prefix: "tgpulse_pglite_" })),
  (dir) => Effect.promise(() => Deno.remove(dir, { recursive: true }).catch(() => undefined)),
)

export type SqlServices = Layer.Success<ReturnType<typeof Sql.layerUrl>>

/** Sql (migrated) on a fresh PostgreSQL database. */
export const pgLayer = (options: { readonly migrate?: boolean } = {}): Layer.Layer<SqlServices, StoreError> =>
  Layer.unwrap(Effect.map(freshDatabase, (url) => Sql.layerUrl(url, options))).pipe(Layer.provide(quiet))

/** A temp directory holding a migrated embedded database (a copy of the template), removed when the scope closes. */
export const dataDir = Effect.tap(tempDir, (dir) => Effect.promise(() => fillDataDir(dir)))

/** Sql (migrated) on PGlite in a fresh temp directory. */
export const embeddedLayer: Layer.Layer<SqlServices, StoreError> = Layer.unwrap(
  Effect.map(dataDir, (dir) => Sql.layerEmbedded(dir)),
).pipe(Layer.provide(quiet))

export type StoreServices = SqlServices | ChannelRepo | PostRepo | PostReads | CheckpointRepo

const withRepos = (sql: Layer.Layer<SqlServices, StoreError>): Layer.Layer<StoreServices, StoreError> =>
  Layer.mergeAll(ChannelRepo.layer, PostRepo.layer, PostReads.layer, CheckpointRepo.layer).pipe(
    Layer.provideMerge(sql),
    Layer.provideMerge(quiet),
  )

export interface Backend {
  readonly name: string
  readonly ignore: boolean
  readonly layer: () => Layer.Layer<StoreServices, StoreError>
}

/** Every backend the contract suites run on; each run gets its own fresh database. */
export const backends: ReadonlyArray<Backend> = [
  { name: "PostgreSQL", ignore: !pgAvailable, layer: () => withRepos(pgLayer()) },
  { name: "PGlite", ignore: false, layer: () => withRepos(embeddedLayer) },
]

export type Case = Effect.Effect<unknown, unknown, StoreServices>

/**
 * Registers one Deno.test per backend running every case as a step, in order, on one fresh database (the
 * `testXRepository(repo)` pattern). Cases must not depend on each other's data: use distinct channel ids.
 */
export function storeSuite(name: string, cases: Readonly<Record<string, Case>>): void {
  for (const backend of backends) {
    Deno.test({
      name: `${name} (${backend.name})`,
      ignore: backend.ignore,
      // The pool keeps sockets and idle timers between steps.
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async (t) => {
        const runtime = ManagedRuntime.make(backend.layer())
        try {
          for (const [caseName, effect] of Object.entries(cases)) {
            const context = await runtime.context()
            const ok = await t.step(caseName, () => runEffect(Effect.provideContext(Effect.asVoid(effect), context)))
            if (!ok) break
          }
        } finally {
          await runtime.dispose()
        }
      },
    })
  }
}
