/**
 * One account's connection to Telegram, as an AccountClient: domain records in, domain records out. Every call has a
 * timeout, is measured (mtproto_requests_total, duration, errors) and traced, and fails with a TelegramError. The
 * connection opens lazily (through a proxy of the pool when there are proxies; a proxy that fails is scored and, once
 * banned, replaced at the next connection), fails at once when GramJS gives up or the server does not know the key,
 * and is closed with the scope. Updates come as a bounded Stream.
 */
import { Cause, Clock, Deferred, Effect, FiberSet, Metric, Queue, type Scope, Semaphore, Stream } from "effect"
import { Raw } from "telegram/events/index.js"
import { StringSession } from "telegram/sessions/index.js"
import type { AccountClient, AccountSignal } from "../domain/Telegram.ts"
import { AuthRevoked, describeReason, TelegramError, Timeout, Transient } from "../domain/TelegramError.ts"
import * as Metrics from "../observe/Metrics.ts"
import type { ProxyLease, ProxyPool } from "../pool/ProxyPool.ts"
import { type GramClient, type GramClientOptions, makeGramClient } from "./GramClient.ts"
import { dialogRequests } from "./DialogRequests.ts"
import { inlineDecoder, type PageDecoder } from "./PageDecoder.ts"
import { requests, TELEGRAM_METHODS, type TelegramMethod } from "./Requests.ts"
import { reasonOf } from "./RpcError.ts"
import type { GramLogSink } from "./Transport.ts"
import { normalizeUpdate } from "./UpdatesNormalize.ts"

export interface ConnectOptions extends Omit<GramClientOptions, "log" | "wire"> {
  /** Label for logs and metrics. */
  readonly account: string
  /** Timeout of every call. @default 30000 */
  readonly timeoutMs?: number
  /** GramJS's own log lines, scrubbed, at the Trace level (LOG_LEVEL=trace). @default false */
  readonly gramLog?: boolean
  /** Connect through a proxy of this pool: the same one while it works, another after it fails or rotates. */
  readonly proxies?: ProxyPool
  /** Decodes getHistory answers. @default inlineDecoder (on the connection's thread) */
  readonly decoder?: PageDecoder
}

interface Link {
  readonly client: GramClient
  readonly proxy: ProxyLease | undefined
  /** Fails once the server said it does not know the session's key: every call on this link fails with it. */
  readonly broken: Deferred.Deferred<never, TelegramError>
}

/** How long opening a connection may take before it fails (at most the call timeout). */
const CONNECT_TIMEOUT_MS = 10_000

/** Updates an account's stream holds before its connection's update dispatch waits for the reader. */
const UPDATES_BUFFER = 10_000

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

/** GramJS's own lines (LOG_LEVEL=trace), already scrubbed, through a bounded queue to the Effect logger. */
const gramLogSink = (account: string): Effect.Effect<GramLogSink, never, Scope.Scope> =>
  Effect.gen(function* () {
    const lines = yield* Queue.sliding<{ readonly level: string; readonly message: string }>(1_000)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(lines), (line) =>
          Effect.logTrace(line.message).pipe(
            Effect.annotateLogs({ account, component: "gramjs", gramjsLevel: line.level }),
          )),
      ),
    )
    return (level, message) => Queue.offerUnsafe(lines, { level, message })
  })

/** One account's AccountClient for the scope's lifetime (its connection is closed when the scope closes). */
export const connectAccount = Effect.fnUntraced(function* (options: ConnectOptions) {
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
  const log = options.gramLog ? yield* gramLogSink(account) : undefined

  yield* Metrics.initializeAccount(account, String(new StringSession(options.session).dcId), TELEGRAM_METHODS)

  let link: Link | undefined
  const lock = yield* Semaphore.make(1)
  /** The update streams' listeners, and the GramJS clients already delivering to them. */
  const listeners = new Set<(signal: AccountSignal) => Promise<void>>()
  const listening = new WeakSet<GramClient>()
  /** GramJS awaits the promise: a full stream buffer makes its update dispatch wait, in order. */
  const deliver = (update: unknown): Promise<void> => {
    const state = (update as { state?: unknown } | undefined)?.state
    const signal: AccountSignal | undefined = (update as { className?: unknown })?.className === undefined
      ? (state === 1 ? { _tag: "Connected" } : undefined)
      : normalizeUpdate(update)
    return signal ? Promise.all([...listeners].map((l) => l(signal))).then(() => undefined) : Promise.resolve()
  }
  const attach = (client: GramClient) => {
    if (listeners.size === 0 || listening.has(client)) return
    listening.add(client)
    client.addEventHandler(deliver, new Raw({}))
  }
  yield* Effect.addFinalizer(() => Effect.suspend(() => (link ? destroy(link.client) : Effect.void)))

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

  /**
   * One client and its first connection. It fails as soon as GramJS gives up connecting (with the reason and the
   * address: "connection refused: 127.0.0.1:443 (DC 2)") or the server says it does not know the session's key
   * (AuthRevoked AUTH_KEY_UNKNOWN: the account is quarantined), not after a timeout.
   */
  const connectOnce = (proxy: ProxyLease | undefined) =>
    Effect.gen(function* () {
      const broken = yield* Deferred.make<never, TelegramError>()
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

  /** Connects (through the next proxy when there are proxies; each one is tried at most once per call). */
  const open = Effect.gen(function* () {
    const tries = proxies?.size ?? 1
    let last: TelegramError | undefined
    for (let i = 0; i < tries; i++) {
      const proxy = proxies?.acquire(account, yield* Clock.currentTimeMillis)
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

  /**
   * A call on the current connection (or, with `dc`, on that DC's exported sender), measured and traced; transport
   * failures count against its proxy, and a banned proxy's connection is dropped (the next call connects again).
   */
  const call = <A>(method: TelegramMethod, run: (client: GramClient) => Promise<A>, dc?: number) =>
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

  const updates: Stream.Stream<AccountSignal> = Stream.callback<AccountSignal>(
    (queue) =>
      Effect.gen(function* () {
        const run = yield* FiberSet.makeRuntimePromise<never>()
        const listener = (signal: AccountSignal) => run(Queue.offer(queue, signal)).then(() => undefined)
        listeners.add(listener)
        if (link) attach(link.client)
        yield* Effect.addFinalizer(() => Effect.sync(() => listeners.delete(listener)))
      }),
    { bufferSize: UPDATES_BUFFER, strategy: "suspend" },
  )

  return {
    account,
    homeDc: () => link?.client.session.dcId,
    proxy: () => link?.proxy?.masked ?? null,
    connect: Effect.asVoid(ensure),
    updates,
    resolveUsername: (username) => call("contacts.ResolveUsername", (c) => requests.resolveUsername(c, username)),
    getChannel: (id, accessHash) => call("channels.GetChannels", (c) => requests.getChannel(c, id, accessHash)),
    getHistory: (channel, params) =>
      call("messages.GetHistory", (c) => requests.getHistory(c, channel, params, options.decoder ?? inlineDecoder)),
    getFullChannel: (channel) => call("channels.GetFullChannel", (c) => requests.getFullChannel(c, channel)),
    getDialogs: (offset, limit) => call("messages.GetDialogs", (c) => dialogRequests.getDialogs(c, offset, limit)),
    checkChatInvite: (hash) => call("messages.CheckChatInvite", (c) => dialogRequests.checkChatInvite(c, hash)),
    importChatInvite: (hash) => call("messages.ImportChatInvite", (c) => dialogRequests.importChatInvite(c, hash)),
    getReplies: (channel, postId, params) =>
      call("messages.GetReplies", (c) => requests.getReplies(c, channel, postId, params)),
    broadcastStats: (channel, dc) =>
      call("stats.GetBroadcastStats", (c) => requests.broadcastStats(c, channel, dc), dc),
    megagroupStats: (channel, dc) =>
      call("stats.GetMegagroupStats", (c) => requests.megagroupStats(c, channel, dc), dc),
    loadAsyncGraph: (token, dc, x) => call("stats.LoadAsyncGraph", (c) => requests.loadAsyncGraph(c, token, dc, x), dc),
    messageStats: (channel, msgId, dc) =>
      call("stats.GetMessageStats", (c) => requests.messageStats(c, channel, msgId, dc), dc),
    publicForwards: (channel, msgId, page, dc) =>
      call("stats.GetMessagePublicForwards", (c) => requests.publicForwards(c, channel, msgId, page, dc), dc),
    getChannelDifference: (channel, pts, limit) =>
      call("updates.GetChannelDifference", (c) => requests.getChannelDifference(c, channel, pts, limit)),
    getMessagesViews: (channel, ids) =>
      call("messages.GetMessagesViews", (c) => requests.getMessagesViews(c, channel, ids)),
    getMessagesReactions: (channel, ids) =>
      call("messages.GetMessagesReactions", (c) => requests.getMessagesReactions(c, channel, ids)),
    getMessagesByIds: (channel, ids) => call("channels.GetMessages", (c) => requests.getMessagesByIds(c, channel, ids)),
  } satisfies AccountClient
})
