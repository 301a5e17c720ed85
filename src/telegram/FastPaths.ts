/**
 * Two of GramJS's hot paths, done by the runtime instead. Profiled syncing 100,000 posts (17.8 s of CPU):
 * - Every TL `long` (message and peer ids, access hashes, grouped ids, reaction document ids, every msg_id) GramJS
 *   reads by reversing its 8 bytes into a hex string, parsing that text in base 16 with big-integer and printing it in
 *   base 2 to test its sign: 4.5 s, a quarter of the whole sync. Here the buffer reads it (`readBigInt64LE`), wrapped
 *   by big-integer as GramJS's callers expect.
 * - Every gzip-packed answer (every page of posts) GramJS inflates with pako, in JavaScript: 0.5 s, about 1.7 ms a
 *   page; `node:zlib` does it in about 0.4 ms.
 * The values are the same (tests/telegram/PageDecoder.test.ts). Imported by GramClient.ts and the decode worker, so
 * every GramJS reader in the process works alike; `useFastPaths(false)` puts GramJS's own back (the benchmarks
 * measure GramJS as it ships too).
 */
import bigInt from "big-integer"
import { Buffer } from "node:buffer"
import { unzipSync } from "node:zlib"
import { BinaryReader } from "telegram/extensions/BinaryReader.js"
import { GZIPPacked } from "telegram/tl/core/GZIPPacked.js"

interface Reader {
  stream: Buffer
  offset: number
}

const reader = BinaryReader.prototype as unknown as {
  readLong(this: Reader, signed?: boolean): bigInt.BigInteger
}
const packed = GZIPPacked as unknown as { ungzip(input: Buffer): Buffer }

/** GramJS's own readLong. */
export const readLongOriginal = reader.readLong
/** GramJS's own (pako) inflate of a gzip_packed body. */
export const ungzipOriginal = packed.ungzip

function readLongFast(this: Reader, signed = true): bigInt.BigInteger {
  // Past the end: GramJS's own read, with its own error.
  if (this.offset + 8 > this.stream.length) return readLongOriginal.call(this, signed)
  const value = signed ? this.stream.readBigInt64LE(this.offset) : this.stream.readBigUInt64LE(this.offset)
  this.offset += 8
  return bigInt(value)
}

const ungzipFast = (input: Buffer): Buffer => unzipSync(input)

/** Installs (the default, on import) or removes the fast paths. */
export function useFastPaths(on: boolean): void {
  reader.readLong = on ? readLongFast : readLongOriginal
  packed.ungzip = on ? ungzipFast : ungzipOriginal
}

useFastPaths(true)
