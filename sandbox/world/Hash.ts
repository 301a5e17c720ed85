/** The world's deterministic randomness: integer hashes of (key, salt, n), a sequential generator, and the salts. */

// Hash salts: one per independent decision about a post.
export const S_TEXT = 1
export const S_MEDIA = 2
export const S_ALBUM = 3
export const S_ALBUM_ID = 4
export const S_AUTHOR = 5
export const S_FORWARD = 6
export const S_REPLIES = 7
export const S_VIEWS = 8
export const S_FORWARDS = 9
export const S_REACTIONS = 10
export const S_EDIT = 11
export const S_FROM = 12
export const S_RANGES = 13
export const S_CHANNEL = 14
export const S_COMMENTS = 15
export const S_COMMENT = 16
export const S_GROUP = 17
export const S_REACTION_COUNT = 32

/** lowbias32: a fast 32-bit integer mixer (bijective). */
export function mix32(x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** A uint32 hash of (key, salt, n). */
export function hash(key: number, salt: number, n: number): number {
  return mix32((mix32((key ^ Math.imul(salt, 0x9e3779b9)) >>> 0) ^ n) >>> 0)
}

/** A positive 63-bit value from a key. */
export function hash63(key: number, salt: number, n: number): bigint {
  const hi = hash(key, salt, n) & 0x7fffffff
  const lo = hash(key, salt + 1, n)
  const value = (BigInt(hi) << 32n) | BigInt(lo)
  return value === 0n ? 1n : value
}

/** Tiny sequential generator (splitmix-style counter through mix32). */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed | 0
  }
  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0
    return mix32(this.state)
  }
  int(n: number): number {
    return this.next() % n
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[this.int(xs.length)]!
  }
}
