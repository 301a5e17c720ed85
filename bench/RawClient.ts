/** A minimal MTProto load client for benchmarks: it sends pre-serialized requests and only decrypts the answers. */
import { Buffer } from "node:buffer"
import { igeDecrypt, igeEncrypt } from "../src/sandbox/Aes.ts"
import { concat, Reader, Writer } from "../src/sandbox/Bytes.ts"
import { authKeyId, deriveAesKeyIv, messageKey, random } from "../src/sandbox/Crypto.ts"

const RPC_RESULT = 0xf35c6d01
const CONTAINER = 0x73f1f8dc
const BAD_SALT = 0xedab447b
const RPC_ERROR = 0x2144ca19

/** The auth key inside a GramJS StringSession. */
export function authKeyOfSession(session: string): Uint8Array {
  const raw = Buffer.from(session.slice(1), "base64")
  const ipLen = raw.readInt16BE(1)
  return raw.subarray(3 + ipLen + 2, 3 + ipLen + 2 + 256)
}

export class RawClient {
  private readonly keyId: bigint
  private readonly sessionId = Buffer.from(random(8)).readBigInt64LE(0)
  private salt = 0n
  private lastMsgId = 0n
  private seq = 0
  private buffer: Uint8Array = new Uint8Array(0)
  private readonly waiters = new Map<bigint, (answer: { ok: boolean; bytes: number }) => void>()
  private readonly pendingBodies = new Map<bigint, Uint8Array>()
  private readonly done: Promise<void>

  private constructor(private readonly conn: Deno.Conn, private readonly authKey: Uint8Array) {
    this.keyId = authKeyId(authKey)
    this.done = this.readLoop()
  }

  static async connect(host: string, port: number, authKey: Uint8Array): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: host, port })
    await conn.write(Uint8Array.of(0xee, 0xee, 0xee, 0xee))
    return new RawClient(conn, authKey)
  }

  /** Sends one request body; resolves with whether it got an rpc_result (not an rpc_error) and its size. */
  call(body: Uint8Array): Promise<{ ok: boolean; bytes: number }> {
    return new Promise((resolve) => {
      const msgId = this.send(body)
      this.waiters.set(msgId, resolve)
      this.pendingBodies.set(msgId, body)
    })
  }

  close(): Promise<void> {
    try {
      this.conn.close()
    } catch {
      // closed
    }
    return this.done
  }

  private send(body: Uint8Array): bigint {
    let msgId = BigInt(Math.floor(Date.now() / 1000)) << 32n
    if (msgId <= this.lastMsgId) msgId = this.lastMsgId + 4n
    this.lastMsgId = msgId
    const header = new Writer().int64(this.salt).int64(this.sessionId).int64(msgId).int32(this.seq++ * 2 + 1)
      .int32(body.length).finish()
    const pad = 12 + ((16 - ((header.length + body.length + 12) % 16)) % 16)
    const plain = concat(header, body, random(pad))
    const msgKey = messageKey(this.authKey, plain, 0)
    const { key, iv } = deriveAesKeyIv(this.authKey, msgKey, 0)
    const id = Buffer.alloc(8)
    id.writeBigUInt64LE(this.keyId, 0)
    const packet = concat(id, msgKey, igeEncrypt(plain, key, iv))
    const frame = Buffer.alloc(4 + packet.length)
    frame.writeUInt32LE(packet.length, 0)
    frame.set(packet, 4)
    this.conn.write(frame).catch(() => {})
    return msgId
  }

  private async readLoop(): Promise<void> {
    const chunk = new Uint8Array(256 * 1024)
    for (;;) {
      let n: number | null
      try {
        n = await this.conn.read(chunk)
      } catch {
        return
      }
      if (n === null) return
      this.buffer = concat(this.buffer, chunk.subarray(0, n))
      while (this.buffer.length >= 4) {
        const len = Buffer.from(this.buffer.buffer, this.buffer.byteOffset, 4).readUInt32LE(0)
        if (this.buffer.length < 4 + len) break
        const packet = this.buffer.subarray(4, 4 + len)
        this.buffer = this.buffer.subarray(4 + len)
        this.onPacket(packet)
      }
    }
  }

  private onPacket(packet: Uint8Array): void {
    const msgKey = packet.subarray(8, 24)
    const { key, iv } = deriveAesKeyIv(this.authKey, msgKey, 8)
    const plain = igeDecrypt(packet.subarray(24), key, iv)
    const r = new Reader(plain)
    r.raw(28) // salt, session_id, msg_id, seq_no
    const len = r.int32()
    this.onMessage(r.raw(len))
  }

  private onMessage(body: Uint8Array): void {
    const r = new Reader(body)
    const ctor = r.uint32()
    if (ctor === CONTAINER) {
      const count = r.int32()
      for (let i = 0; i < count; i++) {
        r.int64()
        r.int32()
        this.onMessage(r.raw(r.int32()))
      }
    } else if (ctor === BAD_SALT) {
      const badMsgId = r.int64()
      r.int32()
      r.int32()
      this.salt = r.int64()
      const resend = this.pendingBodies.get(badMsgId)
      const waiter = this.waiters.get(badMsgId)
      if (resend && waiter) {
        this.pendingBodies.delete(badMsgId)
        this.waiters.delete(badMsgId)
        const id = this.send(resend)
        this.waiters.set(id, waiter)
        this.pendingBodies.set(id, resend)
      }
    } else if (ctor === RPC_RESULT) {
      const reqId = r.int64()
      const ok = r.uint32() !== RPC_ERROR
      this.pendingBodies.delete(reqId)
      const waiter = this.waiters.get(reqId)
      this.waiters.delete(reqId)
      waiter?.({ ok, bytes: body.length })
    }
  }
}
