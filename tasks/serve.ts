/**
 * `deno task serve`: the long-running service. The health server first (so /healthz answers while starting), then
 * every enabled collector on one pool and one database: history every MTPROTO_HISTORY_INTERVAL_SEC, live updates,
 * metrics refresh, statistics every MTPROTO_STATS_INTERVAL_SEC. The database and the accounts are set up again with
 * backoff until they come up (/readyz says why not meanwhile). SIGTERM/SIGINT: intake stops, live updates flush and
 * commit their pts, and the process exits 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S.
 */
import { Context, Duration, Effect, Layer, Option, Ref, type Scope } from "effect"
import { Command } from "effect/cli"
import { SqlClient } from "effect/sql"
import denoJson from "../deno.json" with { type: "json" }
import { migrations } from "../migrations/mod.ts"
import { CollectorsLive, StoreLive } from "../src/App.ts"
import { runTask } from "../src/Cli.ts"
import { armShutdownDeadline, RESTART, restarting } from "../src/Supervise.ts"
import { AppConfig, type AppConfigShape } from "../src/Config.ts"
import { HistorySync } from "../src/collect/HistorySync.ts"
import { LiveUpdates } from "../src/collect/LiveUpdates.ts"
import { MetricsRefresh } from "../src/collect/MetricsRefresh.ts"
import { failureMessage } from "../src/collect/Peers.ts"
import { StatsLoader } from "../src/collect/StatsLoader.ts"
import { ConfigError } from "../src/domain/Errors.ts"
import { serveHealth } from "../src/observe/Health.ts"
import { MIGRATIONS_TABLE } from "../src/store/Sql.ts"
import { TelegramClient } from "../src/telegram/TelegramClient.ts"

const collectorsOf = (config: AppConfigShape) => {
  const f = config.features
  return {
    history: f.mtproto && f.history,
    updates: f.mtproto && f.updates,
    refresh: f.mtproto && f.refresh,
    stats: f.mtproto && f.stats,
  }
}

/** Runs `effect` forever, restarting it with backoff after a failure (logged with `what`). */
const supervised = <E, R>(what: string, effect: Effect.Effect<unknown, E, R>) =>
  Effect.forever(restarting(what, effect))

const serve = Command.make("serve", {}, () =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const on = collectorsOf(config)
    const anyCollector = Object.values(on).some(Boolean)
    if (!config.features.mtproto) {
      yield* Effect.logInfo("collectors are disabled (MTPROTO_ENABLED is not true): serving health only")
    } else {
      const names: Record<keyof typeof on, string> = {
        history: "MTPROTO_HISTORY_ENABLED",
        updates: "MTPROTO_UPDATES_ENABLED",
        refresh: "MTPROTO_REFRESH_ENABLED",
        stats: "MTPROTO_STATS_ENABLED",
      }
      for (const [name, enabled] of Object.entries(on)) {
        if (!enabled) yield* Effect.logInfo(`${name} is disabled (${names[name as keyof typeof on]} is not true)`)
      }
    }
    if (anyCollector && config.history.peers.length === 0 && (on.history || on.updates || on.refresh)) {
      return yield* new ConfigError({
        variable: "MTPROTO_PEERS",
        message: "No channels to collect: set MTPROTO_PEERS (comma-separated usernames or ids)",
      })
    }
    armShutdownDeadline(config.gracefulShutdownTimeoutS)

    /** The services once they are up, or why they are not (yet). */
    /** With collectors: all of these; without: the store only (TelegramClient and the collectors absent). */
    type Services = Context.Context<
      SqlClient.SqlClient | TelegramClient | HistorySync | LiveUpdates | MetricsRefresh | StatsLoader
    >
    const state = yield* Ref.make<{ readonly services?: Services; readonly error: string }>({ error: "starting" })
    const started = Date.now()

    const readiness = Effect.gen(function* () {
      const { services, error } = yield* Ref.get(state)
      if (!services) return [error]
      const reasons: Array<string> = []
      const expected = Object.keys(migrations).length
      const applied = yield* SqlClient.SqlClient.use((sql) =>
        sql<{ n: number }>`SELECT count(*)::int4 AS n FROM ${sql(MIGRATIONS_TABLE)}`
      ).pipe(
        Effect.map((rows) => rows[0]?.n ?? 0),
        Effect.timeout(Duration.seconds(2)),
        Effect.provideContext(services),
        Effect.exit,
      )
      if (applied._tag === "Failure") {
        reasons.push(`database unreachable: ${failureMessage(applied.cause).slice(0, 200)}`)
      } else if (applied.value < expected) {
        reasons.push(`migrations not applied: ${applied.value} of ${expected}`)
      }
      if (anyCollector) {
        const telegram = Context.getOption(services, TelegramClient)
        if (Option.isSome(telegram)) {
          const accounts = yield* telegram.value.status
          const usable = accounts.filter((a) => a.state === "healthy" || a.state === "cooling").length
          if (usable === 0) {
            const states = accounts.map((a) => `${a.name} ${a.state}`).join(", ")
            reasons.push(`no healthy account (${states})`)
          }
        }
      }
      return reasons
    })

    const info = Effect.gen(function* () {
      const { services } = yield* Ref.get(state)
      const telegram = services
        ? Context.getOption(services as Context.Context<TelegramClient>, TelegramClient)
        : Option.none()
      const accounts = Option.isSome(telegram) ? yield* telegram.value.status : []
      const byState: Record<string, number> = {}
      for (const a of accounts) byState[a.state] = (byState[a.state] ?? 0) + 1
      return {
        service: "tgpulse",
        version: denoJson.version,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        features: config.features,
        collectors: on,
        accounts: { total: accounts.length, byState },
      }
    })

    yield* serveHealth({
      bind: config.observe.healthBind,
      metrics: config.features.prometheus,
      prometheusPort: config.observe.prometheusPort,
      readiness,
      info,
    })

    // The store (and with collectors the pool), built again with backoff until it comes up.
    const build = (anyCollector ? Layer.build(CollectorsLive) : Layer.build(StoreLive)) as Effect.Effect<
      Context.Context<never>,
      unknown,
      AppConfig | Scope.Scope
    >
    const services = (yield* build.pipe(
      Effect.tapCause((cause) => {
        const error = failureMessage(cause)
        return Ref.set(state, { error: `starting: ${error}` }).pipe(
          Effect.andThen(Effect.logError("could not start; trying again").pipe(Effect.annotateLogs({ error }))),
        )
      }),
      Effect.retry(RESTART),
    )) as unknown as Services
    yield* Ref.set(state, { services, error: "" })

    if (anyCollector) {
      const run = <A, E>(effect: Effect.Effect<A, E, HistorySync | LiveUpdates | MetricsRefresh | StatsLoader>) =>
        Effect.provideContext(
          effect,
          services as Context.Context<HistorySync | LiveUpdates | MetricsRefresh | StatsLoader>,
        )
      const refs = config.history.peers
      const statsRefs = config.stats.peers.length > 0 ? config.stats.peers : refs
      const every = (seconds: number) => Effect.sleep(Duration.seconds(seconds))
      if (on.history) {
        yield* Effect.forkScoped(supervised(
          "history",
          run(HistorySync.use((h) =>
            h.syncAll(refs, { limitPerRun: config.history.limitPerRun, concurrency: config.history.concurrency })
          )).pipe(Effect.andThen(every(config.history.intervalSec))),
        ))
      }
      if (on.updates) {
        yield* Effect.forkScoped(supervised(
          "live updates",
          run(LiveUpdates.use((l) =>
            l.run(refs, { reconcileSeconds: config.updates.reconcileSec, statusSeconds: config.updates.statusSec })
          )),
        ))
      }
      if (on.refresh) {
        yield* Effect.forkScoped(supervised(
          "metrics refresh",
          run(MetricsRefresh.use((m) =>
            m.run(refs, config.refresh.schedule)
          )),
        ))
      }
      if (on.stats) {
        yield* Effect.forkScoped(supervised(
          "statistics",
          run(StatsLoader.use((s) =>
            s.loadAll(statsRefs, config.stats)
          )).pipe(
            Effect.andThen(every(config.stats.intervalSec)),
          ),
        ))
      }
    }
    yield* Effect.logInfo("tgpulse is serving").pipe(Effect.annotateLogs({ collectors: JSON.stringify(on) }))
    return yield* Effect.never
  }).pipe(Effect.scoped) as Effect.Effect<void, ConfigError, AppConfig | Scope.Scope>).pipe(
    Command.withDescription("Run every enabled collector and the health server until SIGTERM"),
  )

runTask(serve)
