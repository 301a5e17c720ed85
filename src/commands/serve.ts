/**
 * `deno task serve`: the long-running service. The health server first (so /healthz answers while starting), then
 * every enabled collector on one pool and one database: history every MTPROTO_HISTORY_INTERVAL_SEC, live updates,
 * metrics refresh, statistics every MTPROTO_STATS_INTERVAL_SEC. The database and the accounts are set up again with
 * backoff until they come up (/readyz says why not meanwhile). SIGTERM/SIGINT: intake stops, live updates flush and
 * commit their pts, and the process exits 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S.
 */
import { Effect, Option } from "effect"
import { DaemonLive } from "../Daemon.ts"
import { AppConfig, channelsFor, COLLECTORS, collectorsOn, switchedOffBy } from "../Config.ts"
import { serveBind } from "../Readiness.ts"
import { armShutdownDeadline, Supervisor } from "../Supervisor.ts"

/** The serve command's work (its flags and description: ./Commands.ts). */
export const run = () =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const on = collectorsOn(config)
    if (!config.features.mtproto) {
      yield* Effect.logInfo("collectors are disabled (MTPROTO_ENABLED is not true): serving health only")
    } else {
      for (const c of COLLECTORS) {
        if (!on[c]) yield* Effect.logInfo(`${c} is disabled (${switchedOffBy(config, c)} is not true)`)
      }
    }
    const channels = on.history || on.updates || on.refresh ? yield* channelsFor(config, "serve") : []
    const statsPeers = config.stats.peers.length > 0 ? config.stats.peers : config.history.peers
    armShutdownDeadline(config.gracefulShutdownTimeoutS)
    return yield* Supervisor.use((s) => s.done).pipe(
      Effect.provide(
        DaemonLive(
          { collectors: on, channels, statsPeers, restart: true, api: true },
          Option.some(serveBind(config)),
          true,
        ),
      ),
    )
  })
