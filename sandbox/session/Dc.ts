/** One sandbox data centre: a TCP listener, its connections, the auth keys it knows and its server msg_ids. */
import type { KeyWatch } from "../control/KeyWatch.ts"
import { Buffer } from "node:buffer"
import { authKeyId, type RsaKey } from "../transport/Crypto.ts"
import { Connection } from "./Connection.ts"
import { periodOf } from "./Salts.ts"
import type { SessionState } from "./SessionState.ts"
import type { Caller } from "./Rpc.ts"
import { expired, type TempKey, temporaryKey, unbind } from "./TempKeys.ts"
import { LayerError, loadedSchema, servedLayer, updatesFromOwn } from "../tl/Layers.ts"
import { LAYER } from "../tl/Tl.ts"

export type LogLevel = "debug" | "info" | "warn" | "error"
export type LogFn = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void

/** An auth key this DC knows, with what it is authorized as and its sessions. */
export interface AuthKeyEntry {
  readonly id: bigint
  readonly key: Uint8Array
  /** The user it acts as: its own sign-in, or (a temporary key) that of the permanent key it is bound to. */
  userId: number | undefined
  /** Its first salt and the period it belongs to (the later ones: Salts.ts). */
  salt: bigint
  saltPeriod: number
  readonly sessions: Map<bigint, SessionState>
  /** Used by two live sessions at once while duplicated keys are refused: every later call answers 406. */
  duplicated?: boolean
  /** A temporary key: its expiry and binding (TempKeys.ts). */
  readonly temp?: TempKey
  /** A permanent key: the temporary key bound to it, if any (one at a time). */
  boundTemp?: AuthKeyEntry | undefined
}

/** The caller of one request; the dispatcher records the layer announced by invokeWithLayer. */
export interface SessionCaller extends Caller {
  layer: number
  /** The call was not wrapped in invokeWithoutUpdates: its session gets updates from now on. */
  wantsUpdates(): void
}

/** What a DC needs from the sandbox around it. */
export interface DcEnvironment {
  readonly rsa: RsaKey
  nowMs(): number
  log: LogFn
  /** Answers one API request (wrappers included); resolves to TL bytes or an rpc_error. */
  invoke(
    request: Uint8Array,
    caller: SessionCaller,
  ): Promise<{ readonly ok: Uint8Array } | { readonly code: number; readonly message: string }>
  /** True when this key exchange is to be spoiled (an injected fault). */
  spoilKeyExchange(): boolean
  /** Counts a connection's first message with an auth key: false when the key floods connections (-429). */
  admitConnection(authKeyId: bigint): boolean
  /** Counts (and, when told to, refuses) auth keys used by two sessions at once. */
  readonly keys: KeyWatch
  /** Results at least this large are sent gzip_packed when that makes them smaller (0 = never). */
  readonly gzipThreshold: number
  /** Require the current server salt (answer bad_server_salt otherwise). */
  readonly strictSalt: boolean
  readonly limits: ConnectionLimits
}

/** When a connection is closed whatever it says (Telegram publishes no figures; these are generous). */
export interface ConnectionLimits {
  /** Nothing received for this long (GramJS pings every 9 s on its main connection, others reconnect when closed). */
  readonly idleMs: number
  /** A packet begun and not finished for this long: its buffer is freed with the connection. */
  readonly unfinishedPacketMs: number
}

export const CONNECTION_LIMITS: ConnectionLimits = { idleMs: 10 * 60_000, unfinishedPacketMs: 60_000 }

export interface DcOptions {
  readonly id: number
  readonly host: string
  readonly port: number
}

/** A listening DC. */
export class Dc {
  readonly keys = new Map<bigint, AuthKeyEntry>()
  readonly connections = new Set<Connection>()
  /** Connections accepted since start. */
  accepted = 0
  private listener: Deno.Listener | undefined
  private lastMsgId = 0n
  private acceptLoop: Promise<void> | undefined

  constructor(readonly options: DcOptions, readonly env: DcEnvironment) {}

  get id(): number {
    return this.options.id
  }

  /** The bound port (useful when options.port was 0). */
  get port(): number {
    const addr = this.listener?.addr as Deno.NetAddr | undefined
    return addr?.port ?? this.options.port
  }

  start(): void {
    this.listener = Deno.listen({ hostname: this.options.host, port: this.options.port, transport: "tcp" })
    this.acceptLoop = this.accept(this.listener)
  }

  async stop(): Promise<void> {
    this.listener?.close()
    for (const c of this.connections) c.close("shutdown")
    await this.acceptLoop?.catch(() => {})
  }

  /**
   * Registers a key: a ready-made one (behind the descriptor's session strings) or one a key exchange made; with
   * `expiresIn`, a temporary key that is forgotten that many seconds from now (expired ones are swept meanwhile).
   */
  addKey(key: Uint8Array, userId: number | undefined, expiresIn?: number): AuthKeyEntry {
    const nowSec = this.env.nowMs() / 1000
    const base = { id: authKeyId(key), key, salt: saltFor(key), saltPeriod: periodOf(nowSec), sessions: new Map() }
    if (expiresIn !== undefined) {
      for (const entry of this.keys.values()) if (expired(entry, nowSec)) this.forget(entry)
    }
    const entry: AuthKeyEntry = expiresIn === undefined
      ? { ...base, userId }
      : temporaryKey(base, Math.floor(nowSec) + expiresIn)
    this.keys.set(entry.id, entry)
    return entry
  }

  /**
   * The key with id `keyId`, or undefined when there is none: never made, or a temporary key past its expiry, which is
   * forgotten then (the server "discards" it: core.telegram.org/mtproto/auth_key).
   */
  liveKey(keyId: bigint): AuthKeyEntry | undefined {
    const entry = this.keys.get(keyId)
    if (!entry || !expired(entry, this.env.nowMs() / 1000)) return entry
    this.forget(entry)
    return undefined
  }

  private forget(entry: AuthKeyEntry): void {
    unbind(entry)
    this.keys.delete(entry.id)
  }

  /** A server msg_id: time-based, strictly increasing, ≡ 1 mod 4 for answers and ≡ 3 mod 4 for pushes. */
  nextMsgId(unsolicited: boolean): bigint {
    const now = this.env.nowMs()
    let id = (BigInt(Math.floor(now / 1000)) << 32n) | (BigInt(now % 1000) * 4294967n & 0xfffffffcn)
    if (id <= this.lastMsgId) id = (this.lastMsgId + 4n) & ~3n
    id |= unsolicited ? 3n : 1n
    this.lastMsgId = id
    return id
  }

  /**
   * Sends `body` (a boxed Updates object) to every live session authorized as `userId` that has made a call not
   * wrapped in invokeWithoutUpdates, as Telegram does; returns how many.
   */
  push(userId: number, body: Uint8Array): number {
    let sent = 0
    // The same Updates in each layer its sessions announced, translated once per layer.
    const inLayer = new Map<number, Uint8Array | undefined>()
    const nowSec = this.env.nowMs() / 1000
    for (const entry of this.keys.values()) {
      if (entry.userId !== userId || expired(entry, nowSec)) continue
      for (const session of entry.sessions.values()) {
        const c = session.connection
        if (!c || c.closed || !session.updates) continue
        const layer = servedLayer(c.encrypted.layer) ?? LAYER
        let out = layer === LAYER ? body : inLayer.get(layer)
        if (out === undefined && !inLayer.has(layer)) inLayer.set(layer, out = this.translatePush(body, layer))
        if (out === undefined) continue
        c.encrypted.sendEncrypted(entry, session, [{ body: out, contentRelated: true, unsolicited: true }])
        sent++
      }
    }
    return sent
  }

  /** A pushed Updates in another layer; undefined (not sent, one log line) when that layer cannot express it. */
  private translatePush(body: Uint8Array, layer: number): Uint8Array | undefined {
    const schema = loadedSchema(layer)
    try {
      if (schema) return updatesFromOwn(body, schema)
    } catch (error) {
      if (!(error instanceof LayerError)) throw error
      this.env.log("warn", "push not sent: not expressible in the session's layer", { layer, reason: error.message })
    }
    return undefined
  }

  private async accept(listener: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn
      try {
        conn = await listener.accept()
      } catch {
        return
      }
      const c = new Connection(this, conn)
      this.accepted++
      this.connections.add(c)
      c.run().finally(() => this.connections.delete(c))
    }
  }
}

/** A deterministic salt for a provisioned key; random keys get theirs from the handshake. */
function saltFor(key: Uint8Array): bigint {
  return Buffer.from(key.subarray(200, 208)).readBigInt64LE(0)
}
