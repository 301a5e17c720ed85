/** One sandbox data centre: a TCP listener, its connections, auth keys and MTProto 2.0 encrypted sessions. */
import { Buffer } from "node:buffer"
import { gzipSync, unzipSync } from "node:zlib"
import { igeDecrypt, igeEncrypt } from "./Aes.ts"
import { bytesEqual, concat, Reader, VECTOR_ID, Writer } from "./Bytes.ts"
import { authKeyId, deriveAesKeyIv, messageKey, random, type RsaKey } from "./Crypto.ts"
import { Handshake, HandshakeError } from "./Handshake.ts"
import type { Caller } from "./Rpc.ts"
import { SERVICE as ID } from "./Service.ts"
import { Framer, TransportError } from "./Transport.ts"

/** Service messages that are not content-related (they must carry an even seqno). */
const NOT_CONTENT_RELATED: ReadonlySet<number> = new Set([ID.msgsAck, ID.msgContainer])

export type LogLevel = "debug" | "info" | "warn" | "error"
export type LogFn = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void

/** An auth key this DC knows, with what it is authorized as and its sessions. */
export interface AuthKeyEntry {
  readonly id: bigint
  readonly key: Uint8Array
  userId: number | undefined
  salt: bigint
  readonly sessions: Map<bigint, SessionState>
}

interface SessionState {
  readonly id: bigint
  readonly seen: Set<bigint>
  readonly seenOrder: Array<bigint>
  outContent: number
  connection: Connection | undefined
}

/** The caller of one request; the dispatcher records the layer announced by invokeWithLayer. */
export interface SessionCaller extends Caller {
  layer: number
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
  /** Results at least this large are sent gzip_packed when that makes them smaller (0 = never). */
  readonly gzipThreshold: number
  /** Require the current server salt (answer bad_server_salt otherwise). */
  readonly strictSalt: boolean
}

export interface DcOptions {
  readonly id: number
  readonly host: string
  readonly port: number
}

let nextConnectionId = 1

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

  /** Registers a ready-made key (the ones behind the descriptor's session strings). */
  addKey(key: Uint8Array, userId: number | undefined): AuthKeyEntry {
    const entry: AuthKeyEntry = { id: authKeyId(key), key, userId, salt: saltFor(key), sessions: new Map() }
    this.keys.set(entry.id, entry)
    return entry
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

  /** Sends `body` (a boxed Updates object) to every live session authorized as `userId`; returns how many. */
  push(userId: number, body: Uint8Array): number {
    let sent = 0
    for (const entry of this.keys.values()) {
      if (entry.userId !== userId) continue
      for (const session of entry.sessions.values()) {
        const c = session.connection
        if (c && !c.closed) {
          c.sendEncrypted(entry, session, [{ body, contentRelated: true, unsolicited: true }])
          sent++
        }
      }
    }
    return sent
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

interface Outgoing {
  readonly body: Uint8Array
  readonly contentRelated: boolean
  readonly unsolicited?: boolean
}

/** One TCP connection: transport framing, then unencrypted (handshake) or encrypted messages. */
export class Connection {
  readonly id = nextConnectionId++
  closed = false
  private readonly framer = new Framer()
  private handshake: Handshake | undefined
  private writeChain: Promise<void> = Promise.resolve()
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  /** The auth key and session this connection last spoke for (for drop filters and logs). */
  entry: AuthKeyEntry | undefined
  private layer = 0

  constructor(private readonly dc: Dc, private readonly conn: Deno.Conn) {}

  async run(): Promise<void> {
    const reader = this.conn.readable.getReader()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done || this.closed) break
        for (const packet of this.framer.push(value)) await this.onPacket(packet)
      }
    } catch (error) {
      if (!this.closed) this.fail(error)
    } finally {
      reader.releaseLock()
      this.close("eof")
    }
  }

  close(_reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer)
    try {
      this.conn.close()
    } catch {
      // already closed by the peer
    }
    if (this.entry) {
      for (const s of this.entry.sessions.values()) if (s.connection === this) s.connection = undefined
    }
  }

  /** Logs one line for a protocol violation and closes; the DC keeps serving everyone else. */
  private fail(error: unknown): void {
    const known = error instanceof TransportError || error instanceof HandshakeError || error instanceof RangeError ||
      error instanceof ProtocolError
    this.dc.env.log(known ? "warn" : "error", "connection closed on bad input", {
      dc: this.dc.id,
      connection: this.id,
      transport: this.framer.label,
      reason: error instanceof Error ? error.message : String(error),
    })
    this.close("error")
  }

  private write(bytes: Uint8Array): void {
    if (this.closed) return
    const framed = this.framer.encode(bytes)
    this.writeChain = this.writeChain.then(async () => {
      if (this.closed) return
      try {
        let written = 0
        while (written < framed.length) written += await this.conn.write(framed.subarray(written))
      } catch {
        this.close("write failed")
      }
    })
  }

  private async onPacket(packet: Uint8Array): Promise<void> {
    if (packet.length === 4) throw new ProtocolError("Client sent a transport error packet")
    if (packet.length < 8) throw new ProtocolError(`Packet too short: ${packet.length} bytes`)
    const keyId = Buffer.from(packet.buffer, packet.byteOffset, 8).readBigUInt64LE(0)
    if (keyId === 0n) return this.onPlain(packet)
    const entry = this.dc.keys.get(keyId)
    if (!entry) {
      // Transport error -404: unknown auth key. Then close, as Telegram does.
      const err = Buffer.alloc(4)
      err.writeInt32LE(-404, 0)
      this.write(err)
      await this.writeChain
      throw new ProtocolError(`Unknown auth key ${keyId}`)
    }
    this.onEncrypted(entry, packet)
  }

  private onPlain(packet: Uint8Array): void {
    const r = new Reader(packet)
    r.int64()
    r.int64() // client msg_id
    const len = r.int32()
    if (len < 4 || len > r.remaining) throw new ProtocolError(`Bad unencrypted message length ${len}`)
    const body = r.raw(len)
    this.handshake ??= new Handshake(this.dc.env.rsa, () => Math.floor(this.dc.env.nowMs() / 1000))
    const { answer, key } = this.handshake.step(body)
    if (key) {
      this.dc.addKey(key.authKey, undefined).salt = key.salt
      // dh_gen_ok ends with new_nonce_hash1: a flipped bit there fails the client's check of step 3.
      if (this.dc.env.spoilKeyExchange()) answer[answer.length - 1]! ^= 1
    }
    const out = new Writer().int64(0n).int64(this.dc.nextMsgId(false)).int32(answer.length).raw(answer).finish()
    this.write(out)
  }

  private onEncrypted(entry: AuthKeyEntry, packet: Uint8Array): void {
    // Padded intermediate may append up to 15 bytes; the encrypted part is a whole number of blocks.
    const bodyLen = packet.length - 24
    if (bodyLen < 32) throw new ProtocolError("Encrypted message too short")
    const msgKey = packet.subarray(8, 24)
    const encrypted = packet.subarray(24, 24 + bodyLen - (bodyLen % 16))
    const { key, iv } = deriveAesKeyIv(entry.key, msgKey, 0)
    const plain = igeDecrypt(encrypted, key, iv)
    if (!bytesEqual(messageKey(entry.key, plain, 0), msgKey)) throw new ProtocolError("msg_key mismatch")
    const r = new Reader(plain)
    const salt = r.int64()
    const sessionId = r.int64()
    const msgId = r.int64()
    const seqNo = r.int32()
    const len = r.int32()
    if (len < 0 || len > r.remaining || len % 4 !== 0) throw new ProtocolError(`Bad message length ${len}`)
    const padding = r.remaining - len
    if (padding < 12 || padding > 1024) throw new ProtocolError(`Bad padding length ${padding}`)
    const body = r.raw(len)
    this.entry = entry

    let session = entry.sessions.get(sessionId)
    const out: Array<Outgoing> = []
    if (this.dc.env.strictSalt && salt !== entry.salt) {
      // Nothing of this message is processed, so a new session is not created yet (new_session_created comes with
      // the first message that is).
      const w = new Writer().uint32(ID.badServerSalt).int64(msgId).int32(seqNo).int32(48).int64(entry.salt)
      return this.sendEncrypted(entry, session ?? transientSession(sessionId), [{
        body: w.finish(),
        contentRelated: false,
      }])
    }
    if (!session) {
      session = this.openSession(entry, sessionId)
      out.push({
        body: new Writer().uint32(ID.newSessionCreated).int64(msgId).int64(random8()).int64(entry.salt).finish(),
        contentRelated: true,
      })
    }
    session.connection = this
    const notice = this.checkMsgId(session, msgId, seqNo, body)
    if (notice !== undefined) {
      if (notice !== 0) {
        out.push({
          body: new Writer().uint32(ID.badMsgNotification).int64(msgId).int32(seqNo).int32(notice).finish(),
          contentRelated: false,
        })
      }
      if (out.length) this.sendEncrypted(entry, session, out)
      return
    }
    if (out.length) this.sendEncrypted(entry, session, out)
    this.onMessage(entry, session, msgId, body)
  }

  private openSession(entry: AuthKeyEntry, id: bigint): SessionState {
    const session: SessionState = { id, seen: new Set(), seenOrder: [], outContent: 0, connection: this }
    entry.sessions.set(id, session)
    if (entry.sessions.size > 64) {
      const oldest = entry.sessions.keys().next().value
      if (oldest !== undefined && oldest !== id) entry.sessions.delete(oldest)
    }
    return session
  }

  /** MTProto msg_id and seqno rules. Returns undefined to process, 0 to drop silently, or a bad_msg error code. */
  private checkMsgId(session: SessionState, msgId: bigint, seqNo: number, body: Uint8Array): number | undefined {
    if ((msgId & 3n) !== 0n) return 18
    const serverSeconds = this.dc.env.nowMs() / 1000
    const msgSeconds = Number(msgId >> 32n)
    if (msgSeconds < serverSeconds - 300) return 16
    if (msgSeconds > serverSeconds + 30) return 17
    if (session.seen.has(msgId)) return 0
    this.remember(session, msgId)
    const ctor = body.length >= 4 ? Buffer.from(body.buffer, body.byteOffset, 4).readUInt32LE(0) : 0
    const content = !NOT_CONTENT_RELATED.has(ctor)
    if (content && seqNo % 2 === 0) return 35
    if (!content && seqNo % 2 === 1) return 34
    return undefined
  }

  private remember(session: SessionState, msgId: bigint): void {
    session.seen.add(msgId)
    session.seenOrder.push(msgId)
    if (session.seenOrder.length > 1000) session.seen.delete(session.seenOrder.shift()!)
  }

  private onMessage(entry: AuthKeyEntry, session: SessionState, msgId: bigint, body: Uint8Array): void {
    const r = new Reader(body)
    const ctor = r.uint32()
    switch (ctor) {
      case ID.msgContainer: {
        const count = r.int32()
        if (count < 0 || count > 1024) throw new ProtocolError(`Bad container size ${count}`)
        const inner: Array<{ id: bigint; seq: number; body: Uint8Array }> = []
        for (let i = 0; i < count; i++) {
          const id = r.int64()
          const seq = r.int32()
          const len = r.int32()
          if (len < 4 || len > r.remaining) throw new ProtocolError(`Bad container item length ${len}`)
          inner.push({ id, seq, body: r.raw(len) })
        }
        for (const m of inner) {
          const notice = this.checkMsgId(session, m.id, m.seq, m.body)
          if (notice === 0) continue
          if (notice !== undefined) {
            this.sendEncrypted(entry, session, [{
              body: new Writer().uint32(ID.badMsgNotification).int64(m.id).int32(m.seq).int32(notice).finish(),
              contentRelated: false,
            }])
            continue
          }
          this.onMessage(entry, session, m.id, m.body)
        }
        return
      }
      case ID.gzipPacked:
        return this.onMessage(entry, session, msgId, inflate(r.bytes()))
      case ID.msgsAck:
      case ID.httpWait:
        return
      case ID.ping:
      case ID.pingDelayDisconnect: {
        const pingId = r.int64()
        if (ctor === ID.pingDelayDisconnect) this.armDisconnect(r.int32())
        const pong = new Writer().uint32(ID.pong).int64(msgId).int64(pingId).finish()
        return this.sendEncrypted(entry, session, [{ body: pong, contentRelated: false }])
      }
      case ID.getFutureSalts: {
        const num = Math.max(1, Math.min(64, r.int32()))
        const now = Math.floor(this.dc.env.nowMs() / 1000)
        // salts:vector<future_salt> is a bare vector of bare future_salt: no constructor ids inside.
        const w = new Writer().uint32(ID.futureSalts).int64(msgId).int32(now).int32(num)
        for (let i = 0; i < num; i++) w.int32(now + i * 3600 - 3600).int32(now + (i + 1) * 3600).int64(entry.salt)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: true }])
      }
      case ID.msgsStateReq: {
        if (r.uint32() !== VECTOR_ID) throw new ProtocolError("msgs_state_req without a vector")
        const n = r.int32()
        const info = new Uint8Array(Math.max(0, Math.min(n, 8192)))
        for (let i = 0; i < info.length; i++) info[i] = session.seen.has(r.int64()) ? 4 : 1
        const w = new Writer().uint32(ID.msgsStateInfo).int64(msgId).bytes(info)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: false }])
      }
      case ID.msgResendReq:
        return
      case ID.destroySession: {
        const target = r.int64()
        const existed = target !== session.id && entry.sessions.delete(target)
        const w = new Writer().uint32(existed ? ID.destroySessionOk : ID.destroySessionNone).int64(target)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: false }])
      }
      case ID.rpcDropAnswer: {
        const w = new Writer().uint32(ID.rpcResult).int64(msgId).uint32(ID.rpcAnswerUnknown)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: true }])
      }
      default:
        // Requests run side by side, as on Telegram: a slow one (an injected latency) never holds up the others.
        this.onRequest(entry, session, msgId, body).catch((error) => this.fail(error))
        return
    }
  }

  private armDisconnect(delaySeconds: number): void {
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer)
    if (delaySeconds <= 0) return
    const timer = setTimeout(() => this.close("ping_delay_disconnect"), delaySeconds * 1000)
    Deno.unrefTimer(timer)
    this.pingTimer = timer
  }

  private async onRequest(entry: AuthKeyEntry, session: SessionState, msgId: bigint, body: Uint8Array): Promise<void> {
    const setLayer = (value: number) => (this.layer = value)
    const getLayer = () => this.layer
    const caller: SessionCaller = {
      dcId: this.dc.id,
      connectionId: this.id,
      authKeyId: entry.id,
      get userId() {
        return entry.userId
      },
      authorize(userId) {
        entry.userId = userId
      },
      get layer() {
        return getLayer()
      },
      set layer(value) {
        setLayer(value)
      },
    }
    const answer = await this.dc.env.invoke(body, caller)
    let result: Uint8Array
    if ("ok" in answer) {
      result = answer.ok
      if (this.dc.env.gzipThreshold > 0 && result.length >= this.dc.env.gzipThreshold) result = gzipPacked(result)
    } else {
      result = new Writer().uint32(ID.rpcError).int32(answer.code).bytes(new TextEncoder().encode(answer.message))
        .finish()
    }
    const body2 = concat(new Writer().uint32(ID.rpcResult).int64(msgId).finish(), result)
    this.sendEncrypted(entry, session, [{ body: body2, contentRelated: true }])
  }

  /** Encrypts and writes messages for a session (several go in one msg_container). */
  sendEncrypted(entry: AuthKeyEntry, session: SessionState, messages: ReadonlyArray<Outgoing>): void {
    if (this.closed || messages.length === 0) return
    const seqFor = (m: Outgoing) => m.contentRelated ? session.outContent++ * 2 + 1 : session.outContent * 2
    let msgId: bigint
    let seqNo: number
    let payload: Uint8Array
    if (messages.length === 1) {
      const m = messages[0]!
      msgId = this.dc.nextMsgId(m.unsolicited ?? false)
      seqNo = seqFor(m)
      payload = m.body
    } else {
      const w = new Writer().uint32(ID.msgContainer).int32(messages.length)
      for (const m of messages) {
        w.int64(this.dc.nextMsgId(m.unsolicited ?? false)).int32(seqFor(m)).int32(m.body.length).raw(m.body)
      }
      msgId = this.dc.nextMsgId(false)
      seqNo = session.outContent * 2
      payload = w.finish()
    }
    const header = new Writer().int64(entry.salt).int64(session.id).int64(msgId).int32(seqNo).int32(payload.length)
      .finish()
    const unpadded = header.length + payload.length
    const padLen = 12 + ((16 - ((unpadded + 12) % 16)) % 16)
    const plain = concat(header, payload, random(padLen))
    const msgKey = messageKey(entry.key, plain, 8)
    const { key, iv } = deriveAesKeyIv(entry.key, msgKey, 8)
    const idBytes = Buffer.alloc(8)
    idBytes.writeBigUInt64LE(entry.id, 0)
    this.write(concat(idBytes, msgKey, igeEncrypt(plain, key, iv)))
  }
}

/** Session state for an answer to a message that does not open a session (a bad_server_salt). */
function transientSession(id: bigint): SessionState {
  return { id, seen: new Set(), seenOrder: [], outContent: 0, connection: undefined }
}

/** A malformed MTProto message: the connection is closed. */
export class ProtocolError extends Error {
  override name = "ProtocolError"
}

/** Cached answers come back as the same bytes object, so their gzip_packed form is cached beside them. */
const packedCache = new WeakMap<Uint8Array, Uint8Array>()

/** The gzip_packed form of `result` when that is smaller, else `result` itself. */
function gzipPacked(result: Uint8Array): Uint8Array {
  let packed = packedCache.get(result)
  if (!packed) {
    const gz = new Writer().uint32(ID.gzipPacked).bytes(gzipSync(result)).finish()
    packed = gz.length < result.length ? gz : result
    packedCache.set(result, packed)
  }
  return packed
}

/** Inflates gzip_packed data; accepts gzip and zlib framing. */
function inflate(data: Uint8Array): Uint8Array {
  try {
    return unzipSync(data)
  } catch (error) {
    throw new ProtocolError(`Bad gzip_packed data: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function random8(): bigint {
  return Buffer.from(random(8)).readBigInt64LE(0)
}
