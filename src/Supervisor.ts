/**
 * The supervisor of a long-running task: starts the services (again with backoff until they come up, /readyz saying
 * why meanwhile), then runs every enabled collector, each restarted with backoff after a failure (or, without
 * restarts, the first failure ends the task) and the periodic ones again after their interval. Also the hard deadline
 * once a stop signal came.
 */
import { Cause, Context, Duration, Effect, Fiber, Layer, Metric, Option, Ref, Schedule } from "effect"
import { Sharding } from "effect/cluster"
import type { SqlClient } from "effect/sql"
import denoJson from "../deno.json" with { type: "json" }
import { serveApi } from "./api/Api.ts"
import { AppConfig } from "./Config.ts"
import { Comments } from "./collect/Comments.ts"
import { Dialogs } from "./collect/Dialogs.ts"
import { DeletionProbe } from "./collect/DeletionProbe.ts"
import { HistorySync, syncOptionsOf } from "./collect/HistorySync.ts"
import { LiveUpdates } from "./collect/LiveUpdates.ts"
import { MetricsRefresh } from "./collect/MetricsRefresh.ts"
import { failureMessage } from "./collect/Peers.ts"
import { StatsLoader } from "./collect/StatsLoader.ts"
import { channelEntityId, ownedChannels, syncThroughEntities } from "./cluster/ChannelEntity.ts"
import { Ownership } from "./cluster/Ownership.ts"
import type { PeerRef } from "./domain/Refs.ts"
import { collectorRestarts } from "./observe/Metrics.ts"
import { Analytics } from "./store/Analytics.ts"
import { type Collectors, collects, Readiness } from "./Readiness.ts"
import { AccountPool } from "./pool/AccountPool.ts"

/** Restarts after a failure: 1 s, doubling, at most 60 s apart. */
export const RESTART = Schedule.min([Schedule.exponential(Duration.seconds(1)), Schedule.spaced(Duration.seconds(60))])

/**
 * Runs `effect` again after every failure (logged once each, with `what`, and passed to `onFailure`), with the
 * RESTART backoff.
 */
export const restarting = <A, E, R>(
  what: string,
  effect: Effect.Effect<A, E, R>,
  onFailure: (why: string) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<A, never, R> =>
  effect.pipe(
    Effect.tapCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.void
      const error = failureMessage(cause)
      return Effect.logError(`${what} failed: restarting after a backoff`).pipe(
        Effect.annotateLogs({ error }),
        Effect.andThen(Metric.update(Metric.withAttributes(collectorRestarts, { collector: what }), 1)),
        Effect.andThen(onFailure(error)),
      )
    }),
    Effect.retry(RESTART),
    Effect.orDie,
  )

/** How often a runner looks at which channels it owns (a shard moves within about a second). */
const OWNED_EVERY = Duration.seconds(1)

/** How often a cluster makes sure every account is connected on the runner that owns it. */
export const ACCOUNT_KEEPALIVE = Duration.seconds(2)

/**
 * After SIGINT or SIGTERM, the process ends by `seconds` (GRACEFUL_SHUTDOWN_TIMEOUT_S) even if a finalizer hangs; the
 * timer never keeps a process alive by itself.
 */
export function armShutdownDeadline(seconds: number): void {
  const arm = () => Deno.unrefTimer(setTimeout(() => Deno.exit(1), seconds * 1000))
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, arm)
}

export interface SupervisorOptions {
  readonly collectors: Collectors
  /** The channels of history, live updates and the metrics refresh. */
  readonly channels: ReadonlyArray<PeerRef>
  /** The peers of the statistics. */
  readonly statsPeers: ReadonlyArray<PeerRef>
  /** Start again and restart a failed collector with backoff; false: the first failure ends the task. */
  readonly restart: boolean
  /** Serve the read API when API_ENABLED (serve does; poll-updates does not). */
  readonly api?: boolean
}

/**
 * What the collectors run on in a cluster (or on its single in-process runner): each collector runs once per cluster
 * (a singleton, moved to another runner when its runner goes), history through the channels' entities.
 */
export type ClusterServices = CollectorServices | Sharding.Sharding | Ownership

/** What the collectors run on. */
export type CollectorServices =
  | SqlClient.SqlClient
  | AccountPool
  | HistorySync
  | LiveUpdates
  | MetricsRefresh
  | Comments
  | DeletionProbe
  | StatsLoader
  | Dialogs

export class Supervisor extends Context.Service<Supervisor, {
  /** Never ends while the task runs; fails with the failure that ended it (only without restarts). */
  readonly done: Effect.Effect<never, unknown>
}>()("tgpulse/Supervisor") {
  /**
   * `store` serves a task with no collector enabled (health only); `collectors` every collector in this process, or,
   * given `cluster`, on the cluster's entities and singletons.
   */
  static readonly layer = <E1, E2, E3>(
    options: SupervisorOptions,
    layers: {
      readonly store: Layer.Layer<SqlClient.SqlClient, E1, AppConfig>
      readonly collectors: Layer.Layer<CollectorServices, E2, AppConfig>
      readonly cluster?: Layer.Layer<ClusterServices, E3, AppConfig> | undefined
    },
  ): Layer.Layer<Supervisor, never, AppConfig | Readiness> =>
    Layer.effect(
      Supervisor,
      Effect.gen(function* () {
        const config = yield* AppConfig
        const readiness = yield* Readiness
        const on = options.collectors

        /** Builds `layer` in the supervisor's scope: again with backoff while it fails (when restarting). */
        const start = <A, E>(layer: Layer.Layer<A, E, AppConfig>) => {
          const build = Layer.build(layer).pipe(
            Effect.tapCause((cause) => {
              const error = failureMessage(cause)
              return readiness.down(`starting: ${error}`).pipe(
                Effect.andThen(
                  options.restart
                    ? Effect.logError("could not start; trying again").pipe(Effect.annotateLogs({ error }))
                    : Effect.void,
                ),
              )
            }),
          )
          return options.restart ? Effect.retry(build, RESTART) : build
        }

        /** One collector: restarted after a failure (readiness says so until it runs again), or not. */
        const supervise = <R>(name: string, job: Effect.Effect<unknown, unknown, R>, every?: number) => {
          const once = options.restart
            ? restarting(name, Effect.andThen(readiness.running(name), job), (why) => readiness.failed(name, why))
            : job
          return every === undefined ? once : Effect.repeat(once, Schedule.spaced(Duration.seconds(every)))
        }

        /** The read API on the store's connection, once the store is up (an address in use ends the task). */
        const api = (sql: Context.Context<SqlClient.SqlClient>) =>
          !options.api
            ? Effect.void
            : !config.api.enabled
            ? Effect.logInfo("read API is disabled (API_ENABLED is not true)")
            : Effect.asVoid(
              serveApi(config.api.bind, {
                token: config.api.token,
                version: denoJson.version,
                dashboardDir: config.api.dashboardDir,
              }).pipe(
                Effect.provide(Analytics.layer),
                Effect.provideContext(sql),
              ),
            )

        const run = Effect.gen(function* () {
          if (!collects(on)) {
            const services = yield* start(layers.store)
            yield* readiness.up({ sql: services, pool: Option.none(), ownership: Option.none() })
            yield* api(services)
            return yield* Effect.never
          }
          const cluster = layers.cluster
          const services: Context.Context<CollectorServices> = cluster
            ? yield* start(cluster)
            : yield* start(layers.collectors)
          const owned = cluster ? Context.getOption(services as Context.Context<ClusterServices>, Ownership) : undefined
          yield* readiness.up({
            sql: services,
            pool: Option.some(Context.get(services, AccountPool)),
            ownership: owned ?? Option.none(),
          })
          yield* api(services)
          // `all`: the channels of the accounts' dialogs (statistics: those an account administers), read once.
          const dialogs = Context.get(services, Dialogs)
          const expand = (refs: ReadonlyArray<PeerRef>, adminOnly: boolean) =>
            dialogs.expand(refs, { adminOnly }).pipe(
              Effect.catch((e) =>
                Effect.as(
                  Effect.logError("the accounts' dialogs could not be read: `all` names no channel this run").pipe(
                    Effect.annotateLogs({ error: e.message }),
                  ),
                  refs.filter((r) => r._tag !== "All"),
                )
              ),
            )
          const channels = yield* expand(options.channels, false)
          const statsPeers = yield* expand(options.statsPeers, true)
          /**
           * The collectors: `perRunner` ones run on every runner of a cluster over the channels it owns (live updates
           * and the refresh move with the channels' entities), the others once per cluster.
           */
          const jobs: Array<
            {
              readonly name: string
              readonly perRunner: boolean
              readonly job: (
                refs: Effect.Effect<ReadonlyArray<PeerRef>>,
              ) => Effect.Effect<unknown, unknown, CollectorServices | Sharding.Sharding>
            }
          > = []
          const historyOptions = syncOptionsOf(config)
          if (on.history) {
            const history: Effect.Effect<unknown, unknown, CollectorServices | Sharding.Sharding> = cluster
              ? syncThroughEntities(channels, historyOptions)
              : HistorySync.use((h) => h.syncAll(channels, historyOptions))
            jobs.push({
              name: "history",
              perRunner: false,
              job: () => supervise("history", history, config.history.intervalSec),
            })
          }
          if (on.updates) {
            const liveOptions = {
              reconcileSeconds: config.updates.reconcileSec,
              statusSeconds: config.updates.statusSec,
            }
            jobs.push({
              name: "live updates",
              perRunner: true,
              job: (owned) =>
                supervise(
                  "live updates",
                  LiveUpdates.use((l) => cluster ? l.follow(owned, liveOptions) : l.run(channels, liveOptions)),
                ),
            })
          }
          if (on.refresh) {
            jobs.push({
              name: "metrics refresh",
              perRunner: true,
              job: (owned) =>
                supervise(
                  "metrics refresh",
                  MetricsRefresh.use((m) => m.run(cluster ? owned : channels, config.refresh.schedule)),
                ),
            })
          }
          // Comments and the deletion probe go beside the channels' other collectors, each behind its own flag
          // (off: one line saying so, when there is channel work at all).
          const beside = (
            name: string,
            enabled: boolean,
            off: string,
            work: (refs: Effect.Effect<ReadonlyArray<PeerRef>> | ReadonlyArray<PeerRef>) => Effect.Effect<
              unknown,
              unknown,
              CollectorServices
            >,
          ) =>
            !(on.history || on.updates || on.refresh)
              ? Effect.void
              : !enabled
              ? Effect.logInfo(off)
              : Effect.sync(() =>
                jobs.push({
                  name,
                  perRunner: true,
                  job: (owned) => supervise(name, work(cluster ? owned : channels)),
                })
              )
          yield* beside(
            "comments",
            config.features.comments,
            "comments are disabled (MTPROTO_COMMENTS_ENABLED is not true)",
            (refs) => Comments.use((c) => c.run(refs)),
          )
          yield* beside(
            "deletion probe",
            config.features.deletionProbe,
            "the deletion probe is disabled (MTPROTO_DELETION_PROBE_ENABLED is not true)",
            (refs) => DeletionProbe.use((d) => d.run(refs, config.deletionProbe.periodSec)),
          )
          if (on.stats) {
            jobs.push({
              name: "statistics",
              perRunner: false,
              job: () =>
                supervise(
                  "statistics",
                  StatsLoader.use((s) => s.loadAll(statsPeers, config.stats)),
                  config.stats.intervalSec,
                ),
            })
          }
          yield* Effect.logInfo("tgpulse is serving").pipe(Effect.annotateLogs({ collectors: JSON.stringify(on) }))
          if (cluster) {
            const clustered = services as Context.Context<ClusterServices>
            const sharding = Context.get(clustered, Sharding.Sharding)
            const ownership = Context.get(clustered, Ownership)
            // Every account stays connected on the runner that owns it (and connects on the next one within seconds
            // after a move), whether or not a collector calls it now.
            const keeper = AccountPool.use((pool) =>
              Effect.forEach(pool.clients, (c) => Effect.ignore(c.connect), { concurrency: "unbounded", discard: true })
            ).pipe(Effect.repeat(Schedule.spaced(ACCOUNT_KEEPALIVE)))
            return yield* Effect.scoped(Effect.gen(function* () {
              // The channels whose entities this runner owns, looked at every second (shards move between runners).
              const owned = yield* Ref.make<ReadonlyArray<PeerRef>>([])
              const lookAtOwned = Effect.gen(function* () {
                const now = yield* ownedChannels(channels)
                yield* Ref.set(owned, now)
                yield* ownership.ownChannels(now.map(channelEntityId))
              })
              yield* lookAtOwned
              yield* Effect.forkScoped(Effect.repeat(lookAtOwned, Schedule.spaced(OWNED_EVERY)))
              yield* sharding.registerSingleton("tgpulse/accounts", Effect.asVoid(keeper))
              for (const { name, perRunner, job } of jobs) {
                // While it runs here, /info lists the collector among what this runner runs.
                const held = Effect.andThen(ownership.hold("collector", name), job(Ref.get(owned)))
                if (perRunner) yield* Effect.forkScoped(held)
                else yield* sharding.registerSingleton(`tgpulse/${name}`, Effect.asVoid(Effect.scoped(held)))
              }
              return yield* Effect.never
            })).pipe(Effect.provideContext(clustered))
          }
          yield* Effect.all(jobs.map(({ job }) => job(Effect.succeed(channels))), {
            concurrency: "unbounded",
            discard: true,
          }).pipe(Effect.provideContext(services as Context.Context<ClusterServices>))
          return yield* Effect.never
        })
        const fiber = yield* Effect.forkScoped(run)
        return Supervisor.of({ done: Fiber.join(fiber) })
      }),
    )
}
