/**
 * The account pool: every configured account (or the sandbox's test accounts), connected through the AccountConnector
 * for the layer's lifetime, with its proxies, the scheduler's leases, budgets, cooldowns and quarantine, and the
 * accounts' state persisted (the accounts table: quarantines remembered across runs, counters saved every 5 s and at
 * the end).
 */
import { Clock, Context, Effect, Layer, Metric, Option, Schedule } from "effect"
import { AppConfig } from "../Config.ts"
import { ConfigError, type StoreError } from "../domain/Errors.ts"
import type { AccountClient } from "../domain/Telegram.ts"
import { describeReason, type TelegramError } from "../domain/TelegramError.ts"
import * as Metrics from "../observe/Metrics.ts"
import { AccountRepo } from "../store/AccountRepo.ts"
import { resolveAccounts, sessionFingerprint } from "./Accounts.ts"
import { AccountConnector } from "./AccountConnector.ts"
import { ProxyPool, type ProxyStatus } from "./ProxyPool.ts"
import {
  type AccountStatus,
  type Lease,
  makeScheduler,
  type MethodClass,
  type NoAccountAvailable,
  type RunObserver,
  type WaitTooLong,
} from "./Scheduler.ts"

export type PoolError = TelegramError | NoAccountAvailable | WaitTooLong

export interface RunOptions {
  readonly observer?: RunObserver | undefined
  /** Only these accounts may make the call (e.g. a channel's admin, for its statistics). */
  readonly only?: ReadonlySet<string> | undefined
}

export class AccountPool extends Context.Service<AccountPool, {
  /** The accounts' labels. */
  readonly accounts: ReadonlyArray<string>
  /** The connected clients (their update streams, for live updates). */
  readonly clients: ReadonlyArray<AccountClient>
  /**
   * Runs `call` on an account that may make a `methodClass` call now (waiting for one if needed). A FLOOD_WAIT cools
   * that (account, class) until its deadline and the same call runs again, on another account when one is free; a
   * revoked account is quarantined and the call moves on; a transient failure backs the account off and is returned.
   */
  run<B, E, R>(
    methodClass: MethodClass,
    call: (lease: Lease<AccountClient>) => Effect.Effect<B, E | TelegramError, R>,
    options?: RunOptions,
  ): Effect.Effect<B, E | PoolError, R>
  readonly status: Effect.Effect<ReadonlyArray<AccountStatus & { readonly proxy: string | null }>>
  readonly proxies: Effect.Effect<ReadonlyArray<ProxyStatus>>
  /** Saves the accounts' state to the accounts table now (also done every 5 s and when the layer closes). */
  readonly saveState: Effect.Effect<void>
}>()("tgpulse/pool/AccountPool") {
  static readonly layer: Layer.Layer<
    AccountPool,
    ConfigError | TelegramError | StoreError,
    AppConfig | AccountRepo | AccountConnector | Proxies
  > = Layer.effect(AccountPool, Effect.suspend(() => make))
}

/**
 * This process's proxy pool (MTPROTO_PROXIES when proxies are on): one, shared by the account pool and, in a cluster,
 * the Account entities that make the connections, so that its health is the one the connections see.
 */
export class Proxies extends Context.Service<Proxies, { readonly pool: ProxyPool | undefined }>()(
  "tgpulse/pool/Proxies",
) {
  static readonly layer: Layer.Layer<Proxies, never, AppConfig> = Layer.effect(
    Proxies,
    Effect.gen(function* () {
      return Proxies.of({ pool: yield* proxyPool(yield* AppConfig) })
    }),
  )
}

/** The proxy pool of MTPROTO_PROXIES when proxies are on (Config makes sure there is one then). */
const proxyPool = Effect.fnUntraced(function* (config: AppConfig["Service"]) {
  if (config.features.proxy) {
    return new ProxyPool(config.proxy.proxies, {
      rotationMs: config.proxy.rotationSec * 1000,
      failScoreLimit: config.proxy.failScoreLimit,
    })
  }
  if (config.proxy.proxies.length > 0) {
    yield* Effect.logInfo("proxies are disabled (MTPROTO_PROXY_ENABLED is not true): connecting directly")
  }
  return undefined
})

/**
 * Where a runner's pool starts its turns: in a cluster, a place of its own (from its machine's name and its address:
 * replicas sharing `auto:PORT` differ by name, runners on one machine by port); else the first account.
 */
const firstAccountOf = (config: AppConfig["Service"]): number =>
  config.cluster.enabled && Option.isSome(config.cluster.runnerAddress)
    ? [...`${Deno.hostname()}/${config.cluster.runnerAddress.value.host}:${config.cluster.runnerAddress.value.port}`]
      .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    : 0

const make = Effect.gen(function* () {
  const config = yield* AppConfig
  const repo = yield* AccountRepo
  const connector = yield* AccountConnector
  const { accounts, rejected } = yield* resolveAccounts(config, { first: !config.features.pool })
  const configured = config.telegram.accounts.length
  if (!config.features.pool && configured > 1) {
    yield* Effect.logInfo(
      `account pool is disabled (MTPROTO_POOL_ENABLED is not true): using "${accounts[0]!.label}" only of ` +
        `${configured}`,
    )
  }
  for (const r of rejected) {
    yield* Effect.logError(`account left out: ${r.reason}`).pipe(Effect.annotateLogs({ account: r.label }))
  }
  const proxies = (yield* Proxies).pool
  const fingerprints = new Map(accounts.map((a) => [a.label, sessionFingerprint(a.session)]))
  // A quarantine is remembered for the session it struck; a new login (another session) lifts it.
  const quarantined = new Map(
    (yield* repo.list).filter((row) =>
      row.status === "quarantined" && row.sessionFingerprint === fingerprints.get(row.name)
    ).map((row) => [row.name, row.quarantineReason ?? "quarantined"]),
  )
  for (const [name, reason] of quarantined) {
    yield* Effect.logWarning("account stays quarantined from an earlier run (log in again to lift it)").pipe(
      Effect.annotateLogs({ account: name, reason }),
    )
  }
  const clients = yield* Effect.forEach(accounts, (account) => connector.connect(account, proxies))
  // What the configuration mapped or preset (old variable names, safe mode) is said before any call is made.
  for (const notice of config.notices) yield* Effect.logInfo(notice)
  // Every account connects at once. A revoked one is quarantined from the start; one that cannot connect now
  // (network, proxy) stays in the pool and connects again at its first call. Only when none connects does the
  // start fail, with the first account's reason. Accounts still quarantined from an earlier run are not connected.
  const usable = clients.filter((c) => !quarantined.has(c.account))
  const probes = yield* Effect.forEach(usable, (c) => Effect.result(c.connect), { concurrency: "unbounded" })
  const failures = probes.flatMap((p) => (p._tag === "Failure" ? [p.failure] : []))
  if (usable.length > 0 && failures.length === usable.length) return yield* failures[0]!
  for (const [i, probe] of probes.entries()) {
    if (probe._tag === "Success") continue
    const account = usable[i]!.account
    if (probe.failure.reason._tag === "AuthRevoked") {
      quarantined.set(account, probe.failure.reason.errorMessage)
      yield* Effect.logError("account quarantined").pipe(
        Effect.annotateLogs({ account, reason: probe.failure.reason.errorMessage, stage: "connect" }),
      )
    } else {
      yield* Effect.logWarning("account could not connect; it tries again at its first call").pipe(
        Effect.annotateLogs({ account, error: describeReason(probe.failure.reason) }),
      )
    }
  }
  const scheduler = yield* makeScheduler(
    clients.map((client) => {
      const reason = quarantined.get(client.account)
      return { name: client.account, client, ...(reason === undefined ? {} : { quarantined: reason }) }
    }),
    {
      rpsPerAccount: config.pool.rpsPerAccount,
      globalRps: config.pool.globalRps,
      maxConcurrencyPerAccount: config.pool.maxConcurrencyPerAccount,
      maxWaitMs: config.pool.maxFloodWaitS * 1000,
      // Runners of a cluster share the accounts: each starts its turns at another one.
      firstAccount: firstAccountOf(config),
    },
  )

  const byName = new Map(clients.map((c) => [c.account, c]))
  const status = Effect.map(
    scheduler.status,
    (list) => list.map((s) => ({ ...s, proxy: byName.get(s.name)?.proxy() ?? null })),
  )

  // Saves deltas of the counters; the last save runs when the layer closes.
  const saved = new Map<string, { requests: number; floodWaits: number; floodSeconds: number }>()
  const save = Effect.gen(function* () {
    const now = yield* status
    yield* Metric.update(Metrics.poolAccountsTotal, now.length)
    yield* Metric.update(Metrics.poolAccountsHealthy, now.filter((s) => s.state === "healthy").length)
    if (proxies) {
      const t = yield* Clock.currentTimeMillis
      yield* Metric.update(Metrics.proxyPoolHealthy, proxies.status(t).filter((p) => p.state !== "banned").length)
    }
    yield* repo.save(now.map((s) => {
      const before = saved.get(s.name) ?? { requests: 0, floodWaits: 0, floodSeconds: 0 }
      saved.set(s.name, { requests: s.requests, floodWaits: s.floodWaits, floodSeconds: s.floodSeconds })
      return {
        name: s.name,
        status: s.state,
        health: s.health,
        requests: s.requests - before.requests,
        floodWaits: s.floodWaits - before.floodWaits,
        floodSeconds: s.floodSeconds - before.floodSeconds,
        quarantineReason: s.quarantineReason,
        sessionFingerprint: fingerprints.get(s.name)!,
        proxy: s.proxy,
      }
    }))
  }).pipe(
    Effect.catch((e) =>
      Effect.logWarning("could not save the accounts' state").pipe(Effect.annotateLogs({ error: e.message }))
    ),
  )
  yield* save
  yield* Effect.forkScoped(Effect.repeat(Effect.delay(save, "5 seconds"), Schedule.forever))
  yield* Effect.addFinalizer(() => save)

  return AccountPool.of({
    accounts: clients.map((c) => c.account),
    clients,
    run: (methodClass, call, options = {}) => scheduler.run(methodClass, call, options.observer, options.only),
    status,
    saveState: save,
    proxies: Effect.map(Clock.currentTimeMillis, (now) => proxies?.status(now) ?? []),
  })
})
