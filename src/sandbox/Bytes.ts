/** Minimal TL wire primitives for the MTProto service layer (the API layer uses GramJS's schema instead). */
import { Buffer } from "node:buffer"

/** Sequential little-endian reader over one message; throws RangeError past the end. */
export class Reader {
  offset = 0
  private readonly view: DataView

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new RangeError(`Truncated TL data: need ${n} bytes at ${this.offset} of ${this.bytes.length}`)
    }
  }

  uint32(): number {
    this.need(4)
    const v = this.view.getUint32(this.offset, true)
    this.offset += 4
    return v
  }

  int32(): number {
    this.need(4)
    const v = this.view.getInt32(this.offset, true)
    this.offset += 4
    return v
  }

  int64(): bigint {
    this.need(8)
    const v = this.view.getBigInt64(this.offset, true)
    this.offset += 8
    return v
  }

  raw(n: number): Uint8Array {
    this.need(n)
    const v = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  /** TL `bytes`/`string`: a length prefix (1 byte, or 0xfe + 3 bytes) and padding to 4. */
  tlBytes(): Uint8Array {
    this.need(1)
    let len = this.bytes[this.offset]!
    let head = 1
    if (len === 254) {
      this.need(4)
      len = this.bytes[this.offset + 1]! | (this.bytes[this.offset + 2]! << 8) | (this.bytes[this.offset + 3]! << 16)
      head = 4
    }
    this.need(head + len)
    const v = this.bytes.subarray(this.offset + head, this.offset + head + len)
    this.offset += (head + len + 3) & ~3
    return v
  }

  rest(): Uint8Array {
    return this.raw(this.remaining)
  }
}

/** Growable little-endian writer. */
export class Writer {
  private parts: Array<Uint8Array> = []
  private size = 0

  uint32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v >>> 0, 0)
    return this.raw(b)
  }

  int32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v, 0)
    return this.raw(b)
  }

  int64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64LE(BigInt.asIntN(64, v), 0)
    return this.raw(b)
  }

  raw(b: Uint8Array): this {
    this.parts.push(b)
    this.size += b.length
    return this
  }

  tlBytes(data: Uint8Array): this {
    const head = data.length < 254 ? Uint8Array.of(data.length) : Uint8Array.of(
      254,
      data.length & 0xff,
      (data.length >> 8) & 0xff,
      (data.length >> 16) & 0xff,
    )
    const total = head.length + data.length
    const pad = (4 - (total % 4)) % 4
    return this.raw(head).raw(data).raw(new Uint8Array(pad))
  }

  vectorLong(values: ReadonlyArray<bigint>): this {
    this.uint32(0x1cb5c415).int32(values.length)
    for (const v of values) this.int64(v)
    return this
  }

  get length(): number {
    return this.size
  }

  finish(): Uint8Array {
    return Buffer.concat(this.parts, this.size)
  }
}

export function concat(...parts: ReadonlyArray<Uint8Array>): Uint8Array {
  return Buffer.concat(parts)
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function bigintFromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt("0x" + Buffer.from(b).toString("hex"))
}

/** Big-endian unsigned encoding, left-padded with zeros to `size` bytes. */
export function bigintToBytes(v: bigint, size: number): Uint8Array {
  const hex = v.toString(16).padStart(size * 2, "0")
  if (hex.length > size * 2) throw new RangeError(`Value does not fit in ${size} bytes`)
  return Buffer.from(hex, "hex")
}

/** Big-endian minimal encoding (as TL `bytes` carry big numbers). */
export function bigintToMinimalBytes(v: bigint): Uint8Array {
  let hex = v.toString(16)
  if (hex.length % 2) hex = "0" + hex
  return Buffer.from(hex, "hex")
}
