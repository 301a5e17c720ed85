/**
 * The composition map: every layer that crosses subsystems is wired here, and only here, but for the long-running
 * tasks' own (the cluster, the supervisor, the health server: ./Daemon.ts, which a one-shot task never loads).
 */
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "./Config.ts"
import { Comments } from "./collect/Comments.ts"
import { Dialogs } from "./collect/Dialogs.ts"
import { DeletionProbe } from "./collect/DeletionProbe.ts"
import { HistorySync } from "./collect/HistorySync.ts"
import { LiveUpdates } from "./collect/LiveUpdates.ts"
import { MetricsRefresh } from "./collect/MetricsRefresh.ts"
import { StatsLoader } from "./collect/StatsLoader.ts"
import { AccountRepo } from "./store/AccountRepo.ts"
import { ChainRepo } from "./store/ChainRepo.ts"
import { ChannelLocks } from "./store/ChannelLocks.ts"
import { ChannelRepo } from "./store/ChannelRepo.ts"
import { CheckpointRepo } from "./store/CheckpointRepo.ts"
import { CommentRepo } from "./store/CommentRepo.ts"
import { DialogRepo } from "./store/DialogRepo.ts"
import { LiveStore } from "./store/LiveStore.ts"
import { PostRepo } from "./store/PostRepo.ts"
import { PostReads } from "./store/PostReads.ts"
import { Analytics } from "./store/Analytics.ts"
import { StatsRepo } from "./store/StatsRepo.ts"
import { Sql } from "./store/Sql.ts"
import { AccountPool, Proxies } from "./pool/AccountPool.ts"
import type { AccountConnector } from "./pool/AccountConnector.ts"
import { TelegramConnector } from "./telegram/Connector.ts"
import { TelegramClient } from "./telegram/TelegramClient.ts"

/** PostgreSQL at DATABASE_URL, or the embedded database under TGPULSE_DATA_DIR; migrated when built. */
export const SqlLive = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    return Option.match(config.databaseUrl, {
      onNone: () => Sql.layerEmbedded(config.dataDir, { assetsDir: Option.getOrUndefined(config.pgliteDir) }),
      onSome: (url) => Sql.layerUrl(url),
    })
  }),
)

/** One writer per channel and stream: advisory locks on PostgreSQL, this process's own rule on the embedded database. */
const LocksLive = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    return Option.isSome(config.databaseUrl) ? ChannelLocks.layer : ChannelLocks.layerInProcess
  }),
)

/** The repositories on the configured database. */
const ReposLive = Layer.mergeAll(
  Analytics.layer,
  ChannelRepo.layer,
  PostRepo.layer,
  PostReads.layer,
  CheckpointRepo.layer,
  CommentRepo.layer,
  ChainRepo.layer,
  AccountRepo.layer,
  StatsRepo.layer,
  DialogRepo.layer.pipe(Layer.provide(ChannelRepo.layer)),
  LocksLive,
)

/** The repositories and the stores built on them, on the configured database (migrated when built). */
export const StoreLive = LiveStore.layer.pipe(
  Layer.provideMerge(ReposLive),
  Layer.provideMerge(SqlLive),
)

/** Telegram for the collectors: the facade over the account pool, whose accounts connect through `connector`. */
const telegramOver = <E, R>(connector: Layer.Layer<AccountConnector, E, R>) =>
  TelegramClient.layer.pipe(
    Layer.provideMerge(AccountPool.layer),
    Layer.provide(connector),
    Layer.provide(Proxies.layer),
  )

/** Telegram over GramJS: what the tasks run. */
const TelegramLive = telegramOver(TelegramConnector)

/**
 * History sync (and the comments read after it) over the configured accounts and database (the store and the pool
 * stay available to the caller).
 */
export const HistoryLive = Layer.mergeAll(HistorySync.layer, Comments.layer, DeletionProbe.layer).pipe(
  Layer.provideMerge(Dialogs.layer),
  Layer.provideMerge(TelegramLive),
  Layer.provideMerge(StoreLive),
)

/** Official statistics over the configured accounts and database (the store and the pool stay available). */
export const StatsLive = StatsLoader.layer.pipe(
  Layer.provideMerge(Dialogs.layer),
  Layer.provideMerge(TelegramLive),
  Layer.provideMerge(StoreLive),
)

/**
 * Every collector on one pool of accounts and one database, the accounts connecting through `connector` (tests give
 * their own adapter here); the pool and the store stay available to the caller (readiness reads them).
 */
export const collectorsOver = <E, R>(connector: Layer.Layer<AccountConnector, E, R>) =>
  Layer.mergeAll(
    HistorySync.layer,
    StatsLoader.layer,
    MetricsRefresh.layer,
    Comments.layer,
    DeletionProbe.layer,
    LiveUpdates.layer.pipe(Layer.provide([HistorySync.layer, Comments.layer])),
  ).pipe(
    Layer.provideMerge(Dialogs.layer),
    Layer.provideMerge(telegramOver(connector)),
    Layer.provideMerge(StoreLive),
  )

/** Every collector over GramJS (what a long-running process runs). */
export const CollectorsLive = collectorsOver(TelegramConnector)
