/**
 * The only tgpulse module that imports GramJS: clients (routed to the sandbox when asked) and the TelegramClient
 * service, whose every call has a timeout and fails with a TelegramError.
 */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import { Api, TelegramClient as GramClient } from "telegram"
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Layer,
  Metric,
  Queue,
  Redacted,
  Schedule,
  type Scope,
  Semaphore,
} from "effect"
import * as Metrics from "../observe/Metrics.ts"
import { AppConfig } from "../Config.ts"
import { ConfigError, type StoreError } from "../domain/Errors.ts"
import {
  type AccountStatus,
  type Lease,
  makeAccountPool,
  type MethodClass,
  type NoAccountAvailable,
  type RunObserver,
  type WaitTooLong,
} from "../pool/AccountPool.ts"
import { maskProxy, type ProxyLease, ProxyPool, type ProxySpec, type ProxyStatus } from "../pool/ProxyPool.ts"
import { AccountRepo } from "../store/AccountRepo.ts"
import { resolveAccounts, sessionFingerprint } from "./Accounts.ts"
import { reasonOf } from "./RpcError.ts"
import { channelStats, messageStats, publicForwards, rawGraph } from "./StatsNormalize.ts"
import { channelDifference, normalizeUpdate } from "./UpdatesNormalize.ts"
import type { ChannelDifference, LiveEvent, MetricEvent } from "../domain/Updates.ts"
import { Raw } from "telegram/events/index.js"
import { reactionsOf } from "./Normalize.ts"
import type { ChannelStats, MessageStats, PublicForwardsPage, RawGraph } from "../domain/Stats.ts"
import { AuthRevoked, describeReason, PeerUnavailable, TelegramError, Timeout, Transient } from "./TelegramError.ts"
import { StringSession } from "telegram/sessions/index.js"
import bigInt from "big-integer"
import type { Descriptor } from "../sandbox/Descriptor.ts"
import {
  type ConnectionClass,
  CONNECTIONS,
  GramLog,
  type GramLogSink,
  routedConnection,
  scrubber,
  type TransportName,
  trustSandboxKey,
  watchedConnection,
  type WireEvents,
} from "./Transport.ts"

export interface GramClientOptions {
  /** A StringSession string; empty for a fresh login. */
  readonly session: string
  readonly apiId: number
  readonly apiHash: string
  /** Route every DC to this sandbox and trust its key. */
  readonly sandbox?: Descriptor
  /** @default "full" */
  readonly transport?: TransportName
  /** A connection class to use instead of the named transport (tests of other framings). */
  readonly connection?: ConnectionClass
  /** @default 3 */
  readonly connectionRetries?: number
  /** Milliseconds between connection attempts. @default 100 */
  readonly retryDelay?: number
  /** Where GramJS's own log lines go, scrubbed of every secret it was given (none: GramJS logs nothing). */
  readonly log?: GramLogSink
  /** Told about refused connections and keys the server does not know. */
  readonly wire?: WireEvents
  /** Connect through this proxy. */
  readonly proxy?: ProxySpec
}

/** GramJS's proxy parameters for a proxy. */
function gramProxy(spec: ProxySpec, timeoutSeconds: number) {
  return spec.kind === "mtproxy"
    ? { ip: spec.host, port: spec.port, secret: spec.secret, MTProxy: true as const, timeout: timeoutSeconds }
    : {
      ip: spec.host,
      port: spec.port,
      socksType: spec.version,
      timeout: timeoutSeconds,
      ...(spec.username === undefined ? {} : { username: spec.username }),
      ...(spec.password === undefined ? {} : { password: spec.password }),
    }
}

/**
 * A GramJS client that never sleeps on flood waits by itself (floodSleepThreshold 0) and logs nothing.
 * With `sandbox`, the session's DC address is pointed at the sandbox too.
 */
export function makeGramClient(options: GramClientOptions): GramClient {
  const base = options.connection ?? CONNECTIONS[options.transport ?? "full"]
  const session = new StringSession(options.session)
  if (options.sandbox) {
    trustSandboxKey(options.sandbox)
    if (options.session === "") {
      const main = options.sandbox.dcs.find((dc) => dc.id === options.sandbox!.mainDc)!
      session.setDC(main.id, main.host, 443)
    }
  }
  const proxy = options.proxy
  const scrub = scrubber([
    options.session,
    options.apiHash,
    ...(proxy?.kind === "socks" ? [proxy.password] : proxy?.kind === "mtproxy" ? [proxy.secret] : []),
  ])
  const watch = (connection: ConnectionClass) =>
    watchedConnection(connection, options.wire ?? {}, proxy ? maskProxy(proxy) : undefined)
  const client = new GramClient(session, options.apiId, options.apiHash, {
    connection: watch(options.sandbox ? routedConnection(options.sandbox, base) : base),
    connectionRetries: options.connectionRetries ?? 3,
    retryDelay: options.retryDelay ?? 100,
    floodSleepThreshold: 0,
    autoReconnect: true,
    baseLogger: new GramLog(options.log, scrub),
    ...(proxy ? { proxy: gramProxy(proxy, 5) } : {}),
  })
  // GramJS picks its own connection class for an MTProxy: watch that one too.
  if (proxy?.kind === "mtproxy") client._connection = watch(client._connection)
  // Errors GramJS would otherwise print whole (their fields may hold a proxy password): only their words, scrubbed.
  client.onError = (error: Error) => {
    options.log?.("error", scrub(String(error?.message ?? error)))
    return Promise.resolve()
  }
  client.floodSleepThreshold = 0
  return client
}

// ---------------------------------------------------------------------------------------------------------------
// One account's connection (through a proxy when there are proxies), and the pooled service the collector uses.

/** A channel as Telegram describes it (access hash as a decimal string). */
export interface ChannelInfo {
  readonly id: number
  readonly accessHash: string
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  readonly participantsCount: number | null
}

/** A channel as the calls need it: id and (this account's) access hash. */
export interface ChannelRef {
  readonly id: number
  readonly accessHash: string
}

/** channels.getFullChannel, as far as statistics go. */
export interface FullChannel {
  readonly canViewStats: boolean
  /** The DC that serves the channel's statistics (null when Telegram did not say). */
  readonly statsDc: number | null
  readonly participantsCount: number | null
  /** The channel's current pts (where live updates start). */
  readonly pts: number | null
}

/** What an account's connection reports: a channel update, or that it (re)connected (updates may have been missed). */
export type AccountSignal = LiveEvent | { readonly _tag: "Connected" }

/** Counters of one post from messages.getMessagesViews. */
export interface PostViews {
  readonly msgId: number
  readonly views: number | null
  readonly forwards: number | null
  readonly replies: number | null
}

/** The arguments of messages.getHistory the collector uses (hash is always 0). */
export interface HistoryParams {
  readonly offsetId: number
  readonly addOffset: number
  readonly limit: number
  readonly maxId: number
  readonly minId: number
  readonly offsetDate?: number
}

export interface HistoryPage {
  /** Messages as GramJS decoded them, newest first; only Normalize looks inside. */
  readonly messages: ReadonlyArray<unknown>
  /** Total messages in the channel. */
  readonly count: number
  /** Messages newer than the offset point, when Telegram says. */
  readonly offsetIdOffset: number | undefined
  /** The channel's pts when Telegram answered (the page is the channel as it was at this pts). */
  readonly pts: number | undefined
}

/** The calls of one connected account; every call has a timeout and fails with a TelegramError. */
export interface AccountClient {
  /** The account's label for logs and metrics (never a phone number or a session). */
  readonly account: string
  /** contacts.resolveUsername: a channel or supergroup (anything else is PeerUnavailable). */
  resolveUsername(username: string): Effect.Effect<ChannelInfo, TelegramError>
  /** channels.getChannels for a known id and access hash. */
  getChannel(id: number, accessHash: string): Effect.Effect<ChannelInfo, TelegramError>
  /** messages.getHistory, one page. */
  getHistory(
    channel: { readonly id: number; readonly accessHash: string },
    params: HistoryParams,
  ): Effect.Effect<HistoryPage, TelegramError>
  /** channels.getFullChannel: whether this account may view the channel's statistics, and on which DC. */
  getFullChannel(channel: ChannelRef): Effect.Effect<FullChannel, TelegramError>
  /**
   * Statistics calls, sent to `dc` (the channel's stats DC) through GramJS's exported sender for that DC, or on the
   * main connection when `dc` is the account's own DC or unknown: the main connection never moves. A call that
   * reaches the wrong DC fails with Migrate STATS (the caller follows it).
   */
  broadcastStats(channel: ChannelRef, dc: number | undefined): Effect.Effect<ChannelStats, TelegramError>
  megagroupStats(channel: ChannelRef, dc: number | undefined): Effect.Effect<ChannelStats, TelegramError>
  /** stats.loadAsyncGraph: a statsGraphAsync token (or a zoom token with `x`). */
  loadAsyncGraph(token: string, dc: number | undefined, x?: number): Effect.Effect<RawGraph, TelegramError>
  messageStats(channel: ChannelRef, msgId: number, dc: number | undefined): Effect.Effect<MessageStats, TelegramError>
  publicForwards(
    channel: ChannelRef,
    msgId: number,
    page: { readonly offset: string; readonly limit: number },
    dc: number | undefined,
  ): Effect.Effect<PublicForwardsPage, TelegramError>
  /** updates.getChannelDifference from `pts`, at most `limit` changes. */
  getChannelDifference(channel: ChannelRef, pts: number, limit: number): Effect.Effect<ChannelDifference, TelegramError>
  /** messages.getMessagesViews with increment = false (ids in the order given; missing posts are left out). */
  getMessagesViews(
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Effect.Effect<ReadonlyArray<PostViews>, TelegramError>
  /** messages.getMessagesReactions: the reactions of each post, as Reactions events. */
  getMessagesReactions(
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Effect.Effect<ReadonlyArray<MetricEvent>, TelegramError>
  /**
   * Calls `listener` with every channel update this account's connection receives, and with Connected when it
   * (re)connects; returns the function that stops it. Survives reconnections through another proxy.
   */
  listen(listener: (signal: AccountSignal) => void): () => void
  /** The DC of the account's main connection (undefined before it connects). */
  readonly homeDc: () => number | undefined
  /** Connects now (calls connect by themselves when needed). */
  readonly connect: Effect.Effect<void, TelegramError>
  /** The proxy of the current connection, masked (null: direct or not connected). */
  readonly proxy: () => string | null
}

/**
 * The collector's Telegram: every call runs on an account of the pool (MTPROTO_POOL_ENABLED; otherwise a pool of the
 * first account), within its token buckets and concurrency, moving to another account on FLOOD_WAIT or quarantine.
 */
export class TelegramClient extends Context.Service<TelegramClient, {
  /** The accounts' labels. */
  readonly accounts: ReadonlyArray<string>
  resolveUsername(username: string, observer?: RunObserver): Effect.Effect<ChannelInfo, PoolError>
  getChannel(id: number, accessHash: string, observer?: RunObserver): Effect.Effect<ChannelInfo, PoolError>
  /**
   * One page, on whichever account may call now. Access hashes are per account on Telegram: when an account rejects
   * the cached hash (CHANNEL_INVALID), it resolves the channel by username once, keeps its own hash for the rest of
   * the run, and the page is asked again.
   */
  getHistory(
    channel: { readonly id: number; readonly accessHash: string; readonly username?: string | null },
    params: HistoryParams,
    observer?: RunObserver,
  ): Effect.Effect<HistoryPage, PoolError>
  /** channels.getFullChannel on whichever account may call now. */
  getFullChannel(
    channel: ChannelRef & { readonly username?: string | null },
    observer?: RunObserver,
  ): Effect.Effect<FullChannel, PoolError>
  /** updates.getChannelDifference from `pts` (at most `limit` changes), on whichever account may call now. */
  getChannelDifference(
    channel: ChannelRef & { readonly username?: string | null },
    pts: number,
    limit: number,
    observer?: RunObserver,
  ): Effect.Effect<ChannelDifference, PoolError>
  /** messages.getMessagesViews (increment false) for up to 100 ids. */
  getMessagesViews(
    channel: ChannelRef & { readonly username?: string | null },
    ids: ReadonlyArray<number>,
    observer?: RunObserver,
  ): Effect.Effect<ReadonlyArray<PostViews>, PoolError>
  /** messages.getMessagesReactions for up to 100 ids. */
  getMessagesReactions(
    channel: ChannelRef & { readonly username?: string | null },
    ids: ReadonlyArray<number>,
    observer?: RunObserver,
  ): Effect.Effect<ReadonlyArray<MetricEvent>, PoolError>
  /**
   * Calls `listener` with every update any account's connection receives (the same update arrives once per member
   * account: the pts rules drop the copies), and Connected when an account (re)connects; until the scope closes.
   */
  listen(listener: (account: string, signal: AccountSignal) => void): Effect.Effect<void, never, Scope.Scope>
  /**
   * Runs `call` on the named account only (e.g. a channel's admin, for its statistics), within that account's budget
   * for `methodClass`, with that account's own access hash of `channel` (resolved once, as for getHistory).
   */
  onAccount<A>(
    account: string,
    methodClass: MethodClass,
    channel: ChannelRef & { readonly username?: string | null },
    call: (client: AccountClient, channel: ChannelRef) => Effect.Effect<A, TelegramError>,
    observer?: RunObserver,
  ): Effect.Effect<A, PoolError>
  readonly status: Effect.Effect<ReadonlyArray<AccountStatus & { readonly proxy: string | null }>>
  readonly proxies: Effect.Effect<ReadonlyArray<ProxyStatus>>
  /** Saves the accounts' state to the accounts table now (also done every 5 s and when the layer closes). */
  readonly saveState: Effect.Effect<void>
}>()("tgpulse/telegram/TelegramClient") {
  /**
   * Every configured account (or the sandbox's test accounts), connected for the layer's lifetime, in one pool; the
   * accounts table remembers quarantines and counts across runs and is saved every few seconds and at the end.
   */
  static readonly layer: Layer.Layer<
    TelegramClient,
    ConfigError | TelegramError | StoreError,
    AppConfig | AccountRepo
  > = Layer.effect(
    TelegramClient,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const repo = yield* AccountRepo
      const { apiId, apiHash, accounts, rejected, sandbox } = yield* resolveAccounts(config, {
        first: !config.features.pool,
      })
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
      let proxies: ProxyPool | undefined
      if (config.features.proxy && config.proxy.proxies.length > 0) {
        proxies = new ProxyPool(config.proxy.proxies, {
          rotationMs: config.proxy.rotationSec * 1000,
          failScoreLimit: config.proxy.failScoreLimit,
        })
      } else if (config.features.proxy) {
        return yield* new ConfigError({
          variable: "MTPROTO_PROXIES",
          message: "MTPROTO_PROXY_ENABLED is true but MTPROTO_PROXIES is empty: expected at least one proxy URL",
        })
      } else if (config.proxy.proxies.length > 0) {
        yield* Effect.logInfo("proxies are disabled (MTPROTO_PROXY_ENABLED is not true): connecting directly")
      }
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
      const clients = yield* Effect.forEach(accounts, (account) =>
        connectTelegram({
          account: account.label,
          session: Redacted.value(account.session),
          apiId,
          apiHash: Redacted.value(apiHash),
          timeoutMs: config.telegram.requestTimeoutS * 1000,
          gramLog: config.observe.logLevel === "trace",
          ...(sandbox ? { sandbox } : {}),
          ...(proxies ? { proxies } : {}),
        }))
      // Every account connects at once. A revoked one is quarantined from the start; one that cannot connect now
      // (network, proxy) stays in the pool and connects again at its first call. Only when none connects does the
      // start fail, with the first account's reason.
      // Accounts still quarantined from an earlier run are not even connected.
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
      const pool = yield* makeAccountPool(
        clients.map((client) => {
          const reason = quarantined.get(client.account)
          return { name: client.account, client, ...(reason === undefined ? {} : { quarantined: reason }) }
        }),
        {
          rpsPerAccount: config.pool.rpsPerAccount,
          globalRps: config.pool.globalRps,
          maxConcurrencyPerAccount: config.pool.maxConcurrencyPerAccount,
          maxWaitMs: config.pool.maxFloodWaitS * 1000,
        },
      )

      const byName = new Map(clients.map((c) => [c.account, c]))
      /** (account, channel id) -> that account's own access hash, where it differs from the cached one. */
      const ownHashes = new Map<string, string>(
        (yield* repo.peerHashes).map((p) => [`${p.account}\u0000${p.channelId}`, p.accessHash]),
      )
      const status = Effect.map(
        pool.status,
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

      /**
       * Runs `call` with the lease's own access hash of `channel`. Access hashes are per account on Telegram: when the
       * account rejects the cached one (CHANNEL_INVALID), it resolves the channel by username once, keeps (and stores)
       * its own hash, and `call` runs again with it.
       */
      const withOwnHash = <A>(
        lease: Lease<AccountClient>,
        channel: ChannelRef & { readonly username?: string | null },
        call: (channel: ChannelRef) => Effect.Effect<A, TelegramError>,
      ): Effect.Effect<A, TelegramError> => {
        const key = `${lease.name}\u0000${channel.id}`
        const own = ownHashes.get(key)
        const first = call({ id: channel.id, accessHash: own ?? channel.accessHash })
        const username = channel.username
        if (own !== undefined || !username) return first
        return first.pipe(
          Effect.catchIf(
            (e) => e.reason._tag === "PeerUnavailable" && e.reason.errorMessage === "CHANNEL_INVALID",
            (invalid) =>
              lease.client.resolveUsername(username).pipe(
                Effect.flatMap((info) => {
                  if (info.id !== channel.id) return Effect.fail(invalid)
                  ownHashes.set(key, info.accessHash)
                  return repo.savePeerHash(lease.name, channel.id, info.accessHash).pipe(
                    Effect.catch((e) =>
                      Effect.logWarning("could not save an account's access hash").pipe(
                        Effect.annotateLogs({ account: lease.name, error: e.message }),
                      )
                    ),
                    Effect.andThen(call({ id: channel.id, accessHash: info.accessHash })),
                  )
                }),
              ),
          ),
        )
      }

      return TelegramClient.of({
        accounts: clients.map((c) => c.account),
        resolveUsername: (username, observer) =>
          pool.run("resolve", (lease) => lease.client.resolveUsername(username), observer),
        getChannel: (id, accessHash, observer) =>
          pool.run("other", (lease) => lease.client.getChannel(id, accessHash), observer),
        getHistory: (channel, params, observer) =>
          pool.run(
            "history",
            (lease) => withOwnHash(lease, channel, (ch) => lease.client.getHistory(ch, params)),
            observer,
          ),
        getFullChannel: (channel, observer) =>
          pool.run("full", (lease) => withOwnHash(lease, channel, (ch) => lease.client.getFullChannel(ch)), observer),
        getChannelDifference: (channel, pts, limit, observer) =>
          pool.run(
            "updates",
            (lease) => withOwnHash(lease, channel, (ch) => lease.client.getChannelDifference(ch, pts, limit)),
            observer,
          ),
        getMessagesViews: (channel, ids, observer) =>
          pool.run(
            "views",
            (lease) => withOwnHash(lease, channel, (ch) => lease.client.getMessagesViews(ch, ids)),
            observer,
          ),
        getMessagesReactions: (channel, ids, observer) =>
          pool.run(
            "views",
            (lease) => withOwnHash(lease, channel, (ch) => lease.client.getMessagesReactions(ch, ids)),
            observer,
          ),
        listen: (listener) =>
          Effect.acquireRelease(
            Effect.sync(() => clients.map((c) => c.listen((signal) => listener(c.account, signal)))),
            (stops) => Effect.sync(() => stops.forEach((stop) => stop())),
          ).pipe(Effect.asVoid),
        onAccount: (account, methodClass, channel, call, observer) =>
          pool.run(
            methodClass,
            (lease) => withOwnHash(lease, channel, (ch) => call(lease.client, ch)),
            observer,
            new Set([account]),
          ),
        status,
        saveState: save,
        proxies: Effect.map(Clock.currentTimeMillis, (now) => proxies?.status(now) ?? []),
      })
    }),
  )
}

export type PoolError = TelegramError | NoAccountAvailable | WaitTooLong

export interface ConnectOptions extends Omit<GramClientOptions, "log" | "wire"> {
  /** Label for logs and metrics. */
  readonly account: string
  /** Timeout of every call. @default 30000 */
  readonly timeoutMs?: number
  /** GramJS's own log lines, scrubbed, at the Trace level (LOG_LEVEL=trace). @default false */
  readonly gramLog?: boolean
  /** Connect through a proxy of this pool: the same one while it works, another after it fails or rotates. */
  readonly proxies?: ProxyPool
}

function channelInfo(chat: any): ChannelInfo | undefined {
  if (chat?.className !== "Channel") return undefined
  return {
    id: Number(chat.id.toString()),
    accessHash: chat.accessHash?.toString() ?? "0",
    username: chat.username ?? chat.usernames?.[0]?.username ?? null,
    title: chat.title ?? "",
    kind: chat.megagroup ? "megagroup" : "broadcast",
    participantsCount: typeof chat.participantsCount === "number" ? chat.participantsCount : null,
  }
}

const inputPeer = (channel: ChannelRef) =>
  new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) })

const inputChannel = (channel: ChannelRef) =>
  new Api.InputChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) })

/**
 * The DC router: a request for DC `dc` goes through GramJS's exported sender for that DC (one per DC, authorized by
 * auth.exportAuthorization / importAuthorization once, reused, released after 30 s idle); a request for the account's
 * own DC (or an unknown one) goes on the main connection, which never moves.
 */
function invokeOn<R extends Api.AnyRequest>(client: GramClient, request: R, dc: number | undefined) {
  return dc === undefined || dc === client.session.dcId ? client.invoke(request) : client.invoke(request, dc)
}

interface Link {
  readonly client: GramClient
  readonly proxy: ProxyLease | undefined
  /** Fails once the server said it does not know the session's key: every call on this link fails with it. */
  readonly broken: Deferred.Deferred<never, TelegramError>
}

/** Every method the adapter calls (`mtproto_requests_total` has their series from the first scrape). */
export const TELEGRAM_METHODS = [
  "channels.GetChannels",
  "channels.GetFullChannel",
  "contacts.ResolveUsername",
  "messages.GetHistory",
  "messages.GetMessagesReactions",
  "messages.GetMessagesViews",
  "stats.GetBroadcastStats",
  "stats.GetMegagroupStats",
  "stats.GetMessagePublicForwards",
  "stats.GetMessageStats",
  "stats.LoadAsyncGraph",
  "updates.GetChannelDifference",
] as const
type TelegramMethod = (typeof TELEGRAM_METHODS)[number]

/** How long opening a connection may take before it fails (at most the call timeout). */
const CONNECT_TIMEOUT_MS = 10_000

/**
 * Counts a call in `mtproto_requests_total` (status success, flood_wait, timeout, error or cancelled), times it, counts
 * its errors by reason (`mtproto_errors_total{error_type}`: flood_wait, peer_unavailable, transient, ...), and traces
 * it as `mtproto.request.<method>`.
 */
function measured<A>(
  labels: { readonly method: string; readonly account: string; readonly dc: string },
  effect: Effect.Effect<A, TelegramError>,
): Effect.Effect<A, TelegramError> {
  return Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(effect)
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    const reason = exit._tag === "Success" ? undefined : failureType(exit.cause)
    const status: Metrics.RequestStatus = reason === undefined
      ? "success"
      : reason === "flood_wait" || reason === "timeout" || reason === "cancelled"
      ? reason
      : "error"
    yield* Metric.update(Metric.withAttributes(Metrics.requestsTotal, { ...labels, status }), 1)
    yield* Metric.update(Metric.withAttributes(Metrics.requestDuration, { method: labels.method }), seconds)
    if (reason !== undefined) {
      yield* Metric.update(Metric.withAttributes(Metrics.errorsTotal, { error_type: reason, component: "telegram" }), 1)
    }
    return yield* exit
  }).pipe(Effect.withSpan(`mtproto.request.${labels.method}`, { attributes: labels }))
}

/** What a failed call ran into: its reason in snake case ("flood_wait", "peer_unavailable", ...), else "cancelled". */
function failureType(cause: Cause.Cause<TelegramError>): string {
  const failure = cause.reasons.find(Cause.isFailReason)
  return failure ? failure.error.reason._tag.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase() : "cancelled"
}

/**
 * One account's connection for the scope's lifetime (disconnected when it closes). Without proxies GramJS keeps the
 * connection up by itself. With proxies the connection is opened lazily through the proxy the pool assigns; a
 * transport failure scores that proxy, and once it is banned the connection is dropped and the next call connects
 * through another one. A working connection is never moved.
 */
export const connectTelegram = Effect.fnUntraced(function* (options: ConnectOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000
  /** Opening a connection never waits as long as a call may: a dead address or proxy is named soon. */
  const connectTimeoutMs = Math.min(timeoutMs, CONNECT_TIMEOUT_MS)
  const account = options.account
  const proxies = options.proxies
  const failure = (method: string, e: unknown) => new TelegramError({ method, account, reason: reasonOf(e) })
  const timed = <A>(method: string, run: () => Promise<A>, millis = timeoutMs): Effect.Effect<A, TelegramError> =>
    Effect.tryPromise({ try: run, catch: (e) => failure(method, e) }).pipe(
      Effect.timeoutOrElse({
        duration: millis,
        orElse: () => Effect.fail(new TelegramError({ method, account, reason: new Timeout({ millis }) })),
      }),
    )
  const destroy = (client: GramClient) => Effect.promise(() => client.destroy().catch(() => undefined))

  // GramJS's own lines (LOG_LEVEL=trace), scrubbed by the client, go through a bounded queue to the Effect logger.
  let log: GramLogSink | undefined
  if (options.gramLog) {
    const lines = yield* Queue.sliding<{ readonly level: string; readonly message: string }>(1_000)
    log = (level, message) => Queue.offerUnsafe(lines, { level, message })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(lines), (line) =>
          Effect.logTrace(line.message).pipe(
            Effect.annotateLogs({ account, component: "gramjs", gramjsLevel: line.level }),
          )),
      ),
    )
  }

  yield* Metrics.initializeAccount(account, String(new StringSession(options.session).dcId), TELEGRAM_METHODS)

  let link: Link | undefined
  const lock = Semaphore.makeUnsafe(1)
  /** Update listeners, and the GramJS clients already delivering to them. */
  const listeners = new Set<(signal: AccountSignal) => void>()
  const listening = new WeakSet<GramClient>()
  const deliver = (update: unknown) => {
    const state = (update as { state?: unknown } | undefined)?.state
    const signal: AccountSignal | undefined = (update as { className?: unknown })?.className === undefined
      ? (state === 1 ? { _tag: "Connected" } : undefined)
      : normalizeUpdate(update)
    if (signal) { for (const l of listeners) l(signal) }
  }
  const attach = (client: GramClient) => {
    if (listeners.size === 0 || listening.has(client)) return
    listening.add(client)
    client.addEventHandler(deliver, new Raw({}))
  }
  yield* Effect.addFinalizer(() => Effect.suspend(() => (link ? destroy(link.client) : Effect.void)))

  /**
   * One client and its first connection. It fails as soon as GramJS gives up connecting (with the reason and the
   * address: "connection refused: 127.0.0.1:443 (DC 2)") or the server says it does not know the session's key
   * (AuthRevoked AUTH_KEY_UNKNOWN: the account is quarantined), not after a timeout.
   */
  const connectOnce = (proxy: ProxyLease | undefined) =>
    Effect.gen(function* () {
      const broken = Deferred.makeUnsafe<never, TelegramError>()
      let lastFailure: string | undefined
      const client = makeGramClient({
        ...options,
        ...(proxy ? { proxy: proxy.spec } : {}),
        ...(log ? { log } : {}),
        wire: {
          connectFailed: (description) => (lastFailure = description),
          // Only the main connection's key is the account's: an exported sender's (another DC) GramJS re-creates.
          unknownKey: (dc) => dc === client.session.dcId && Deferred.doneUnsafe(broken, Effect.fail(unknownKey(dc))),
        },
      })
      const connected = yield* Effect.result(
        Effect.raceFirst(
          timed("connect", () => client.connect(), connectTimeoutMs).pipe(
            Effect.flatMap((ok) =>
              ok ? Effect.void : Effect.fail(
                new TelegramError({
                  method: "connect",
                  account,
                  reason: new Transient({ code: -1, errorMessage: lastFailure ?? "could not connect" }),
                }),
              )
            ),
          ),
          Deferred.await(broken),
        ),
      )
      if (connected._tag === "Success") return { client, proxy, broken } satisfies Link
      // Released when connecting fails or times out: GramJS would otherwise go on reconnecting by itself.
      yield* destroy(client)
      return yield* Effect.fail(connected.failure)
    })

  /** The failure of every call once the server said it does not know the session's auth key. */
  const unknownKey = (dc: number) =>
    new TelegramError({
      method: "connect",
      account,
      reason: new AuthRevoked({
        code: 404,
        errorMessage: `AUTH_KEY_UNKNOWN (DC ${dc} does not know this session's key: log in again)`,
      }),
    })

  /** Connects (through the next proxy when there are proxies; each one is tried at most once per call). */
  const open = Effect.gen(function* () {
    const tries = proxies?.size ?? 1
    let last: TelegramError | undefined
    for (let i = 0; i < tries; i++) {
      const now = yield* Clock.currentTimeMillis
      const proxy = proxies?.acquire(account, now)
      if (proxies && proxy === undefined) break
      const connected = yield* Effect.result(connectOnce(proxy))
      if (connected._tag === "Success") {
        attach(connected.success.client)
        return link = connected.success
      }
      last = connected.failure
      if (!proxy || last.reason._tag === "AuthRevoked") break
      const banned = proxies!.fail(proxy, yield* Clock.currentTimeMillis)
      yield* Effect.logWarning(banned ? "proxy banned: connecting through another" : "proxy failed to connect")
        .pipe(Effect.annotateLogs({ account, proxy: proxy.masked, error: describeReason(last.reason) }))
    }
    if (last && (!proxies || last.reason._tag === "AuthRevoked")) return yield* last
    const recovery = proxies?.nextRecovery(yield* Clock.currentTimeMillis)
    return yield* new TelegramError({
      method: "connect",
      account,
      reason: new Transient({
        code: -1,
        errorMessage: recovery === undefined
          ? `no proxy could connect${last ? ` (${describeReason(last.reason)})` : ""}`
          : `every proxy is banned until ${new Date(recovery).toISOString()}`,
      }),
    })
  })
  const ensure = lock.withPermit(Effect.suspend(() => (link ? Effect.succeed(link) : open)))

  /** A call on the current connection; transport failures count against its proxy. */
  /** A call on the current connection (or, with `dc`, on that DC's exported sender), measured and traced. */
  const call = <A>(
    method: TelegramMethod,
    run: (client: GramClient) => Promise<A>,
    dc?: number,
  ): Effect.Effect<A, TelegramError> =>
    Effect.flatMap(ensure, (current) =>
      measured(
        { method, account, dc: String(dc ?? current.client.session.dcId) },
        Effect.raceFirst(timed(method, () => run(current.client)), Deferred.await(current.broken)),
      ).pipe(
        Effect.tap(() => Effect.sync(() => current.proxy && proxies!.succeed(current.proxy))),
        Effect.tapError((error) =>
          Effect.gen(function* () {
            const tag = error.reason._tag
            if (!current.proxy || (tag !== "Transient" && tag !== "Timeout")) return
            const now = yield* Clock.currentTimeMillis
            proxies!.fail(current.proxy, now)
            if (proxies!.isUsable(current.proxy, now) || link !== current) return
            link = undefined
            proxies!.release(account)
            yield* Effect.logWarning("proxy banned: the account reconnects through another").pipe(
              Effect.annotateLogs({ account, proxy: current.proxy.masked, error: describeReason(error.reason) }),
            )
            yield* destroy(current.client)
          })
        ),
      ))

  const notAChannel = (method: string) =>
    new TelegramError({ method, account, reason: new PeerUnavailable({ code: 400, errorMessage: "NOT_A_CHANNEL" }) })

  return {
    account,
    homeDc: () => link?.client.session.dcId,
    listen: (listener) => {
      listeners.add(listener)
      if (link) attach(link.client)
      return () => listeners.delete(listener)
    },
    getChannelDifference: (channel, pts, limit) =>
      call("updates.GetChannelDifference", (c) =>
        c.invoke(
          new Api.updates.GetChannelDifference({
            channel: inputChannel(channel),
            filter: new Api.ChannelMessagesFilterEmpty(),
            pts,
            limit,
          }),
        )).pipe(Effect.map((r) => channelDifference(r, channel.id))),
    getMessagesViews: (channel, ids) =>
      call(
        "messages.GetMessagesViews",
        (c) =>
          c.invoke(new Api.messages.GetMessagesViews({ peer: inputPeer(channel), id: [...ids], increment: false })),
      ).pipe(
        Effect.map((r) =>
          r.views.flatMap((v: any, i: number): Array<PostViews> =>
            ids[i] === undefined ? [] : [{
              msgId: ids[i]!,
              views: typeof v.views === "number" ? v.views : null,
              forwards: typeof v.forwards === "number" ? v.forwards : null,
              replies: typeof v.replies?.replies === "number" ? v.replies.replies : null,
            }]
          )
        ),
      ),
    getMessagesReactions: (channel, ids) =>
      call(
        "messages.GetMessagesReactions",
        (c) => c.invoke(new Api.messages.GetMessagesReactions({ peer: inputPeer(channel), id: [...ids] })),
      ).pipe(
        Effect.map((r: any) =>
          (r.updates ?? []).flatMap((u: any): Array<MetricEvent> => {
            if (u?.className !== "UpdateMessageReactions") return []
            const { byKey, total } = reactionsOf(u.reactions)
            return [{
              _tag: "Reactions",
              channelId: channel.id,
              msgId: Number(u.msgId),
              reactions: byKey,
              reactionsTotal: total,
            }]
          })
        ),
      ),
    connect: Effect.asVoid(ensure),
    getFullChannel: (channel) =>
      call(
        "channels.GetFullChannel",
        (c) => c.invoke(new Api.channels.GetFullChannel({ channel: inputChannel(channel) })),
      ).pipe(
        Effect.map((r): FullChannel => {
          const full = r.fullChat as any
          return {
            canViewStats: full?.canViewStats === true,
            statsDc: typeof full?.statsDc === "number" ? full.statsDc : null,
            participantsCount: typeof full?.participantsCount === "number" ? full.participantsCount : null,
            pts: typeof full?.pts === "number" ? full.pts : null,
          }
        }),
      ),
    broadcastStats: (channel, dc) =>
      call(
        "stats.GetBroadcastStats",
        (c) => invokeOn(c, new Api.stats.GetBroadcastStats({ channel: inputChannel(channel) }), dc),
        dc,
      ).pipe(
        Effect.map(channelStats),
      ),
    megagroupStats: (channel, dc) =>
      call(
        "stats.GetMegagroupStats",
        (c) => invokeOn(c, new Api.stats.GetMegagroupStats({ channel: inputChannel(channel) }), dc),
        dc,
      ).pipe(
        Effect.map(channelStats),
      ),
    loadAsyncGraph: (token, dc, x) =>
      call(
        "stats.LoadAsyncGraph",
        (c) => invokeOn(c, new Api.stats.LoadAsyncGraph({ token, ...(x === undefined ? {} : { x: bigInt(x) }) }), dc),
        dc,
      ).pipe(
        Effect.map((r) =>
          rawGraph(r) ?? { _tag: "Error" as const, error: `unexpected ${String((r as any)?.className)}` }
        ),
      ),
    messageStats: (channel, msgId, dc) =>
      call(
        "stats.GetMessageStats",
        (c) => invokeOn(c, new Api.stats.GetMessageStats({ channel: inputChannel(channel), msgId }), dc),
        dc,
      ).pipe(
        Effect.map(messageStats),
      ),
    publicForwards: (channel, msgId, page, dc) =>
      call("stats.GetMessagePublicForwards", (c) =>
        invokeOn(
          c,
          new Api.stats.GetMessagePublicForwards({
            channel: inputChannel(channel),
            msgId,
            offset: page.offset,
            limit: page.limit,
          }),
          dc,
        ), dc).pipe(Effect.map(publicForwards)),
    proxy: () => link?.proxy?.masked ?? null,
    resolveUsername: (username) =>
      call("contacts.ResolveUsername", (c) => c.invoke(new Api.contacts.ResolveUsername({ username }))).pipe(
        Effect.flatMap((r) => {
          const info = channelInfo(r.chats.find((c: any) => c.className === "Channel"))
          return info ? Effect.succeed(info) : Effect.fail(notAChannel("contacts.ResolveUsername"))
        }),
      ),
    getChannel: (id, accessHash) =>
      call("channels.GetChannels", (c) =>
        c.invoke(
          new Api.channels.GetChannels({
            id: [new Api.InputChannel({ channelId: bigInt(id), accessHash: bigInt(accessHash) })],
          }),
        )).pipe(
          Effect.flatMap((r) => {
            const info = channelInfo(r.chats[0])
            return info ? Effect.succeed(info) : Effect.fail(notAChannel("channels.GetChannels"))
          }),
        ),
    getHistory: (channel, params) =>
      call("messages.GetHistory", (c) =>
        c.invoke(
          new Api.messages.GetHistory({
            peer: inputPeer(channel),
            offsetId: params.offsetId,
            offsetDate: params.offsetDate ?? 0,
            addOffset: params.addOffset,
            limit: params.limit,
            maxId: params.maxId,
            minId: params.minId,
            hash: bigInt.zero,
          }),
        )).pipe(
          Effect.map((r: any): HistoryPage => ({
            messages: r.messages ?? [],
            count: typeof r.count === "number" ? r.count : (r.messages?.length ?? 0),
            offsetIdOffset: typeof r.offsetIdOffset === "number" ? r.offsetIdOffset : undefined,
            pts: typeof r.pts === "number" ? r.pts : undefined,
          })),
        ),
  } satisfies AccountClient
})

// ---------------------------------------------------------------------------------------------------------------
// Logging in (deno task login).

export interface LoginPrompts {
  readonly phone: () => Promise<string>
  readonly code: () => Promise<string>
  readonly password: (hint: string | undefined) => Promise<string>
  /** A wrong code or password: said before asking again. */
  readonly retry: (what: string) => void
}

/** Tries of a code or a password before the login gives up. */
const LOGIN_TRIES = 3

/**
 * Signs in with phone, code and (when the account has one) the 2FA password, and returns the new session string. The
 * client is destroyed before this returns; nothing here logs the session. Fails with a TelegramError whose reason
 * says what went wrong (PHONE_NUMBER_INVALID, PHONE_CODE_INVALID after the last try, PASSWORD_HASH_INVALID, ...).
 */
export const login = (options: GramClientOptions & { readonly timeoutMs?: number }, prompts: LoginPrompts) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeGramClient({ ...options, session: "" })),
    (client) => {
      /** The refusal that ended the login (GramJS throws its own "AUTH_USER_CANCEL" after it). */
      let last: unknown
      return Effect.tryPromise({
        try: async () => {
          await client.connect()
          let failures = 0
          await client.start({
            phoneNumber: prompts.phone,
            phoneCode: () => prompts.code(),
            password: (hint?: string) => prompts.password(hint),
            onError: (err: any) => {
              last = err
              const message = String(err?.errorMessage ?? "")
              const again = (message === "PHONE_CODE_INVALID" || message === "PASSWORD_HASH_INVALID") &&
                ++failures < LOGIN_TRIES
              if (again) prompts.retry(message === "PHONE_CODE_INVALID" ? "wrong code" : "wrong password")
              return Promise.resolve(!again)
            },
          })
          if (!(await client.isUserAuthorized())) throw last ?? new Error("not signed in")
          return (client.session as StringSession).save()
        },
        catch: (e) => new TelegramError({ method: "login", account: "login", reason: reasonOf(last ?? e) }),
      }).pipe(
        Effect.timeoutOrElse({
          duration: options.timeoutMs ?? 600_000,
          orElse: () =>
            Effect.fail(
              new TelegramError({
                method: "login",
                account: "login",
                reason: new Timeout({ millis: options.timeoutMs ?? 600_000 }),
              }),
            ),
        }),
      )
    },
    (client) => Effect.promise(() => client.destroy().catch(() => undefined)),
  )
