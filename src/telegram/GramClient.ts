/**
 * GramJS clients as tgpulse makes them: never sleeping on a flood wait by itself (floodSleepThreshold 0), every DC
 * routed to the sandbox when one is named (and its RSA key trusted), every connection watched (refusals, unknown
 * keys), and GramJS's own log scrubbed of every secret it was given.
 */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import "./FastPaths.ts"
import { TelegramClient as GramClient } from "telegram"
import { StringSession } from "telegram/sessions/index.js"
import type { Descriptor } from "@tgpulse/sandbox/descriptor"
import { maskProxy, type ProxySpec } from "../domain/Proxy.ts"
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

export { GramClient }

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

/** The rows GramJS's session keeps of every entity it saw: `[id, accessHash, username, phone, name]`. */
type EntityRow = [unknown, ...Array<unknown>]
interface EntityRows {
  _entities: Set<EntityRow>
  _entitiesToRows(tlo: unknown): Array<EntityRow>
  processEntities(tlo: unknown): void
}

/**
 * GramJS's session adds the rows of every answer's and every update's users and chats to a Set of fresh arrays, which
 * never deduplicates: a client following updates grew it by ~400 rows a second (bench updates at 2,500/s) for as long as
 * it ran. Here it keeps one row per id, the latest, which is what GramJS's lookups by id find anyway.
 */
export function boundEntities(session: StringSession): void {
  const rows = session as unknown as EntityRows
  const byId = new Map<string, EntityRow>()
  rows.processEntities = (tlo: unknown) => {
    for (const row of rows._entitiesToRows(tlo)) {
      const id = String(row[0])
      const previous = byId.get(id)
      if (previous) rows._entities.delete(previous)
      byId.set(id, row)
      rows._entities.add(row)
    }
  }
}

/**
 * A GramJS client that never sleeps on flood waits by itself (floodSleepThreshold 0) and logs nothing.
 * With `sandbox`, the session's DC address is pointed at the sandbox too.
 */
export function makeGramClient(options: GramClientOptions): GramClient {
  const base = options.connection ?? CONNECTIONS[options.transport ?? "full"]
  const session = new StringSession(options.session)
  boundEntities(session)
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
