/** Test support: a sandbox per test, GramJS clients routed to it, and the framings GramJS lacks. */
import { Buffer } from "node:buffer"
import { Effect } from "effect"
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import { Connection } from "telegram/network/connection/index.js"
import type { HistoryQuery } from "../../src/sandbox/Model.ts"
import { Sandbox, type SandboxOptions } from "../../src/sandbox/Sandbox.ts"
import { makeGramClient } from "../../src/telegram/TelegramClient.ts"
import type { ConnectionClass, TransportName } from "../../src/telegram/Transport.ts"
import { historyQuery } from "./world.ts"

export type LogLine = { level: string; message: string; fields: Record<string, unknown> | undefined }

/** A sandbox for the current Effect scope (stopped when it closes). */
export const scopedSandbox = (options: SandboxOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startSandbox(options)),
    (s) => Effect.promise(() => s.stop()),
  )

/** Starts a sandbox that records its log lines in `logs`. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox & { logs: Array<LogLine> }> {
  const logs: Array<LogLine> = []
  const sandbox = await Sandbox.start({
    ...options,
    log: (level, message, fields) => logs.push({ level, message, fields }),
  })
  return Object.assign(sandbox, { logs })
}

export interface ClientOptions {
  /** Index of a descriptor account whose ready session to use; omit for a fresh, unauthorized session. */
  readonly account?: number
  readonly session?: string
  readonly transport?: TransportName
  readonly connection?: ConnectionClass
}

/** A GramJS client routed to the sandbox; `destroy()` it when done. */
export function gramClient(sandbox: Sandbox, options: ClientOptions = {}): TelegramClient {
  const d = sandbox.descriptor
  const session = options.session ?? (options.account === undefined ? "" : d.accounts[options.account]!.session)
  return makeGramClient({
    session,
    apiId: d.apiId,
    apiHash: d.apiHash,
    sandbox: d,
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.connection ? { connection: options.connection } : {}),
    connectionRetries: 5,
    retryDelay: 20,
  })
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
