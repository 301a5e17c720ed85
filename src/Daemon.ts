/**
 * The composition of the long-running tasks (serve, poll-updates): the cluster's entities, the supervisor, readiness
 * and the health server over App.ts's layers. Apart from App.ts so that a one-shot task (sync-history, load-stats...)
 * loads none of them: measured, they are ~20 MB of the sync-history process's resident memory and ~0.1 s of its start.
 */
import { Layer, Option } from "effect"
import { CollectorsLive, collectorsOver, StoreLive } from "./App.ts"
import { Proxies } from "./pool/AccountPool.ts"
import { TelegramConnector } from "./telegram/Connector.ts"
import { HealthServer, Readiness } from "./Readiness.ts"
import { Supervisor, type SupervisorOptions } from "./Supervisor.ts"
import { AccountEntityLive, AccountHost } from "./cluster/AccountEntity.ts"
import { ChannelEntityLive } from "./cluster/ChannelEntity.ts"
import { Ownership } from "./cluster/Ownership.ts"
import { RemoteAccounts } from "./cluster/RemoteAccounts.ts"
import { RunnerLive } from "./cluster/Runner.ts"

/**
 * Every collector on the cluster's entities (serve): this runner hosts Account entities (each connects its account
 * over GramJS) and Channel entities (each syncs its channel), and its collectors reach the accounts through their
 * entities, wherever they run. The Account entities register before the pool probes them.
 */
export const ClusterCollectorsLive = ChannelEntityLive.pipe(
  Layer.provideMerge(collectorsOver(RemoteAccounts)),
  Layer.provideMerge(
    AccountEntityLive.pipe(Layer.provide([TelegramConnector, AccountHost.layer.pipe(Layer.provide(Proxies.layer))])),
  ),
  Layer.provideMerge(RunnerLive),
  Layer.provideMerge(StoreLive),
  Layer.provideMerge(Ownership.layer),
)

/**
 * A long-running task (serve, poll-updates): the supervisor running `options.collectors` over App.ts's layers (on
 * the cluster's entities when `cluster`), readiness, and the health server on `healthBind` when there is one.
 */
export const DaemonLive = (
  options: SupervisorOptions,
  healthBind: Option.Option<string>,
  cluster: boolean = false,
) =>
  Layer.mergeAll(
    Supervisor.layer(options, {
      store: StoreLive,
      collectors: CollectorsLive,
      cluster: cluster ? ClusterCollectorsLive : undefined,
    }),
    Option.match(healthBind, { onNone: () => Layer.empty, onSome: HealthServer }),
  ).pipe(Layer.provideMerge(Readiness.layer(options.collectors)))
