/** The composition map: every layer that crosses subsystems is wired here, and only here. */
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "./Config.ts"
import { HistorySync } from "./collect/HistorySync.ts"
import { LiveUpdates } from "./collect/LiveUpdates.ts"
import { MetricsRefresh } from "./collect/MetricsRefresh.ts"
import { StatsLoader } from "./collect/StatsLoader.ts"
import { AccountRepo } from "./store/AccountRepo.ts"
import { ChannelLocks } from "./store/ChannelLocks.ts"
import { ChannelRepo } from "./store/ChannelRepo.ts"
import { CheckpointRepo } from "./store/CheckpointRepo.ts"
import { PostRepo } from "./store/PostRepo.ts"
import { StatsRepo } from "./store/StatsRepo.ts"
import { Sql } from "./store/Sql.ts"
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
export const StoreLive = Layer.mergeAll(
  ChannelRepo.layer,
  PostRepo.layer,
  CheckpointRepo.layer,
  AccountRepo.layer,
  StatsRepo.layer,
  LocksLive,
)
  .pipe(
    Layer.provideMerge(SqlLive),
  )

/** History sync over the configured account and database (the store stays available to the caller). */
export const HistoryLive = HistorySync.layer.pipe(
  Layer.provide(TelegramClient.layer),
  Layer.provideMerge(StoreLive),
)

/** Official statistics over the configured accounts and database (the store stays available to the caller). */
export const StatsLive = StatsLoader.layer.pipe(
  Layer.provide(TelegramClient.layer),
  Layer.provideMerge(StoreLive),
)

/** Every collector on one pool of accounts and one database (what a long-running process runs); the pool and the
 * store stay available to the caller (health checks read them). */
export const CollectorsLive = Layer.mergeAll(
  HistorySync.layer,
  StatsLoader.layer,
  MetricsRefresh.layer,
  LiveUpdates.layer.pipe(Layer.provide(HistorySync.layer)),
).pipe(
  Layer.provideMerge(TelegramClient.layer),
  Layer.provideMerge(StoreLive),
)
