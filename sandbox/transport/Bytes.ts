/** TL wire primitives: a bounds-checked reader, a growable writer, and big-number and byte helpers. */
import { Buffer } from "node:buffer"

/** Sequential little-endian reader over one message; throws RangeError past the end. */
export class Reader {
  offset = 0
  private readonly view: DataView

  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  }

  get remaining(): number {
    return this.data.length - this.offset
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.data.length) {
      throw new RangeError(`Truncated TL data: need ${n} bytes at ${this.offset} of ${this.data.length}`)
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
    const v = this.data.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  /** TL `bytes`/`string`: a length prefix (1 byte, or 0xfe + 3 bytes) and padding to 4. */
  bytes(): Uint8Array {
    this.need(1)
    let len = this.data[this.offset]!
    let head = 1
    if (len === 254) {
      this.need(4)
      len = this.data[this.offset + 1]! | (this.data[this.offset + 2]! << 8) | (this.data[this.offset + 3]! << 16)
      head = 4
    }
    this.need(head + len)
    const v = this.data.subarray(this.offset + head, this.offset + head + len)
    this.offset += (head + len + 3) & ~3
    return v
  }

  rest(): Uint8Array {
    return this.raw(this.remaining)
  }
}

/** Boxed `Vector` constructor. */
export const VECTOR_ID = 0x1cb5c415

/** A positive 63-bit long as its high and low 32-bit halves (cheaper than a bigint on hot paths). */
export type Pair = readonly [hi: number, lo: number]

/** A growable little-endian TL writer: the service layer, the handshake and the fast post encoder all use it. */
export class Writer {
  private buf: Uint8Array
  private view: DataView
  private pos = 0
  /** `finish` handed out the buffer itself: `reset` must not write over it. */
  private handedOut = false

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity)
    this.view = new DataView(this.buf.buffer)
  }

  get length(): number {
    return this.pos
  }

  /** Bytes it can hold before it grows. */
  get capacity(): number {
    return this.buf.length
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
    this.handedOut = false
  }

  /** A constructor id or flags word. */
  uint32(v: number): this {
    this.ensure(4)
    this.view.setUint32(this.pos, v >>> 0, true)
    this.pos += 4
    return this
  }

  int32(v: number): this {
    this.ensure(4)
    this.view.setInt32(this.pos, v, true)
    this.pos += 4
    return this
  }

  int64(v: bigint): this {
    this.ensure(8)
    this.view.setBigInt64(this.pos, BigInt.asIntN(64, v), true)
    this.pos += 8
    return this
  }

  /** A long from a non-negative safe integer. */
  longNumber(v: number): this {
    this.ensure(8)
    this.view.setUint32(this.pos, v >>> 0, true)
    this.view.setUint32(this.pos + 4, Math.floor(v / 0x100000000) >>> 0, true)
    this.pos += 8
    return this
  }

  longPair([hi, lo]: Pair): this {
    this.ensure(8)
    this.view.setUint32(this.pos, lo >>> 0, true)
    this.view.setUint32(this.pos + 4, hi >>> 0, true)
    this.pos += 8
    return this
  }

  double(v: number): this {
    this.ensure(8)
    this.view.setFloat64(this.pos, v, true)
    this.pos += 8
    return this
  }

  /** TL `bytes`: a length prefix (1 byte, or 0xfe + 3 bytes), the data, zero padding to 4. */
  bytes(data: Uint8Array): this {
    const n = data.length
    const head = n < 254 ? 1 : 4
    this.ensure(tlBytesLength(n))
    this.header(n)
    this.buf.set(data, this.pos + head)
    this.pad(head, n)
    return this
  }

  /**
   * TL `string` (UTF-8 `bytes`), encoded in place by hand: TextEncoder.encodeInto needs a view of the buffer and
   * returns an object, two allocations per string, and a page of posts writes hundreds of strings.
   */
  string(s: string): this {
    this.ensure(s.length * 3 + 8)
    // At most 84 UTF-16 units are at most 252 UTF-8 bytes: a one-byte length, else room for a four-byte one.
    const head = s.length <= 84 ? 1 : 4
    const n = encodeUtf8(s, this.buf, this.pos + head)
    if (head === 4 && n < 254) this.buf.copyWithin(this.pos + 1, this.pos + 4, this.pos + 4 + n)
    this.header(n)
    this.pad(n < 254 ? 1 : 4, n)
    return this
  }

  private header(n: number): void {
    if (n < 254) this.buf[this.pos] = n
    else {
      this.buf[this.pos] = 254
      this.buf[this.pos + 1] = n & 0xff
      this.buf[this.pos + 2] = (n >> 8) & 0xff
      this.buf[this.pos + 3] = (n >> 16) & 0xff
    }
  }

  private pad(head: number, n: number): void {
    let end = this.pos + head + n
    while ((end - this.pos) % 4 !== 0) this.buf[end++] = 0
    this.pos = end
  }

  raw(data: Uint8Array): this {
    this.ensure(data.length)
    this.buf.set(data, this.pos)
    this.pos += data.length
    return this
  }

  /** `n` zero bytes (a place filled in later). */
  zeros(n: number): this {
    this.ensure(n)
    this.buf.fill(0, this.pos, this.pos + n)
    this.pos += n
    return this
  }

  /** A boxed vector header. */
  vector(count: number): this {
    return this.uint32(VECTOR_ID).int32(count)
  }

  vectorLong(values: ReadonlyArray<bigint>): this {
    this.vector(values.length)
    for (const v of values) this.int64(v)
    return this
  }

  /**
   * The bytes written so far: the buffer itself when they fill it (a writer sized in advance: no copy; writing more
   * moves to a new buffer), else a copy of exactly them.
   */
  finish(): Uint8Array {
    if (this.pos < this.buf.length) return this.buf.slice(0, this.pos)
    this.handedOut = true
    return this.buf
  }

  /** Starts again from nothing, keeping the buffer (a scratch writer reused: only `finish`'s copy is new). */
  reset(): this {
    if (this.handedOut) {
      this.buf = new Uint8Array(this.buf.length)
      this.view = new DataView(this.buf.buffer)
      this.handedOut = false
    }
    this.pos = 0
    return this
  }
}

/**
 * Writes `s` as UTF-8 into `out` from `at` (room for 3 bytes per UTF-16 unit assumed); returns the bytes written. A
 * lone surrogate becomes U+FFFD, as TextEncoder has it.
 */
function encodeUtf8(s: string, out: Uint8Array, at: number): number {
  let o = at
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      out[o++] = c
      continue
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6)
      out[o++] = 0x80 | (c & 0x3f)
      continue
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        i++
        out[o++] = 0xf0 | (c >> 18)
        out[o++] = 0x80 | ((c >> 12) & 0x3f)
        out[o++] = 0x80 | ((c >> 6) & 0x3f)
        out[o++] = 0x80 | (c & 0x3f)
        continue
      }
      c = 0xfffd
    }
    out[o++] = 0xe0 | (c >> 12)
    out[o++] = 0x80 | ((c >> 6) & 0x3f)
    out[o++] = 0x80 | (c & 0x3f)
  }
  return o - at
}

/** Bytes a TL `bytes` of `n` bytes takes: its length prefix, the data, and zero padding to 4. */
export function tlBytesLength(n: number): number {
  return (((n < 254 ? 1 : 4) + n + 3) & ~3)
}

/**
 * Frees the memory of `bytes` now, when it is the whole of its buffer, instead of at the garbage collection that finds
 * it dead: a buffer that outlives a minor collection (an answer kept until acknowledged, a packet waiting for the
 * socket) is otherwise freed only by a full one, and a busy DC makes such garbage faster than full collections come.
 * Only for bytes nobody else holds: every view of the buffer reads as empty afterwards. Views of part of a buffer (a
 * shared pool's) are left alone.
 */
export function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) {
    buffer.transfer(0)
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
export function bigintToBytes(v: bigint, size: number): Buffer {
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
