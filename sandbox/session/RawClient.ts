/** A minimal MTProto 2.0 client over the intermediate transport, for probing the sandbox's session layer and loading it. */
import { Buffer } from "node:buffer"
import { igeDecrypt, igeEncrypt } from "../transport/Aes.ts"
import { concat, Reader, Writer } from "../transport/Bytes.ts"
import { authKeyId, deriveAesKeyIv, messageKeyLarge, random } from "../transport/Crypto.ts"
import { SERVICE } from "./Service.ts"

/** One message the server sent, after decryption (messages inside a container come one by one). */
export interface ServerMessage {
  readonly msgId: bigint
  readonly seqNo: number
  /** Constructor id of the body. */
  readonly ctor: number
  readonly body: Uint8Array
  /** True when it arrived inside a msg_container. */
  readonly contained: boolean
}

/** How to send one message; everything defaults to what a well-behaved client would send. */
export interface SendOptions {
  readonly msgId?: bigint
  readonly seqNo?: number
  /** Content-related messages take odd seqnos (the default); acks and containers even ones. */
  readonly contentRelated?: boolean
  readonly salt?: bigint
  /** Set the top bit of the packet's length: the server answers with a quick ack token first. */
  readonly quickAck?: boolean
}

/** The auth key inside a GramJS StringSession ("1" + base64(dc, ip length, ip, port, key)). */
export function authKeyOfSession(session: string): Uint8Array {
  const raw = Buffer.from(session.slice(1), "base64")
  const ipLen = raw.readInt16BE(1)
  return raw.subarray(3 + ipLen + 2, 3 + ipLen + 2 + 256)
}

export class RawClient {
  /** The server salt used by `send`; `call` learns it from bad_server_salt. */
  salt = 0n
  sessionId: bigint = Buffer.from(random(8)).readBigInt64LE(0)
  private readonly keyId: bigint
  private lastMsgId = 0n
  private seq = 0
  private buffer: Uint8Array = new Uint8Array(0)
  private readonly inbox: Array<ServerMessage> = []
  private readonly listeners = new Set<() => void>()
  private readonly waiters = new Map<bigint, { body: Uint8Array; resolve: (ok: boolean) => void }>()
  private closedFlag = false
  /** msg_ids of answers taken by `call`, not acknowledged yet. */
  private readonly callAnswers: Array<bigint> = []
  /** Transport errors received (a 4-byte packet: -404 for an unknown or expired auth key), oldest first. */
  readonly transportErrors: Array<number> = []
  /** Quick ack tokens received, oldest first. */
  readonly quickAcks: Array<number> = []
  /** The quick ack token each message sent with `quickAck` should get back, by msg_id. */
  readonly expectedQuickAcks = new Map<bigint, number>()
  /** Resolves when the server (or `close`) ends the connection. */
  readonly closed: Promise<void>

  private constructor(private readonly conn: Deno.Conn, private readonly authKey: Uint8Array) {
    this.keyId = authKeyId(authKey)
    this.closed = this.readLoop()
  }

  static async connect(host: string, port: number, authKey: Uint8Array): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: host, port })
    await conn.write(Uint8Array.of(0xee, 0xee, 0xee, 0xee))
    return new RawClient(conn, authKey)
  }

  get isClosed(): boolean {
    return this.closedFlag
  }

  /** Added to the local clock for msg_ids (a client's correction to the server's time). */
  clockOffsetMs = 0

  /** A fresh client msg_id (time-based, divisible by 4, increasing). */
  nextMsgId(): bigint {
    const now = Date.now() + this.clockOffsetMs
    let msgId = BigInt(Math.floor(now / 1000)) << 32n | BigInt(now % 1000) << 22n
    if (msgId <= this.lastMsgId) msgId = this.lastMsgId + 4n
    this.lastMsgId = msgId
    return msgId
  }

  /** The seqno of the next message: odd for content-related ones (and counted), even otherwise. */
  nextSeqNo(contentRelated: boolean): number {
    return contentRelated ? this.seq++ * 2 + 1 : this.seq * 2
  }

  /** Encrypts and writes one message; returns its msg_id. */
  send(body: Uint8Array, options: SendOptions = {}): bigint {
    const msgId = options.msgId ?? this.nextMsgId()
    const seqNo = options.seqNo ?? this.nextSeqNo(options.contentRelated ?? true)
    const header = new Writer(32).int64(options.salt ?? this.salt).int64(this.sessionId).int64(msgId).int32(seqNo)
      .int32(body.length).finish()
    const pad = 12 + ((16 - ((header.length + body.length + 12) % 16)) % 16)
    const plain = concat(header, body, random(pad))
    const large = messageKeyLarge(this.authKey, plain, 0)
    const msgKey = large.subarray(8, 24)
    if (options.quickAck) {
      this.expectedQuickAcks.set(
        msgId,
        (Buffer.from(large.buffer, large.byteOffset, 4).readUInt32LE(0) | 1 << 31) >>> 0,
      )
    }
    const { key, iv } = deriveAesKeyIv(this.authKey, msgKey, 0)
    const length = options.quickAck ? (24 + plain.length) | 1 << 31 : 24 + plain.length
    const packet = new Writer(plain.length + 28).int32(length).int64(BigInt.asIntN(64, this.keyId))
      .raw(msgKey).raw(igeEncrypt(plain, key, iv)).finish()
    this.conn.write(packet).catch(() => this.close())
    return msgId
  }

  /** Sends `bodies` in one msg_container; returns their msg_ids. */
  sendContainer(bodies: ReadonlyArray<Uint8Array>): Array<bigint> {
    const w = new Writer().uint32(SERVICE.msgContainer).int32(bodies.length)
    const ids = bodies.map((body) => {
      const id = this.nextMsgId()
      w.int64(id).int32(this.nextSeqNo(true)).int32(body.length).raw(body)
      return id
    })
    this.send(w.finish(), { contentRelated: false })
    return ids
  }

  /** Waits for the first received message (oldest first) that matches; it is removed from the inbox. */
  next(match: (m: ServerMessage) => boolean = () => true, timeoutMs = 5_000): Promise<ServerMessage> {
    return this.waitFor(
      () => {
        const i = this.inbox.findIndex(match)
        return i < 0 ? undefined : this.inbox.splice(i, 1)[0]!
      },
      `no matching message within ${timeoutMs} ms`,
      timeoutMs,
    )
  }

  /** Waits until the quick ack token `token` has come. */
  quickAck(token: number, timeoutMs = 5_000): Promise<void> {
    return this.waitFor(
      () => this.quickAcks.includes(token) || undefined,
      `no quick ack ${token} within ${timeoutMs} ms`,
      timeoutMs,
    ).then(() => undefined)
  }

  /** Resolves with what `take` finds, looking again after everything received; rejects when closed or after `ms`. */
  private waitFor<A>(take: () => A | undefined, timeout: string, ms: number): Promise<A> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = take()
        if (found !== undefined) {
          done()
          resolve(found)
        } else if (this.closedFlag) {
          done()
          reject(new Error("connection closed"))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(timeout))
      }, ms)
      const done = () => {
        clearTimeout(timer)
        this.listeners.delete(check)
      }
      this.listeners.add(check)
      check()
    })
  }

  /** Messages received and not yet taken by `next`. */
  pending(): ReadonlyArray<ServerMessage> {
    return [...this.inbox]
  }

  /**
   * Sends a request and resolves with true for an rpc_result, false for an rpc_error. A bad_server_salt is followed
   * (the salt is learnt and the request re-sent). For load generation: answers never enter the inbox.
   */
  call(body: Uint8Array): Promise<boolean> {
    // Answers taken by calls are acknowledged, 16 at a time, as a client does (the server keeps them until then).
    if (this.callAnswers.length >= 16) {
      this.send(new Writer().uint32(SERVICE.msgsAck).vectorLong(this.callAnswers.splice(0)).finish(), {
        contentRelated: false,
      })
    }
    return new Promise((resolve) => this.waiters.set(this.send(body), { body, resolve }))
  }

  close(): Promise<void> {
    if (!this.closedFlag) {
      this.closedFlag = true
      try {
        this.conn.close()
      } catch {
        // already closed by the server
      }
    }
    return this.closed
  }

  private async readLoop(): Promise<void> {
    const chunk = new Uint8Array(256 * 1024)
    try {
      for (;;) {
        const n = await this.conn.read(chunk)
        if (n === null) break
        this.buffer = this.buffer.length === 0 ? chunk.slice(0, n) : concat(this.buffer, chunk.subarray(0, n))
        while (this.buffer.length >= 4) {
          const len = Buffer.from(this.buffer.buffer, this.buffer.byteOffset, 4).readUInt32LE(0)
          if (len & 0x80000000) {
            // A quick ack token: 4 bytes on their own.
            this.quickAcks.push(len)
            this.buffer = this.buffer.subarray(4)
            for (const listener of [...this.listeners]) listener()
            continue
          }
          if (this.buffer.length < 4 + len) break
          const packet = this.buffer.subarray(4, 4 + len)
          this.buffer = this.buffer.subarray(4 + len)
          if (packet.length > 4) this.onPacket(packet)
          else if (packet.length === 4) this.transportErrors.push(Buffer.from(packet).readInt32LE(0))
        }
      }
    } catch {
      // the connection was closed under us
    } finally {
      this.closedFlag = true
      for (const listener of [...this.listeners]) listener()
    }
  }

  private onPacket(packet: Uint8Array): void {
    const msgKey = packet.subarray(8, 24)
    const { key, iv } = deriveAesKeyIv(this.authKey, msgKey, 8)
    const r = new Reader(igeDecrypt(packet.subarray(24), key, iv))
    r.int64() // salt
    r.int64() // session_id
    const msgId = r.int64()
    const seqNo = r.int32()
    this.onMessage(msgId, seqNo, r.raw(r.int32()), false)
  }

  private onMessage(msgId: bigint, seqNo: number, body: Uint8Array, contained: boolean): void {
    const r = new Reader(body)
    const ctor = r.uint32()
    if (ctor === SERVICE.msgContainer) {
      const count = r.int32()
      for (let i = 0; i < count; i++) {
        const id = r.int64()
        const seq = r.int32()
        this.onMessage(id, seq, r.raw(r.int32()), true)
      }
      return
    }
    if (this.waiters.size > 0 && this.answerCall(ctor, r)) {
      if (ctor === SERVICE.rpcResult) this.callAnswers.push(msgId)
      return
    }
    this.inbox.push({ msgId, seqNo, ctor, body, contained })
    for (const listener of [...this.listeners]) listener()
  }

  /** Settles a pending `call`; true when the message was its answer (or its bad_server_salt). */
  private answerCall(ctor: number, r: Reader): boolean {
    if (ctor === SERVICE.rpcResult) {
      const reqId = r.int64()
      const waiter = this.waiters.get(reqId)
      if (!waiter) return false
      this.waiters.delete(reqId)
      waiter.resolve(r.uint32() !== SERVICE.rpcError)
      return true
    }
    if (ctor === SERVICE.badServerSalt) {
      const badMsgId = r.int64()
      const waiter = this.waiters.get(badMsgId)
      if (!waiter) return false
      r.int32()
      r.int32()
      this.salt = r.int64()
      this.waiters.delete(badMsgId)
      this.waiters.set(this.send(waiter.body), waiter)
      return true
    }
    return false
  }
}
