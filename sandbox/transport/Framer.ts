/** MTProto transports on the server side: detection from the first bytes, framing, and the obfuscation layer. */
import { Buffer } from "node:buffer"
import { AesCtr } from "./Aes.ts"

export type TransportKind = "abridged" | "intermediate" | "padded" | "full"

/** A transport-level protocol violation: the connection is closed. */
export class TransportError extends Error {
  override name = "TransportError"
}

/** Largest packet the sandbox accepts from a client. */
const MAX_PACKET = 8 * 1024 * 1024
/** The receive store's first size, and the most it keeps once empty (a larger one is let go). */
const MIN_STORE = 4096
const KEPT_STORE = 64 * 1024

const TAG_ABRIDGED = 0xefefefef
const TAG_INTERMEDIATE = 0xeeeeeeee
const TAG_PADDED = 0xdddddddd
const HTTP_PREFIXES = ["POST", "GET ", "HEAD", "OPTI", "PUT "]

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** One packet received, and whether its sender asked for a quick ack (the top bit of its length). */
export interface Packet {
  readonly bytes: Uint8Array
  readonly quickAck: boolean
}

/** Splits a byte stream into packets and frames outgoing packets, for one connection. */
export class Framer {
  /** Received bytes not yet taken are `store[start, end)`; the store is the framer's own, chunks are copied in. */
  private store: Uint8Array = new Uint8Array(0)
  private start = 0
  private end = 0
  /** Bytes the store must hold before the packet begun can be taken (0: try with what there is). */
  private needed = 0
  private kindValue: TransportKind | undefined
  private obfuscatedValue = false
  private decryptor: AesCtr | undefined
  private encryptor: AesCtr | undefined
  private recvSeq = 0
  private sendSeq = 0

  get kind(): TransportKind | undefined {
    return this.kindValue
  }

  get obfuscated(): boolean {
    return this.obfuscatedValue
  }

  /** Transport name for logs, e.g. "obfuscated/abridged". */
  get label(): string {
    return `${this.obfuscatedValue ? "obfuscated/" : ""}${this.kindValue ?? "unknown"}`
  }

  /** Bytes received and not yet part of a packet taken (a packet begun, or the first bytes of one). */
  get buffered(): number {
    return this.end - this.start
  }

  /** Bytes of its receive store (what it holds, and room for what it expects). */
  get reserved(): number {
    return this.store.length
  }

  /**
   * Feeds received bytes (copied: the caller may reuse `chunk`, as a connection reuses its read buffer); returns the
   * complete packets they finish, each a copy of its own. Throws TransportError on garbage. The store grows to the
   * packet begun (its length is known from its header, so once), and a large store is let go when it empties, so a
   * connection holds at most what it has received and not yet taken.
   */
  push(chunk: Uint8Array): Array<Packet> {
    this.append(chunk)
    if (this.buffered < this.needed) return []
    this.needed = 0
    const packets: Array<Packet> = []
    if (this.kindValue !== undefined || this.detect()) {
      for (;;) {
        const packet = this.next()
        if (packet === undefined) break
        packets.push(packet)
      }
    }
    if (this.start === this.end) {
      this.start = this.end = 0
      if (this.store.length > KEPT_STORE) this.store = new Uint8Array(0)
    }
    return packets
  }

  /** Copies `chunk` after the bytes held (decrypted on obfuscated connections), making room as needed. */
  private append(chunk: Uint8Array): void {
    const held = this.end - this.start
    const wanted = Math.max(held + chunk.length, this.needed)
    if (this.end + chunk.length > this.store.length) {
      if (wanted <= this.store.length) this.store.copyWithin(0, this.start, this.end)
      else {
        const next = new Uint8Array(Math.max(wanted, Math.min(2 * this.store.length, MAX_PACKET + 8), MIN_STORE))
        next.set(this.store.subarray(this.start, this.end))
        this.store = next
      }
      this.start = 0
      this.end = held
    }
    this.store.set(chunk, this.end)
    if (this.decryptor) this.decryptor.apply(this.store.subarray(this.end, this.end + chunk.length))
    this.end += chunk.length
  }

  /** The bytes held, `store[start, end)`. */
  private get held(): Uint8Array {
    return this.store.subarray(this.start, this.end)
  }

  /**
   * A quick ack token (the top bit set) as its own 4 bytes, not framed, where a length would be: little-endian, or
   * byte-swapped on the abridged transport (core.telegram.org/mtproto/mtproto-transports, "Quick ack").
   */
  encodeQuickAck(token: number): Uint8Array {
    const out = Buffer.alloc(4)
    if (this.kindValue === "abridged") out.writeUInt32BE(token >>> 0, 0)
    else out.writeUInt32LE(token >>> 0, 0)
    return this.encryptor ? this.encryptor.apply(out) : out
  }

  /** Frames one outgoing packet (and encrypts it on obfuscated connections), into a new buffer of its own. */
  encode(payload: Uint8Array): Uint8Array {
    let framed: Uint8Array
    switch (this.kindValue) {
      case "abridged": {
        const words = payload.length >> 2
        const head = words < 0x7f
          ? Uint8Array.of(words)
          : Uint8Array.of(0x7f, words & 0xff, (words >> 8) & 0xff, (words >> 16) & 0xff)
        framed = new Uint8Array(head.length + payload.length)
        framed.set(head)
        framed.set(payload, head.length)
        break
      }
      case "intermediate":
      case "padded": {
        const pad = this.kindValue === "padded" ? (payload.length * 7 + this.sendSeq++) % 16 : 0
        const out = Buffer.alloc(4 + payload.length + pad)
        out.writeUInt32LE(payload.length + pad, 0)
        out.set(payload, 4)
        framed = out
        break
      }
      case "full": {
        const out = Buffer.alloc(12 + payload.length)
        out.writeUInt32LE(12 + payload.length, 0)
        out.writeInt32LE(this.sendSeq++, 4)
        out.set(payload, 8)
        out.writeUInt32LE(crc32(out.subarray(0, 8 + payload.length)), 8 + payload.length)
        framed = out
        break
      }
      default:
        throw new TransportError("Cannot send before the transport is known")
    }
    return this.encryptor ? this.encryptor.apply(framed) : framed
  }

  private detect(): boolean {
    const b = this.held
    if (b.length < 1) return false
    if (b[0] === 0xef) {
      this.kindValue = "abridged"
      this.start += 1
      return true
    }
    if (b.length < 4) return false
    const first = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(0)
    if (first === TAG_INTERMEDIATE || first === TAG_PADDED) {
      this.kindValue = first === TAG_INTERMEDIATE ? "intermediate" : "padded"
      this.start += 4
      return true
    }
    const ascii = String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!)
    if (HTTP_PREFIXES.includes(ascii)) throw new TransportError("HTTP transport is not supported")
    if (b.length < 8) return false
    if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0) {
      this.kindValue = "full"
      return true
    }
    if (b.length < 64) return false
    return this.startObfuscated()
  }

  private startObfuscated(): boolean {
    const header = this.held.slice(0, 64)
    const reversed = Uint8Array.from(header.subarray(8, 56)).reverse()
    this.decryptor = new AesCtr(header.subarray(8, 40), header.subarray(40, 56))
    this.encryptor = new AesCtr(reversed.subarray(0, 32), reversed.subarray(32, 48))
    const plain = this.decryptor.apply(Uint8Array.from(header))
    const tag = Buffer.from(plain.buffer, plain.byteOffset, 64).readUInt32LE(56)
    if (tag === TAG_ABRIDGED) this.kindValue = "abridged"
    else if (tag === TAG_INTERMEDIATE) this.kindValue = "intermediate"
    else if (tag === TAG_PADDED) this.kindValue = "padded"
    else throw new TransportError("Unknown transport: bad first bytes")
    this.obfuscatedValue = true
    // Whatever followed the header arrived encrypted with the same keystream.
    this.start += 64
    this.decryptor.apply(this.held)
    return true
  }

  private next(): Packet | undefined {
    const b = this.held
    switch (this.kindValue) {
      case "abridged": {
        if (b.length < 1) return undefined
        const quickAck = (b[0]! & 0x80) !== 0
        let words = b[0]! & 0x7f
        let head = 1
        if (words === 0x7f) {
          if (b.length < 4) return undefined
          words = b[1]! | (b[2]! << 8) | (b[3]! << 16)
          head = 4
        }
        return this.take(head, words * 4, quickAck)
      }
      case "intermediate":
      case "padded": {
        if (b.length < 4) return undefined
        const word = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(0)
        return this.take(4, word & 0x7fffffff, (word & 0x80000000) !== 0)
      }
      case "full": {
        if (b.length < 4) return undefined
        const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
        const word = view.readUInt32LE(0)
        const quickAck = (word & 0x80000000) !== 0
        const len = word & 0x7fffffff
        if (len < 12 || len > MAX_PACKET) throw new TransportError(`Bad full-transport length ${len}`)
        if (b.length < len) {
          this.needed = len
          return undefined
        }
        const seq = view.readInt32LE(4)
        const crc = view.readUInt32LE(len - 4)
        if (crc !== crc32(b.subarray(0, len - 4))) throw new TransportError("Bad full-transport checksum")
        if (seq !== this.recvSeq) {
          throw new TransportError(`Bad full-transport sequence ${seq}, expected ${this.recvSeq}`)
        }
        this.recvSeq++
        const packet = b.slice(8, len - 4)
        this.start += len
        return { bytes: packet, quickAck }
      }
      default:
        return undefined
    }
  }

  private take(head: number, len: number, quickAck: boolean): Packet | undefined {
    if (len > MAX_PACKET) throw new TransportError(`Packet too large: ${len} bytes`)
    if (this.end - this.start < head + len) {
      this.needed = head + len
      return undefined
    }
    const packet = this.store.slice(this.start + head, this.start + head + len)
    this.start += head + len
    return { bytes: packet, quickAck }
  }
}
