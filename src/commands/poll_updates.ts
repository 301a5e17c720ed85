/**
 * `deno task poll-updates [--restart | --no-restart]` (or the original positional `true|false`): follows the channels
 * of MTPROTO_PEERS live until SIGINT/SIGTERM. With restart (the default), a failure restarts it after an exponential
 * backoff (1 s doubling to 60 s); without, a failure ends it with exit code 1. On a signal it stops taking updates,
 * writes and commits what it holds, and exits within GRACEFUL_SHUTDOWN_TIMEOUT_S. With MTPROTO_REFRESH_ENABLED, the
 * counters of young posts are refreshed beside it on MTPROTO_REFRESH_SCHEDULE.
 */
import { Cause, Context, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { CollectorsLive } from "../App.ts"
import { armShutdownDeadline, restarting } from "../Supervise.ts"
import { AppConfig } from "../Config.ts"
import { LiveUpdates } from "../collect/LiveUpdates.ts"
import { MetricsRefresh } from "../collect/MetricsRefresh.ts"
import { ConfigError } from "../domain/Errors.ts"
import { failureMessage } from "../collect/Peers.ts"
import { serveDaemonHealth } from "../observe/DaemonHealth.ts"

export const pollUpdates = Command.make("poll-updates", {
  restart: Flag.Boolean("restart").pipe(
    Flag.withDescription("Restart after a failure, with exponential backoff (default); --no-restart: exit 1"),
    Flag.optional,
  ),
  positional: Argument.String("restart").pipe(
    Argument.withDescription("The original form: true (restart) or false"),
    Argument.optional,
  ),
}, (flags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!config.features.mtproto || !config.features.updates) {
      const off = !config.features.mtproto ? "MTPROTO_ENABLED" : "MTPROTO_UPDATES_ENABLED"
      return yield* Effect.logInfo(`live updates are disabled (${off} is not true): nothing to do`)
    }
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
    const refs = config.history.peers
    if (refs.length === 0) {
      return yield* new ConfigError({
        variable: "MTPROTO_PEERS",
        message: "No channels to follow: set MTPROTO_PEERS (comma-separated usernames or ids)",
      })
    }
    armShutdownDeadline(config.gracefulShutdownTimeoutS)
    if (!config.features.refresh) {
      yield* Effect.logInfo("metrics refresh is disabled (MTPROTO_REFRESH_ENABLED is not true): live updates only")
    }
    // With HEALTH_BIND: the same /healthz /readyz /metrics /info as serve, ready while the followers run.
    const health = Option.isSome(config.observe.healthBind)
      ? yield* serveDaemonHealth(config, {
        bind: config.observe.healthBind.value,
        collectors: { updates: true, refresh: config.features.refresh },
      })
      : undefined
    const follow = Effect.gen(function* () {
      const services = yield* Layer.build(CollectorsLive)
      if (health) yield* health.up(services)
      const live = Context.get(services, LiveUpdates)
      const refresh = Context.get(services, MetricsRefresh)
      const updates = live.run(refs, {
        reconcileSeconds: config.updates.reconcileSec,
        statusSeconds: config.updates.statusSec,
      })
      if (!config.features.refresh) return yield* updates
      // Both run until interrupted; either failing stops the other.
      yield* Effect.all([updates, refresh.run(refs, config.refresh.schedule)], { concurrency: 2, discard: true })
    }).pipe(
      Effect.scoped,
      Effect.tapCause((cause) =>
        health && !Cause.hasInterruptsOnly(cause) ? health.down(failureMessage(cause)) : Effect.void
      ),
    )
    if (!restart) return yield* follow
    yield* restarting("live updates", follow)
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription("Follow the channels' live updates (with gap recovery) until interrupted"),
  )
