/** The only tgpulse module that imports GramJS: building clients (routed to the sandbox when asked) and sessions. */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import { Logger, TelegramClient as GramClient } from "telegram"
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
    baseLogger: new Logger(Deno.env.get("GRAMJS_DEBUG") ? LogLevel.DEBUG : LogLevel.NONE),
  })
  client.floodSleepThreshold = 0
  return client
}
