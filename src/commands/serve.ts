/**
 * `deno task serve`: the long-running service. The health server first (so /healthz answers while starting), then
 * every enabled collector on one pool and one database: history every MTPROTO_HISTORY_INTERVAL_SEC, live updates,
 * metrics refresh, statistics every MTPROTO_STATS_INTERVAL_SEC. The database and the accounts are set up again with
 * backoff until they come up (/readyz says why not meanwhile). SIGTERM/SIGINT: intake stops, live updates flush and
 * commit their pts, and the process exits 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S.
 */
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import { Command } from "effect/cli"
import { SqlClient } from "effect/sql"
import { CollectorsLive, StoreLive } from "../App.ts"
import { armShutdownDeadline, RESTART, restarting } from "../Supervise.ts"
import { AppConfig, type AppConfigShape } from "../Config.ts"
import { HistorySync } from "../collect/HistorySync.ts"
import { LiveUpdates } from "../collect/LiveUpdates.ts"
import { MetricsRefresh } from "../collect/MetricsRefresh.ts"
import { failureMessage } from "../collect/Peers.ts"
import { serveBind, serveDaemonHealth } from "../observe/DaemonHealth.ts"
import { StatsLoader } from "../collect/StatsLoader.ts"
import { ConfigError } from "../domain/Errors.ts"

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

export const serve = Command.make("serve", {}, () =>
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

    const health = yield* serveDaemonHealth(config, { bind: serveBind(config), collectors: on })

    // The store (and with collectors the pool), built again with backoff until it comes up.
    const build = (anyCollector ? Layer.build(CollectorsLive) : Layer.build(StoreLive)) as Effect.Effect<
      Context.Context<never>,
      unknown,
      AppConfig | Scope.Scope
    >
    const services = yield* build.pipe(
      Effect.tapCause((cause) => {
        const error = failureMessage(cause)
        return health.down(`starting: ${error}`).pipe(
          Effect.andThen(Effect.logError("could not start; trying again").pipe(Effect.annotateLogs({ error }))),
        )
      }),
      Effect.retry(RESTART),
    )
    yield* health.up(services as Context.Context<SqlClient.SqlClient>)

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
