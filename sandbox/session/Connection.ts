/** One TCP connection of a DC: transport framing, the unencrypted key exchange and ordered writes. */
import { Buffer } from "node:buffer"
import { Reader, release, Writer } from "../transport/Bytes.ts"
import { Framer, TransportError } from "../transport/Framer.ts"
import { Handshake, HandshakeError } from "../transport/Handshake.ts"
import type { AuthKeyEntry, Dc } from "./Dc.ts"
import { EncryptedSessions } from "./EncryptedSessions.ts"
import { ProtocolError } from "./ProtocolError.ts"

let nextConnectionId = 1

/** Bytes a connection reads at a time. */
const READ_CHUNK = 16 * 1024

/** One TCP connection: transport framing, then unencrypted (handshake) or encrypted messages. */
export class Connection {
  readonly id = nextConnectionId++
  closed = false
  private readonly framer = new Framer()
  private handshake: Handshake | undefined
  private writeChain: Promise<void> = Promise.resolve()
  /** Closes the connection when it says nothing, or does not finish a packet, for too long (`DcEnvironment.limits`). */
  private deadline: ReturnType<typeof setTimeout> | undefined
  /** When the timer fires, when the last bytes came, and when the packet being received was begun (none: undefined). */
  private deadlineAt = 0
  private lastReadAt = 0
  private unfinishedSince: number | undefined
  /** The auth key and session this connection last spoke for (for drop filters and logs). */
  entry: AuthKeyEntry | undefined
  /** Its encrypted messages: sessions, service messages, requests and what goes back. */
  readonly encrypted: EncryptedSessions

  constructor(private readonly dc: Dc, private readonly conn: Deno.Conn) {
    this.encrypted = new EncryptedSessions(dc, this)
  }

  /**
   * Reads into one buffer of its own, reused (the framer copies what it keeps): a readable stream would allocate a
   * fresh 64 KiB buffer for every read, most of it garbage, which under load is most of what a DC allocates.
   */
  async run(): Promise<void> {
    const chunk = new Uint8Array(READ_CHUNK)
    try {
      this.armDeadline()
      for (;;) {
        const n = await this.conn.read(chunk)
        if (n === null || this.closed) break
        for (const packet of this.framer.push(chunk.subarray(0, n))) await this.onPacket(packet.bytes, packet.quickAck)
        this.armDeadline()
      }
    } catch (error) {
      if (!this.closed) this.fail(error)
    } finally {
      this.close("eof")
    }
  }

  close(_reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.deadline !== undefined) clearTimeout(this.deadline)
    this.encrypted.stop()
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
  fail(error: unknown): void {
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

  /**
   * After every read: the connection is closed `idleMs` after its last bytes, or `unfinishedPacketMs` after it began a
   * packet it has not finished (however slowly the rest trickles in), with one log line. One timer serves both: it is
   * set again only when the deadline comes earlier than the one it waits for (a packet begun), and when it fires
   * before the deadline (bytes came meanwhile) it waits for the rest; reads themselves touch no timer.
   */
  private armDeadline(): void {
    if (this.closed) return
    const now = performance.now()
    this.lastReadAt = now
    if (this.framer.buffered === 0) this.unfinishedSince = undefined
    else this.unfinishedSince ??= now
    if (this.deadline === undefined || this.dueAt() < this.deadlineAt) this.schedule(now)
  }

  /** When the connection is to be closed if nothing changes. */
  private dueAt(): number {
    const limits = this.dc.env.limits
    return this.unfinishedSince !== undefined
      ? this.unfinishedSince + limits.unfinishedPacketMs
      : this.lastReadAt + limits.idleMs
  }

  private schedule(now: number): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline)
    this.deadlineAt = this.dueAt()
    this.deadline = setTimeout(() => this.onDeadline(), Math.max(0, this.deadlineAt - now))
    Deno.unrefTimer(this.deadline)
  }

  private onDeadline(): void {
    this.deadline = undefined
    if (this.closed) return
    const now = performance.now()
    if (now < this.dueAt()) return this.schedule(now)
    const limits = this.dc.env.limits
    this.dc.env.log("info", "connection closed", {
      dc: this.dc.id,
      connection: this.id,
      reason: this.unfinishedSince !== undefined
        ? `a packet unfinished after ${limits.unfinishedPacketMs} ms (${this.framer.buffered} bytes received)`
        : `idle for ${limits.idleMs} ms`,
    })
    this.close(this.unfinishedSince !== undefined ? "unfinished packet" : "idle")
  }

  /** Frames and queues `bytes`, which it takes over: they are freed once framed (see `release`). */
  write(bytes: Uint8Array): void {
    this.writeRaw(this.framer.encode(bytes))
    release(bytes)
  }

  /** Sends a quick ack token (the client set the top bit of a packet's length). */
  writeQuickAck(token: number): void {
    this.writeRaw(this.framer.encodeQuickAck(token))
  }

  /** Queues framed bytes (the framer's own copy) for the socket; once written they are freed (see `release`). */
  private writeRaw(framed: Uint8Array): void {
    if (this.closed) return
    this.writeChain = this.writeChain.then(async () => {
      if (this.closed) return
      try {
        let written = 0
        while (written < framed.length) written += await this.conn.write(framed.subarray(written))
      } catch {
        this.close("write failed")
      }
      release(framed)
    })
  }

  private async onPacket(packet: Uint8Array, quickAck: boolean): Promise<void> {
    if (packet.length === 4) throw new ProtocolError("Client sent a transport error packet")
    if (packet.length < 8) throw new ProtocolError(`Packet too short: ${packet.length} bytes`)
    const keyId = Buffer.from(packet.buffer, packet.byteOffset, 8).readBigUInt64LE(0)
    if (keyId === 0n) return this.onPlain(packet)
    const entry = this.dc.liveKey(keyId)
    // Transport error -404: unknown auth key (or a temporary one past its expiry: core.telegram.org/api/pfs); -429: the
    // key opened too many connections of late. Then close, as Telegram does.
    if (!entry) return await this.transportError(-404, `Unknown auth key ${keyId}`)
    if (this.entry === undefined && !this.dc.env.admitConnection(entry.id)) {
      return await this.transportError(-429, "Too many connections of one auth key (transport flood)")
    }
    this.encrypted.onEncrypted(entry, packet, quickAck)
  }

  /** Sends transport error `code`, then fails the connection with `reason`. */
  private async transportError(code: number, reason: string): Promise<never> {
    const err = Buffer.alloc(4)
    err.writeInt32LE(code, 0)
    this.write(err)
    await this.writeChain
    throw new ProtocolError(reason)
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
      this.dc.addKey(key.authKey, undefined, key.expiresIn).salt = key.salt
      // dh_gen_ok ends with new_nonce_hash1: a flipped bit there fails the client's check of step 3.
      if (this.dc.env.spoilKeyExchange()) answer[answer.length - 1]! ^= 1
    }
    const out = new Writer().int64(0n).int64(this.dc.nextMsgId(false)).int32(answer.length).raw(answer).finish()
    this.write(out)
  }
}
