/** Test support: a sandbox per test, GramJS clients routed to it, the framings GramJS lacks, and admin API calls. */
import { Buffer } from "node:buffer"
import bigInt from "big-integer"
import { Api, Logger, TelegramClient } from "telegram"
import { _serverKeys } from "telegram/crypto/RSA.js"
import { LogLevel } from "telegram/extensions/Logger.js"
import {
  Connection,
  ConnectionTCPAbridged,
  ConnectionTCPFull,
  ConnectionTCPObfuscated,
} from "telegram/network/connection/index.js"
import { StringSession } from "telegram/sessions/index.js"
import { Sandbox, type SandboxOptions } from "../../Sandbox.ts"
import type { HistoryQuery } from "../../world/Model.ts"
import { historyQuery } from "../../world/History.ts"

export type LogLine = { level: string; message: string; fields: Record<string, unknown> | undefined }

/** Starts a sandbox that records its log lines in `logs`. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox & { logs: Array<LogLine> }> {
  const logs: Array<LogLine> = []
  const sandbox = await Sandbox.start({
    ...options,
    log: (level, message, fields) => logs.push({ level, message, fields }),
  })
  return Object.assign(sandbox, { logs })
}

/** Any GramJS connection class. */
export type ConnectionClass = typeof Connection

export type TransportName = "full" | "abridged" | "obfuscated"

const CONNECTIONS: Readonly<Record<TransportName, ConnectionClass>> = {
  full: ConnectionTCPFull,
  abridged: ConnectionTCPAbridged,
  obfuscated: ConnectionTCPObfuscated,
}

export interface ClientOptions {
  /** Index of a descriptor account whose ready session to use; omit for a fresh, unauthorized session. */
  readonly account?: number
  readonly session?: string
  readonly transport?: TransportName
  readonly connection?: ConnectionClass
}

/**
 * A GramJS client of the sandbox: every DC routed to the sandbox's port for it (GramJS ignores ports, so the connection
 * class routes by DC id), the sandbox's RSA key trusted, no sleeping on flood waits, no log. `destroy()` it when done.
 */
export function gramClient(sandbox: Sandbox, options: ClientOptions = {}): TelegramClient {
  const d = sandbox.descriptor
  // GramJS keeps the keys it trusts in a module-level map.
  _serverKeys.set(sandbox.rsa.fingerprint.toString(), { n: bigInt(sandbox.rsa.n.toString()), e: sandbox.rsa.e })
  const given = options.session ?? (options.account === undefined ? "" : d.accounts[options.account]!.session)
  const session = new StringSession(given)
  const dcs = new Map(d.dcs.map((dc) => [dc.id, dc]))
  const main = dcs.get(d.mainDc)!
  if (given === "") session.setDC(main.id, main.host, 443)
  const base = options.connection ?? CONNECTIONS[options.transport ?? "full"]
  const routed = class extends base {
    constructor(params: ConstructorParameters<ConnectionClass>[0]) {
      const dc = dcs.get(params.dcId) ?? main
      super({ ...params, ip: dc.host, port: dc.port })
    }
  } as ConnectionClass
  const client = new TelegramClient(session, d.apiId, d.apiHash, {
    connection: routed,
    connectionRetries: 5,
    retryDelay: 20,
    floodSleepThreshold: 0,
    autoReconnect: true,
    baseLogger: new Logger(LogLevel.NONE),
  })
  client.onError = () => Promise.resolve()
  client.floodSleepThreshold = 0
  return client
}

/** A messages.getHistory request for a descriptor channel: a first page of 100 unless overridden. */
export function historyRequest(
  channel: { readonly id: number; readonly accessHash: string },
  q: Partial<HistoryQuery> = {},
): Api.messages.GetHistory {
  const { hash, ...rest } = historyQuery(q)
  return new Api.messages.GetHistory({
    peer: new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) }),
    ...rest,
    hash: bigInt(hash.toString()),
  })
}

/** How long a test waits for an event before it fails: only a hang lasts this long, never a slow machine. */
const HANG_MS = 60_000

/**
 * `promise`, or a failure naming `what` should it not settle within `ms` (this keeps a regression from hanging the
 * suite; it is never a measure of speed).
 */
export function unlessHung<T>(what: string, promise: Promise<T>, ms = HANG_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Still waiting for ${what} after ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer))
}

/**
 * Resolves once `check` holds, polled every `everyMs` (a check that throws counts as false): for state with no event
 * to wait on, such as a connection's close reaching the server. Fails as a hang after `ms`.
 */
export function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  options: { readonly everyMs?: number; readonly ms?: number } = {},
): Promise<void> {
  let stopped = false
  const polling = (async () => {
    while (!stopped && !(await Promise.resolve().then(check).catch(() => false))) {
      await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 20))
    }
  })()
  // A hang ends the polling too (it would otherwise go on after the test failed).
  return unlessHung(what, polling, options.ms ?? HANG_MS).finally(() => (stopped = true))
}

/** Deno.test for tests that hold GramJS clients (GramJS leaves timers behind that the sanitizers would flag). */
export function sandboxTest(name: string, fn: () => Promise<void>, options: { ignore?: boolean } = {}): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false, ...options })
}

// GramJS has no intermediate connection classes; these codecs speak the intermediate and padded framings.
class IntermediateCodec {
  tag: Buffer | undefined = Buffer.from("eeeeeeee", "hex")
  obfuscateTag: Buffer | undefined = Buffer.from("eeeeeeee", "hex")
  constructor(_connection: unknown) {}
  encodePacket(data: Buffer): Buffer {
    const len = Buffer.alloc(4)
    len.writeInt32LE(data.length, 0)
    return Buffer.concat([len, data])
  }
  async readPacket(reader: { read(n: number): Promise<Buffer> }): Promise<Buffer> {
    const len = (await reader.read(4)).readInt32LE(0)
    return reader.read(len)
  }
}

class PaddedCodec extends IntermediateCodec {
  override tag = Buffer.from("dddddddd", "hex")
  override obfuscateTag = Buffer.from("dddddddd", "hex")
  override encodePacket(data: Buffer): Buffer {
    const pad = Buffer.alloc(data.length % 7)
    const len = Buffer.alloc(4)
    len.writeInt32LE(data.length + pad.length, 0)
    return Buffer.concat([len, data, pad])
  }
  override async readPacket(reader: { read(n: number): Promise<Buffer> }): Promise<Buffer> {
    const len = (await reader.read(4)).readInt32LE(0)
    const packet = await reader.read(len)
    // Server packets: a 4-byte error, or an MTProto message whose own header says where it ends.
    if (len === 4) return packet
    const authKeyId = packet.readBigUInt64LE(0)
    if (authKeyId === 0n) return packet.subarray(0, 20 + packet.readInt32LE(16))
    return packet.subarray(0, len - ((len - 24) % 16))
  }
}

export const ConnectionTCPIntermediate = class extends Connection {
  override PacketCodecClass = IntermediateCodec as any
} as unknown as ConnectionClass

export const ConnectionTCPPadded = class extends Connection {
  override PacketCodecClass = PaddedCodec as any
} as unknown as ConnectionClass

/** Admin API call against the sandbox. */
export async function admin(
  sandbox: Sandbox,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<any> {
  const res = await fetch(`${sandbox.descriptor.admin}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    ...(init.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } }),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}
