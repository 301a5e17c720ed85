/** AES-256 block cipher (table-driven) with the IGE and CTR modes MTProto uses; the sandbox's hot path. */

const SBOX = new Uint8Array(256)
const INV_SBOX = new Uint8Array(256)
const TE = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const
const TD = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const

function buildTables(): void {
  const dbl = new Uint8Array(256)
  const third = new Uint8Array(256)
  for (let i = 0; i < 256; i++) {
    dbl[i] = ((i << 1) ^ ((i >> 7) * 0x11b)) & 0xff
    third[dbl[i]! ^ i] = i
  }
  // Walk the multiplicative group by the generator 3 (x) and its inverse (xInv), as in the classic derivation.
  let x = 0
  let xInv = 0
  for (let n = 0; n < 256; n++) {
    let s = xInv ^ (xInv << 1) ^ (xInv << 2) ^ (xInv << 3) ^ (xInv << 4)
    s = (s >> 8) ^ (s & 0xff) ^ 0x63
    SBOX[x] = s
    INV_SBOX[s] = x
    const x2 = dbl[x]!
    const x4 = dbl[x2]!
    const x8 = dbl[x4]!
    let te = (dbl[s]! * 0x101) ^ (s * 0x1010100)
    let td = (x8 * 0x1010101) ^ (x4 * 0x10001) ^ (x2 * 0x101) ^ (x * 0x1010100)
    for (let i = 0; i < 4; i++) {
      te = (te << 24) ^ (te >>> 8)
      td = (td << 24) ^ (td >>> 8)
      TE[i]![x] = te
      TD[i]![s] = td
    }
    x ^= x2 || 1
    xInv = third[xInv] || 1
  }
}
buildTables()

const ROUNDS = 14

/** An expanded AES-256 key. */
export class Aes256 {
  private readonly enc = new Uint32Array(4 * (ROUNDS + 1))
  private readonly dec = new Uint32Array(4 * (ROUNDS + 1))

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`AES-256 needs a 32-byte key, got ${key.length}`)
    const ek = this.enc
    for (let i = 0; i < 8; i++) {
      ek[i] = (key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!
    }
    let rcon = 1
    for (let i = 8; i < ek.length; i++) {
      let t = ek[i - 1]!
      if (i % 8 === 0) {
        // RotWord then SubWord: bytes (b1 b2 b3 b0)
        t = ((SBOX[(ek[i - 1]! >>> 16) & 0xff]! << 24) | (SBOX[(ek[i - 1]! >>> 8) & 0xff]! << 16) |
          (SBOX[ek[i - 1]! & 0xff]! << 8) | SBOX[ek[i - 1]! >>> 24]!) ^ (rcon << 24)
        rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11b)
      } else if (i % 8 === 4) {
        t = (SBOX[t >>> 24]! << 24) | (SBOX[(t >>> 16) & 0xff]! << 16) | (SBOX[(t >>> 8) & 0xff]! << 8) |
          SBOX[t & 0xff]!
      }
      ek[i] = ek[i - 8]! ^ t
    }
    // Decryption schedule: reversed rounds with InvMixColumns applied to the middle round keys.
    const dk = this.dec
    for (let r = 0; r <= ROUNDS; r++) {
      for (let c = 0; c < 4; c++) {
        const w = ek[4 * (ROUNDS - r) + c]!
        dk[4 * r + c] = r === 0 || r === ROUNDS
          ? w
          : TD[0][SBOX[w >>> 24]!]! ^ TD[1][SBOX[(w >>> 16) & 0xff]!]! ^ TD[2][SBOX[(w >>> 8) & 0xff]!]! ^
            TD[3][SBOX[w & 0xff]!]!
      }
    }
  }

  /** Encrypts one block given as four big-endian words; writes the result into `out`. */
  encryptWords(s0: number, s1: number, s2: number, s3: number, out: Uint32Array): void {
    const k = this.enc
    const [t0, t1, t2, t3] = TE
    s0 ^= k[0]!
    s1 ^= k[1]!
    s2 ^= k[2]!
    s3 ^= k[3]!
    let ki = 4
    for (let r = 1; r < ROUNDS; r++) {
      const a0 = t0[s0 >>> 24]! ^ t1[(s1 >>> 16) & 0xff]! ^ t2[(s2 >>> 8) & 0xff]! ^ t3[s3 & 0xff]! ^ k[ki]!
      const a1 = t0[s1 >>> 24]! ^ t1[(s2 >>> 16) & 0xff]! ^ t2[(s3 >>> 8) & 0xff]! ^ t3[s0 & 0xff]! ^ k[ki + 1]!
      const a2 = t0[s2 >>> 24]! ^ t1[(s3 >>> 16) & 0xff]! ^ t2[(s0 >>> 8) & 0xff]! ^ t3[s1 & 0xff]! ^ k[ki + 2]!
      const a3 = t0[s3 >>> 24]! ^ t1[(s0 >>> 16) & 0xff]! ^ t2[(s1 >>> 8) & 0xff]! ^ t3[s2 & 0xff]! ^ k[ki + 3]!
      s0 = a0
      s1 = a1
      s2 = a2
      s3 = a3
      ki += 4
    }
    const S = SBOX
    out[0] = ((S[s0 >>> 24]! << 24) | (S[(s1 >>> 16) & 0xff]! << 16) | (S[(s2 >>> 8) & 0xff]! << 8) | S[s3 & 0xff]!) ^
      k[ki]!
    out[1] = ((S[s1 >>> 24]! << 24) | (S[(s2 >>> 16) & 0xff]! << 16) | (S[(s3 >>> 8) & 0xff]! << 8) | S[s0 & 0xff]!) ^
      k[ki + 1]!
    out[2] = ((S[s2 >>> 24]! << 24) | (S[(s3 >>> 16) & 0xff]! << 16) | (S[(s0 >>> 8) & 0xff]! << 8) | S[s1 & 0xff]!) ^
      k[ki + 2]!
    out[3] = ((S[s3 >>> 24]! << 24) | (S[(s0 >>> 16) & 0xff]! << 16) | (S[(s1 >>> 8) & 0xff]! << 8) | S[s2 & 0xff]!) ^
      k[ki + 3]!
  }

  /** Decrypts one block given as four big-endian words; writes the result into `out`. */
  decryptWords(s0: number, s1: number, s2: number, s3: number, out: Uint32Array): void {
    const k = this.dec
    const [t0, t1, t2, t3] = TD
    s0 ^= k[0]!
    s1 ^= k[1]!
    s2 ^= k[2]!
    s3 ^= k[3]!
    let ki = 4
    for (let r = 1; r < ROUNDS; r++) {
      const a0 = t0[s0 >>> 24]! ^ t1[(s3 >>> 16) & 0xff]! ^ t2[(s2 >>> 8) & 0xff]! ^ t3[s1 & 0xff]! ^ k[ki]!
      const a1 = t0[s1 >>> 24]! ^ t1[(s0 >>> 16) & 0xff]! ^ t2[(s3 >>> 8) & 0xff]! ^ t3[s2 & 0xff]! ^ k[ki + 1]!
      const a2 = t0[s2 >>> 24]! ^ t1[(s1 >>> 16) & 0xff]! ^ t2[(s0 >>> 8) & 0xff]! ^ t3[s3 & 0xff]! ^ k[ki + 2]!
      const a3 = t0[s3 >>> 24]! ^ t1[(s2 >>> 16) & 0xff]! ^ t2[(s1 >>> 8) & 0xff]! ^ t3[s0 & 0xff]! ^ k[ki + 3]!
      s0 = a0
      s1 = a1
      s2 = a2
      s3 = a3
      ki += 4
    }
    const S = INV_SBOX
    out[0] = ((S[s0 >>> 24]! << 24) | (S[(s3 >>> 16) & 0xff]! << 16) | (S[(s2 >>> 8) & 0xff]! << 8) | S[s1 & 0xff]!) ^
      k[ki]!
    out[1] = ((S[s1 >>> 24]! << 24) | (S[(s0 >>> 16) & 0xff]! << 16) | (S[(s3 >>> 8) & 0xff]! << 8) | S[s2 & 0xff]!) ^
      k[ki + 1]!
    out[2] = ((S[s2 >>> 24]! << 24) | (S[(s1 >>> 16) & 0xff]! << 16) | (S[(s0 >>> 8) & 0xff]! << 8) | S[s3 & 0xff]!) ^
      k[ki + 2]!
    out[3] = ((S[s3 >>> 24]! << 24) | (S[(s2 >>> 16) & 0xff]! << 16) | (S[(s1 >>> 8) & 0xff]! << 8) | S[s0 & 0xff]!) ^
      k[ki + 3]!
  }
}

function readWords(src: Uint8Array, offset: number, out: Uint32Array, at: number): void {
  for (let w = 0; w < 4; w++) {
    const o = offset + 4 * w
    out[at + w] = (src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!
  }
}

function writeWords(words: Uint32Array, dst: Uint8Array, offset: number): void {
  for (let w = 0; w < 4; w++) {
    const v = words[w]!
    const o = offset + 4 * w
    dst[o] = v >>> 24
    dst[o + 1] = (v >>> 16) & 0xff
    dst[o + 2] = (v >>> 8) & 0xff
    dst[o + 3] = v & 0xff
  }
}

/**
 * AES-256-IGE as MTProto uses it: `iv` is 32 bytes (the first half xors the input, the second the output). The result
 * goes to `out` (a new array by default; `data` itself encrypts in place, as each block is read before it is written).
 */
export function igeEncrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array, out?: Uint8Array): Uint8Array {
  return ige(data, new Aes256(key), iv, true, out)
}

export function igeDecrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array, out?: Uint8Array): Uint8Array {
  return ige(data, new Aes256(key), iv, false, out)
}

function ige(data: Uint8Array, aes: Aes256, iv: Uint8Array, encrypt: boolean, into?: Uint8Array): Uint8Array {
  if (data.length % 16 !== 0) throw new RangeError(`IGE input must be a multiple of 16 bytes, got ${data.length}`)
  if (into !== undefined && into.length < data.length) throw new RangeError("IGE output is shorter than the input")
  const out = into ?? new Uint8Array(data.length)
  // prev holds [x-chain (4 words), y-chain (4 words)]
  const chain = new Uint32Array(8)
  readWords(iv, 0, chain, 0)
  readWords(iv, 16, chain, 4)
  const input = new Uint32Array(4)
  const result = new Uint32Array(4)
  // encrypt: c = E(p ^ c_prev) ^ p_prev   (c_prev starts at iv[0:16], p_prev at iv[16:32])
  // decrypt: p = D(c ^ p_prev) ^ c_prev   (c_prev starts at iv[0:16], p_prev at iv[16:32])
  for (let i = 0; i < data.length; i += 16) {
    readWords(data, i, input, 0)
    const a = encrypt ? 0 : 4 // the chain word xored into the cipher input
    const b = encrypt ? 4 : 0 // the chain word xored into the cipher output
    if (encrypt) {
      aes.encryptWords(
        input[0]! ^ chain[a]!,
        input[1]! ^ chain[a + 1]!,
        input[2]! ^ chain[a + 2]!,
        input[3]! ^ chain[a + 3]!,
        result,
      )
    } else {
      aes.decryptWords(
        input[0]! ^ chain[a]!,
        input[1]! ^ chain[a + 1]!,
        input[2]! ^ chain[a + 2]!,
        input[3]! ^ chain[a + 3]!,
        result,
      )
    }
    for (let w = 0; w < 4; w++) result[w] = result[w]! ^ chain[b + w]!
    writeWords(result, out, i)
    // encrypt: c_prev = result, p_prev = input; decrypt: p_prev = result, c_prev = input
    for (let w = 0; w < 4; w++) {
      chain[a + w] = result[w]!
      chain[b + w] = input[w]!
    }
  }
  return out
}

/** AES-256-CTR keystream (obfuscated transport); stateful across calls like a stream cipher. */
export class AesCtr {
  private readonly aes: Aes256
  private readonly counter: Uint8Array
  private readonly block = new Uint8Array(16)
  private readonly words = new Uint32Array(4)
  private readonly scratch = new Uint32Array(4)
  private used = 16

  constructor(key: Uint8Array, iv: Uint8Array) {
    this.aes = new Aes256(key)
    this.counter = Uint8Array.from(iv)
  }

  /** Xors `data` with the keystream in place and returns it. */
  apply(data: Uint8Array): Uint8Array {
    for (let i = 0; i < data.length; i++) {
      if (this.used === 16) {
        readWords(this.counter, 0, this.scratch, 0)
        this.aes.encryptWords(this.scratch[0]!, this.scratch[1]!, this.scratch[2]!, this.scratch[3]!, this.words)
        writeWords(this.words, this.block, 0)
        for (let j = 15; j >= 0; j--) {
          this.counter[j] = (this.counter[j]! + 1) & 0xff
          if (this.counter[j] !== 0) break
        }
        this.used = 0
      }
      data[i] = data[i]! ^ this.block[this.used++]!
    }
    return data
  }
}
