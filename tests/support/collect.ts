/** Test support for the collector: a sandbox, its descriptor file, and HistorySync on a fresh database of a backend. */
import { Effect, Fiber, Layer, ManagedRuntime, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { CollectorsLive } from "../../src/App.ts"
import { AppConfig } from "../../src/Config.ts"
import type { PeerRef } from "../../src/domain/Refs.ts"
import { type ChannelProgress, HistorySync } from "../../src/collect/HistorySync.ts"
import { type PeerStats, StatsLoader } from "../../src/collect/StatsLoader.ts"
import { type LiveStats, LiveUpdates } from "../../src/collect/LiveUpdates.ts"
import { MetricsRefresh, type RefreshRound } from "../../src/collect/MetricsRefresh.ts"
import { Comments, type CommentsRound } from "../../src/collect/Comments.ts"
import { DeletionProbe, type ProbeSweep } from "../../src/collect/DeletionProbe.ts"
import { verifyStoredChain } from "../../src/store/ChainRepo.ts"
import type { ChainBreak } from "../../src/domain/Chain.ts"
import { failureMessage } from "../../src/collect/Peers.ts"
import { DEFAULT_SCHEDULE, parseSchedule } from "../../src/domain/Refresh.ts"
import type { Sandbox, SandboxOptions } from "@tgpulse/sandbox"
import { dataDir, freshDatabase, pgAvailable } from "./PgTest.ts"
import { startSandbox } from "./sandbox.ts"

export type BackendName = "PostgreSQL" | "PGlite"

export const BACKENDS: ReadonlyArray<{ readonly name: BackendName; readonly ignore: boolean }> = [
  { name: "PostgreSQL", ignore: !pgAvailable },
  { name: "PGlite", ignore: false },
]

/** The variables that point tgpulse at a fresh database of `backend` (scoped: dropped or removed afterwards). */
export const databaseEnv = (backend: BackendName) =>
  backend === "PostgreSQL"
    ? Effect.map(freshDatabase, (url) => ({ DATABASE_URL: Redacted.value(url) }))
    : Effect.map(dataDir, (dir) => ({ TGPULSE_DATA_DIR: dir }))

/** A temp file holding `value` as JSON (a string as it is); removed when the scope closes. */
export const jsonFile = (value: unknown) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const file = await Deno.makeTempFile({ prefix: "tgpulse_", suffix: ".json" })
      await Deno.writeTextFile(file, typeof value === "string" ? value : JSON.stringify(value))
      return file
    }),
    (file) => Effect.promise(() => Deno.remove(file).catch(() => undefined)),
  )

/** Writes the sandbox descriptor to a temp file (what TG_SANDBOX_FILE names); removed when the scope closes. */
export const descriptorFile = (sandbox: Sandbox) => jsonFile(sandbox.descriptor)

export interface SyncHarness extends AsyncDisposable {
  readonly sandbox: Sandbox & { logs: Array<unknown> }
  /** One sync run, as `deno task sync-history` does it. */
  sync(
    refs: ReadonlyArray<PeerRef | string>,
    options?: { readonly limitPerRun?: number; readonly concurrency?: number },
  ): Promise<ReadonlyArray<ChannelProgress>>
  /** One statistics run, as `deno task load-stats` does it. */
  loadStats(
    refs: ReadonlyArray<PeerRef | string>,
    options?: { readonly periodDays?: number; readonly concurrency?: number },
  ): Promise<ReadonlyArray<PeerStats>>
  /**
   * Starts following the channels live (as poll-updates does), or, given a function, the channels it names each
   * second (as a cluster runner does); `stop` interrupts it and waits for its flush.
   */
  follow(
    refs: ReadonlyArray<PeerRef | string> | (() => ReadonlyArray<PeerRef | string>),
    options?: { readonly reconcileSeconds?: number },
  ): {
    readonly stop: () => Promise<void>
    readonly stats: () => Promise<LiveStats>
    /** Settles when the run ends by itself: with its error's message, or "" when it stopped cleanly. */
    readonly ended: Promise<string>
  }
  /** One comments pass at `nowSec` (UNIX seconds; default now), on `schedule` (default: MTPROTO_COMMENTS_SCHEDULE). */
  comments(refs: ReadonlyArray<PeerRef | string>, nowSec?: number, schedule?: string): Promise<CommentsRound>
  /** One metrics refresh round at `nowSec` (UNIX seconds), on `schedule` (default: tgpulse's). */
  refresh(refs: ReadonlyArray<PeerRef | string>, nowSec: number, schedule?: string): Promise<RefreshRound>
  /** One deletion probe sweep over the channels, its calls `periodMs / calls` apart (default 0: at once). */
  probeDeletions(refs: ReadonlyArray<PeerRef | string>, periodMs?: number): Promise<ProbeSweep>
  /** A channel's edit and deletion log checked (every hash recomputed): its entries, or its first break. */
  verifyChain(channelId: number): Promise<{ readonly count: number; readonly broken: ChainBreak | undefined }>
  /** An effect on the harness's database (its SqlClient). */
  run<A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A>
  /** A query on the harness's database. */
  query<A extends object>(text: string): Promise<ReadonlyArray<A>>
  /** messages.GetHistory requests the sandbox answered (or refused) since the start. */
  historyRequests(): ReadonlyArray<{ readonly params: Record<string, unknown>; readonly outcome: string }>
}

const asRef = (r: PeerRef | string): PeerRef =>
  typeof r !== "string" ? r : /^\d+$/.test(r) ? { _tag: "Id", id: Number(r) } : { _tag: "Username", username: r }

/** Rate limits far above what the sandbox serves (it enforces no budget unless a test sets one). */
export const UNLIMITED = { MTPROTO_RPS_PER_ACCOUNT: "1000", MTPROTO_GLOBAL_RPS: "10000" } as const

export interface HarnessOptions extends SandboxOptions {
  /** More tgpulse settings (the pool, rates). */
  readonly env?: Readonly<Record<string, string>>
  /** Rewrites the PostgreSQL URL tgpulse is given (to go through a proxy). */
  readonly via?: (url: URL) => URL
}

/** A sandbox, HistorySync and StatsLoader (with their database) on `backend`; dispose it when done. */
export async function syncHarness(backend: BackendName, options: HarnessOptions = {}): Promise<SyncHarness> {
  const sandbox = await startSandbox(options)
  const layer = Layer.unwrap(
    Effect.gen(function* () {
      const database: Record<string, string> = yield* databaseEnv(backend)
      if (options.via && database.DATABASE_URL) {
        database.DATABASE_URL = options.via(new URL(database.DATABASE_URL)).toString()
      }
      const env = { ...database, ...UNLIMITED, ...options.env, TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
      return CollectorsLive.pipe(Layer.provide(AppConfig.layerFrom(env)))
    }),
  ).pipe(Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")))
  const runtime = ManagedRuntime.make(layer)
  try {
    await runtime.context()
  } catch (error) {
    await runtime.dispose()
    await sandbox.stop()
    throw error
  }
  return {
    sandbox,
    sync: (refs, o = {}) =>
      runtime.runPromise(
        HistorySync.use((s) =>
          s.syncAll(refs.map(asRef), { limitPerRun: o.limitPerRun ?? 0, concurrency: o.concurrency ?? 2 })
        ),
      ),
    loadStats: (refs, o = {}) =>
      runtime.runPromise(
        StatsLoader.use((s) =>
          s.loadAll(refs.map(asRef), { periodDays: o.periodDays ?? 30, concurrency: o.concurrency ?? 2 })
        ),
      ),
    follow: (refs, o = {}) => {
      const fiber = runtime.runFork(
        LiveUpdates.use((l) => {
          const options = { reconcileSeconds: o.reconcileSeconds ?? 3600, statusSeconds: 0 }
          return typeof refs === "function"
            ? l.follow(Effect.sync(() => refs().map(asRef)), { ...options, settleMs: 0 })
            : l.run(refs.map(asRef), options)
        }),
      )
      return {
        stop: () => runtime.runPromise(Fiber.interrupt(fiber)).then(() => undefined),
        stats: () => runtime.runPromise(LiveUpdates.use((l) => l.stats)),
        // Never rejects: a test that failed first closes the harness under it, and its own failure is the one to see.
        ended: runtime.runPromise(Fiber.await(fiber)).then(
          (exit) => exit._tag === "Success" ? "" : failureMessage(exit.cause),
          () => "the harness was closed while the run went on",
        ),
      }
    },
    refresh: (refs, nowSec, schedule = DEFAULT_SCHEDULE) =>
      runtime.runPromise(
        MetricsRefresh.use((m) => m.refreshOnce(refs.map(asRef), parseSchedule(schedule), nowSec)),
      ),
    comments: (refs, nowSec, schedule) =>
      runtime.runPromise(
        Comments.use((c) =>
          c.readOnce(refs.map(asRef), {
            ...(nowSec === undefined ? {} : { nowSec }),
            ...(schedule === undefined ? {} : { tiers: parseSchedule(schedule) }),
          })
        ),
      ),
    probeDeletions: (refs, periodMs = 0) =>
      runtime.runPromise(DeletionProbe.use((d) => d.sweepOnce(refs.map(asRef), periodMs))),
    verifyChain: (channelId) => runtime.runPromise(verifyStoredChain(channelId)),
    run: (effect) => runtime.runPromise(effect),
    query: <A extends object>(text: string) =>
      runtime.runPromise(SqlClient.SqlClient.use((sql) => sql.unsafe<A>(text))),
    historyRequests: () =>
      sandbox.control.log.since(0, "messages.GetHistory").map((e) => ({ params: e.params, outcome: e.outcome })),
    async [Symbol.asyncDispose]() {
      await runtime.dispose()
      await sandbox.stop()
    },
  }
}
