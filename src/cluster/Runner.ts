/**
 * Where the entities run. CLUSTER_ENABLED: this process is one runner of a cluster (Effect Cluster over sockets),
 * listening on CLUSTER_RUNNER_ADDRESS, with the runners, shard locks and persisted messages in the PostgreSQL of
 * DATABASE_URL. Otherwise the same entities run on one runner in this process, its shards and messages in memory. A
 * dead runner's shards are taken over once its lock expired (CLUSTER_SHARD_LOCK_EXPIRATION_S); a stopping runner hands
 * its shards over as soon as its entities stopped.
 *
 * The runner's storage has a pool of its own (3 connections): the shard locks are refreshed every third
 * of their expiry, and behind the collectors' queries in one pool a refresh waited too long under load (2,000 channels
 * joining live at start): the runner lost its shards, its accounts reconnected elsewhere, every runner caught every
 * channel up again, and so on.
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { Duration, Effect, Layer, Option, Ref } from "effect"
import {
  MessageStorage,
  RunnerAddress,
  RunnerHealth,
  Runners,
  RunnerStorage,
  Sharding,
  ShardingConfig,
} from "effect/cluster"
import { AppConfig } from "../Config.ts"
import { ConfigError } from "../domain/Errors.ts"
import { Sql } from "../store/Sql.ts"
import { Ownership } from "./Ownership.ts"

export const RunnerLive = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { cluster } = config
    const sharding = {
      shardsPerGroup: cluster.shardsPerGroup,
      shardLockExpiration: Duration.seconds(cluster.shardLockExpirationS),
      shardLockRefreshInterval: Duration.seconds(cluster.shardLockExpirationS / 3),
      // New runners and shards given up by others are noticed within a second.
      refreshAssignmentsInterval: Duration.seconds(1),
      // A stopping runner waits this long at most for its entities (an interrupted sync stops at its next call).
      entityTerminationTimeout: Duration.seconds(3),
    }
    if (!cluster.enabled || Option.isNone(cluster.runnerAddress) || Option.isNone(config.databaseUrl)) {
      yield* Effect.logInfo("cluster is disabled (CLUSTER_ENABLED is not true): every entity runs in this process")
      return inMemory(sharding)
    }
    const { port } = cluster.runnerAddress.value
    const host = cluster.runnerAddress.value.host === "auto" ? yield* ownAddress : cluster.runnerAddress.value.host
    yield* Ref.set((yield* Ownership).address, `${host}:${port}`)
    yield* Effect.logInfo(`cluster runner at ${host}:${port}`)
    return NodeClusterSocket.layer({
      storage: "sql",
      shardingConfig: { ...sharding, runnerAddress: Option.some(RunnerAddress.make(host, port)) },
    }).pipe(
      Layer.provide(Sql.layerUrl(config.databaseUrl.value, { maxConnections: STORAGE_CONNECTIONS, migrate: false })),
    )
  }),
)

/** The runner storage's own connections: shard locks, runner heartbeats, persisted messages. */
const STORAGE_CONNECTIONS = 3

/**
 * `auto`: this machine's first IPv4 address that is not loopback (a container's address on its network, where every
 * replica of one service shares the configuration and none knows its own name).
 */
const ownAddress = Effect.suspend(() => {
  const found = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  return found ? Effect.succeed(found.address) : Effect.fail(
    new ConfigError({
      variable: "CLUSTER_RUNNER_ADDRESS",
      message: "CLUSTER_RUNNER_ADDRESS is auto:PORT but this machine has no IPv4 address other than loopback: " +
        "expected host:port other runners reach this one at",
    }),
  )
})

/**
 * One runner with its shards and messages in memory. Not in the database: two serve processes without a cluster may
 * share one PostgreSQL (with accounts of their own), and runners of one address in the same tables would take each
 * other's shards and messages; on the embedded database the cluster's polling would also compete with the collectors
 * for its one connection. Nothing is lost by it: a run cut short starts again from the checkpoints, and no other
 * runner could take its messages over anyway.
 */
const inMemory = (sharding: Partial<ShardingConfig.ShardingConfig["Service"]>) =>
  Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer(sharding)),
  )
