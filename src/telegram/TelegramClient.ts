/**
 * The only tgpulse module that imports GramJS: clients (routed to the sandbox when asked) and the TelegramClient
 * service, whose every call has a timeout and fails with a TelegramError.
 */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import { Api, Logger, TelegramClient as GramClient } from "telegram"
import { Context, Effect, Layer, Redacted } from "effect"
import { AppConfig } from "../Config.ts"
import type { ConfigError } from "../domain/Errors.ts"
import { resolveAccounts } from "./Accounts.ts"
import { reasonOf } from "./RpcError.ts"
import { PeerUnavailable, TelegramError, Timeout } from "./TelegramError.ts"
import { LogLevel } from "telegram/extensions/Logger.js"
import {
  Connection,
  ConnectionTCPAbridged,
  ConnectionTCPFull,
  ConnectionTCPObfuscated,
} from "telegram/network/connection/index.js"
import { StringSession } from "telegram/sessions/index.js"
import { _serverKeys } from "telegram/crypto/RSA.js"
import bigInt from "big-integer"
import { createPublicKey } from "node:crypto"
import { Buffer } from "node:buffer"
import type { Descriptor } from "../sandbox/Descriptor.ts"

export type TransportName = "full" | "abridged" | "obfuscated"

const CONNECTIONS: Readonly<Record<TransportName, typeof Connection>> = {
  full: ConnectionTCPFull,
  abridged: ConnectionTCPAbridged,
  obfuscated: ConnectionTCPObfuscated,
}

/** Any GramJS connection class. */
export type ConnectionClass = typeof Connection

/** A GramJS connection class whose every connection goes to the sandbox DC with the same id (GramJS ignores ports). */
export function routedConnection(descriptor: Descriptor, base: ConnectionClass): ConnectionClass {
  const ports = new Map(descriptor.dcs.map((dc) => [dc.id, dc]))
  return class RoutedConnection extends base {
    constructor(params: ConstructorParameters<ConnectionClass>[0]) {
      const dc = ports.get(params.dcId) ?? ports.get(descriptor.mainDc)!
      super({ ...params, ip: dc.host, port: dc.port })
    }
  } as ConnectionClass
}

/** Makes GramJS trust the sandbox's RSA key (GramJS keeps known keys in a module-level map). */
export function trustSandboxKey(descriptor: Descriptor): void {
  const jwk = createPublicKey(descriptor.rsaPublicKey.pem).export({ format: "jwk" }) as { n: string; e: string }
  const n = bigInt(Buffer.from(jwk.n, "base64url").toString("hex"), 16)
  const e = Number.parseInt(Buffer.from(jwk.e, "base64url").toString("hex"), 16)
  _serverKeys.set(descriptor.rsaPublicKey.fingerprint, { n, e })
}

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
  /** GramJS's own debug log (LOG_LEVEL=trace). @default false */
  readonly debug?: boolean
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
  const client = new GramClient(session, options.apiId, options.apiHash, {
    connection: options.sandbox ? routedConnection(options.sandbox, base) : base,
    connectionRetries: options.connectionRetries ?? 3,
    retryDelay: options.retryDelay ?? 100,
    floodSleepThreshold: 0,
    autoReconnect: true,
    baseLogger: new Logger(options.debug ? LogLevel.DEBUG : LogLevel.NONE),
  })
  client.floodSleepThreshold = 0
  return client
}

// ---------------------------------------------------------------------------------------------------------------
// The service the collector uses: one connected account, every call with a timeout, errors as TelegramError.

/** A channel as Telegram describes it (access hash as a decimal string). */
export interface ChannelInfo {
  readonly id: number
  readonly accessHash: string
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  readonly participantsCount: number | null
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
}

export class TelegramClient extends Context.Service<TelegramClient, {
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
}>()("tgpulse/telegram/TelegramClient") {
  /** The first configured account (or the sandbox's first test account), connected for the layer's lifetime. */
  static readonly layer: Layer.Layer<TelegramClient, ConfigError | TelegramError, AppConfig> = Layer.effect(
    TelegramClient,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const { apiId, apiHash, accounts, sandbox } = yield* resolveAccounts(config)
      const account = accounts[0]!
      return yield* connectTelegram({
        account: account.label,
        session: Redacted.value(account.session),
        apiId,
        apiHash: Redacted.value(apiHash),
        debug: config.observe.logLevel === "trace",
        ...(sandbox ? { sandbox } : {}),
      })
    }),
  )
}

export interface ConnectOptions extends GramClientOptions {
  /** Label for logs and metrics. */
  readonly account: string
  /** Timeout of every call. @default 30000 */
  readonly timeoutMs?: number
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

const inputPeer = (channel: { readonly id: number; readonly accessHash: string }) =>
  new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) })

/** Connects one account (disconnected when the scope closes) and returns the service for it. */
export const connectTelegram = Effect.fnUntraced(function* (options: ConnectOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000
  const account = options.account
  /** A GramJS promise as an Effect with a timeout; whatever GramJS throws becomes a TelegramError. */
  const call = <A>(method: string, run: () => Promise<A>): Effect.Effect<A, TelegramError> =>
    Effect.tryPromise({
      try: run,
      catch: (e) => new TelegramError({ method, account, reason: reasonOf(e) }),
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(new TelegramError({ method, account, reason: new Timeout({ millis: timeoutMs }) })),
      }),
    )
  // Released even when connecting fails or times out: GramJS would otherwise go on reconnecting in the background.
  const client = yield* Effect.acquireRelease(
    Effect.sync(() => makeGramClient(options)),
    (c) => Effect.promise(() => c.destroy().catch(() => undefined)),
  )
  yield* call("connect", () => client.connect())
  const notAChannel = (method: string) =>
    new TelegramError({ method, account, reason: new PeerUnavailable({ code: 400, errorMessage: "NOT_A_CHANNEL" }) })

  return TelegramClient.of({
    account,
    resolveUsername: (username) =>
      call("contacts.ResolveUsername", () => client.invoke(new Api.contacts.ResolveUsername({ username }))).pipe(
        Effect.flatMap((r) => {
          const info = channelInfo(r.chats.find((c: any) => c.className === "Channel"))
          return info ? Effect.succeed(info) : Effect.fail(notAChannel("contacts.ResolveUsername"))
        }),
      ),
    getChannel: (id, accessHash) =>
      call("channels.GetChannels", () =>
        client.invoke(
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
      call("messages.GetHistory", () =>
        client.invoke(
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
          })),
        ),
  })
})
