/**
 * `deno task poll-updates [--restart | --no-restart]` (or the original positional `true|false`): follows the channels
 * of MTPROTO_PEERS live until SIGINT/SIGTERM. With restart (the default), a failure restarts it after an exponential
 * backoff (1 s doubling to 60 s); without, a failure ends it with exit code 1. On a signal it stops taking updates,
 * writes and commits what it holds, and exits within GRACEFUL_SHUTDOWN_TIMEOUT_S. With MTPROTO_REFRESH_ENABLED, the
 * counters of young posts are refreshed beside it on MTPROTO_REFRESH_SCHEDULE.
 */
import { Effect, Option } from "effect"
import { DaemonLive } from "../Daemon.ts"
import { armShutdownDeadline, Supervisor } from "../Supervisor.ts"
import { AppConfig, channelsFor, switchedOffBy } from "../Config.ts"
import { ConfigError } from "../domain/Errors.ts"
import type { PollUpdatesFlags } from "./Commands.ts"

/** The poll-updates command's work (its flags and description: ./Commands.ts). */
export const run = (flags: PollUpdatesFlags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const off = switchedOffBy(config, "updates")
    if (off !== undefined) return yield* Effect.logInfo(`live updates are disabled (${off} is not true): nothing to do`)
    let restart = true
    if (Option.isSome(flags.restart)) restart = flags.restart.value
    else if (Option.isSome(flags.positional)) {
      const value = flags.positional.value.toLowerCase()
      if (value !== "true" && value !== "false") {
        return yield* new ConfigError({
          variable: "restart",
          message: `Invalid restart argument "${flags.positional.value}": expected true or false`,
        })
      }
      restart = value === "true"
    }
    const refs = yield* channelsFor(config, "poll-updates")
    armShutdownDeadline(config.gracefulShutdownTimeoutS)
    if (!config.features.refresh) {
      yield* Effect.logInfo("metrics refresh is disabled (MTPROTO_REFRESH_ENABLED is not true): live updates only")
    }
    // With HEALTH_BIND: the same /healthz /readyz /metrics /info as serve, ready while the followers run.
    const collectors = { history: false, updates: true, refresh: config.features.refresh, stats: false }
    return yield* Supervisor.use((s) => s.done).pipe(
      Effect.provide(DaemonLive({ collectors, channels: refs, statsPeers: [], restart }, config.observe.healthBind)),
    )
  })
