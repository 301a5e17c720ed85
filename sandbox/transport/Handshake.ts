/**
 * Server side of the MTProto auth key exchange: req_pq_multi, req_DH_params (RSA_PAD or the legacy padding),
 * set_client_DH_params.
 */
import { Buffer } from "node:buffer"
import { igeDecrypt, igeEncrypt } from "./Aes.ts"
import { bigintFromBytes, bigintToBytes, bigintToMinimalBytes, bytesEqual, concat, Reader, Writer } from "./Bytes.ts"
import { DH_G, DH_PRIME, dhValueInRange, modPow, random, type RsaKey, sha1, sha256 } from "./Crypto.ts"

export const REQ_PQ = 0x60469778
export const REQ_PQ_MULTI = 0xbe7e8ef1
export const REQ_DH_PARAMS = 0xd712e4be
export const SET_CLIENT_DH_PARAMS = 0xf5045f1f

const RES_PQ = 0x05162463
const SERVER_DH_PARAMS_OK = 0xd0e8075c
const SERVER_DH_INNER_DATA = 0xb5890dba
const CLIENT_DH_INNER_DATA = 0x6643b654
const DH_GEN_OK = 0x3bcbf734
const DH_GEN_FAIL = 0xa69dae02
const P_Q_INNER_DATA_DC = 0xa9f55f95
/** p_q_inner_data_temp_dc: a temporary key (core.telegram.org/mtproto/auth_key), with its dc and expires_in. */
const P_Q_INNER_DATA_TEMP_DC = 0x56fddf88
/** The older p_q_inner_data_temp: expires_in and no dc. */
const P_Q_INNER_DATA_TEMP = 0x3c6a84d4
const P_Q_INNER_DATA = [0x83c95aec, P_Q_INNER_DATA_DC, P_Q_INNER_DATA_TEMP, P_Q_INNER_DATA_TEMP_DC]

/** A failed key exchange step; the connection is closed. */
export class HandshakeError extends Error {
  override name = "HandshakeError"
}

/**
 * pq = p * q with p < q, both prime and below 2^32. GramJS's Pollard-rho factorizer returns wrong factors for some
 * products of close primes (1500450271 * 1500450337 gave 103 * 21857777813336809), so only pairs it factors are here.
 */
const PQ_PAIRS: ReadonlyArray<readonly [bigint, bigint]> = [
  [1229739323n, 1402015859n],
]

export interface NewAuthKey {
  readonly authKey: Uint8Array
  /** The first server salt: new_nonce[0:8] xor server_nonce[0:8], as a signed 64-bit number. */
  readonly salt: bigint
  /** A temporary key (p_q_inner_data_temp_dc or _temp): the seconds it lives at most. A permanent key: undefined. */
  readonly expiresIn?: number
}

/** One key exchange in progress on one connection. Feed it each unencrypted request body. */
export class Handshake {
  private nonce: Uint8Array | undefined
  private serverNonce: Uint8Array | undefined
  private newNonce: Uint8Array | undefined
  private pq: readonly [bigint, bigint] | undefined
  private a: bigint | undefined
  private tmpKey: Uint8Array | undefined
  private tmpIv: Uint8Array | undefined
  private expiresIn: number | undefined

  constructor(private readonly rsa: RsaKey, private readonly nowSeconds: () => number) {}

  /** Answers one step. Returns the answer body, and the new key once step 3 succeeds. */
  step(body: Uint8Array): { readonly answer: Uint8Array; readonly key?: NewAuthKey } {
    const r = new Reader(body)
    const id = r.uint32()
    switch (id) {
      case REQ_PQ:
      case REQ_PQ_MULTI:
        return { answer: this.reqPq(r) }
      case REQ_DH_PARAMS:
        return { answer: this.reqDhParams(r) }
      case SET_CLIENT_DH_PARAMS:
        return this.setClientDhParams(r)
      default:
        throw new HandshakeError(`Unexpected unencrypted constructor 0x${id.toString(16)}`)
    }
  }

  private reqPq(r: Reader): Uint8Array {
    // A new req_pq restarts the exchange (GramJS retries on the same socket after a failed step 3).
    this.nonce = Uint8Array.from(r.raw(16))
    this.serverNonce = random(16)
    this.pq = PQ_PAIRS[random(1)[0]! % PQ_PAIRS.length]!
    const pq = this.pq[0] * this.pq[1]
    return new Writer()
      .uint32(RES_PQ)
      .raw(this.nonce)
      .raw(this.serverNonce)
      .bytes(bigintToBytes(pq, 8))
      .vectorLong([this.rsa.fingerprint])
      .finish()
  }

  private reqDhParams(r: Reader): Uint8Array {
    this.checkNonces(r)
    const p = bigintFromBytes(r.bytes())
    const q = bigintFromBytes(r.bytes())
    const fingerprint = r.int64()
    const encrypted = r.bytes()
    if (!this.pq || p !== this.pq[0] || q !== this.pq[1]) {
      throw new HandshakeError(`Wrong factorization of pq: got ${p} * ${q}`)
    }
    if (fingerprint !== this.rsa.fingerprint) throw new HandshakeError("Unknown RSA key fingerprint")
    if (encrypted.length !== 256) throw new HandshakeError(`RSA payload must be 256 bytes, got ${encrypted.length}`)
    const m = this.rsa.decryptRaw(encrypted)
    const inner = new Reader(rsaPad(m) ?? legacyPad(m) ?? fail("Neither RSA_PAD nor the legacy padding checks out"))
    const innerId = inner.uint32()
    if (!P_Q_INNER_DATA.includes(innerId)) throw new HandshakeError(`Bad p_q_inner_data 0x${innerId.toString(16)}`)
    const innerPq = bigintFromBytes(inner.bytes())
    inner.bytes()
    inner.bytes()
    if (!bytesEqual(inner.raw(16), this.nonce!) || !bytesEqual(inner.raw(16), this.serverNonce!)) {
      throw new HandshakeError("p_q_inner_data nonce mismatch")
    }
    if (innerPq !== this.pq[0] * this.pq[1]) throw new HandshakeError("p_q_inner_data pq mismatch")
    this.newNonce = Uint8Array.from(inner.raw(32))
    if (innerId === P_Q_INNER_DATA_DC || innerId === P_Q_INNER_DATA_TEMP_DC) inner.int32() // dc
    this.expiresIn = innerId === P_Q_INNER_DATA_TEMP || innerId === P_Q_INNER_DATA_TEMP_DC ? inner.int32() : undefined
    const ns = concat(this.newNonce, this.serverNonce!)
    const sn = concat(this.serverNonce!, this.newNonce)
    const nn = concat(this.newNonce, this.newNonce)
    this.tmpKey = concat(sha1(ns), sha1(sn).subarray(0, 12))
    this.tmpIv = concat(sha1(sn).subarray(12, 20), sha1(nn), this.newNonce.subarray(0, 4))
    do {
      this.a = bigintFromBytes(random(256))
    } while (!dhValueInRange(modPow(BigInt(DH_G), this.a, DH_PRIME)))
    const ga = modPow(BigInt(DH_G), this.a, DH_PRIME)
    const answer = new Writer()
      .uint32(SERVER_DH_INNER_DATA)
      .raw(this.nonce!)
      .raw(this.serverNonce!)
      .int32(DH_G)
      .bytes(bigintToMinimalBytes(DH_PRIME))
      .bytes(bigintToMinimalBytes(ga))
      .int32(this.nowSeconds())
      .finish()
    const withHash = concat(sha1(answer), answer)
    const padded = concat(withHash, random((16 - (withHash.length % 16)) % 16))
    return new Writer()
      .uint32(SERVER_DH_PARAMS_OK)
      .raw(this.nonce!)
      .raw(this.serverNonce!)
      .bytes(igeEncrypt(padded, this.tmpKey, this.tmpIv))
      .finish()
  }

  private setClientDhParams(r: Reader): { answer: Uint8Array; key?: NewAuthKey } {
    this.checkNonces(r)
    if (!this.tmpKey || !this.tmpIv || this.a === undefined || !this.newNonce) {
      throw new HandshakeError("set_client_DH_params before req_DH_params")
    }
    const encrypted = r.bytes()
    if (encrypted.length % 16 !== 0) throw new HandshakeError("Encrypted client DH data is not block aligned")
    const plain = igeDecrypt(encrypted, this.tmpKey, this.tmpIv)
    const inner = new Reader(plain.subarray(20))
    if (inner.uint32() !== CLIENT_DH_INNER_DATA) throw new HandshakeError("Bad client_DH_inner_data")
    if (!bytesEqual(inner.raw(16), this.nonce!) || !bytesEqual(inner.raw(16), this.serverNonce!)) {
      throw new HandshakeError("client_DH_inner_data nonce mismatch")
    }
    inner.int64() // retry_id
    const gb = bigintFromBytes(inner.bytes())
    if (!bytesEqual(sha1(plain.subarray(20, 20 + inner.offset)), plain.subarray(0, 20))) {
      throw new HandshakeError("client_DH_inner_data hash mismatch")
    }
    // The spec's answer to an out-of-range g_b: dh_gen_fail, and no key.
    if (!dhValueInRange(gb)) return { answer: this.genFail() }
    const authKey = bigintToBytes(modPow(gb, this.a, DH_PRIME), 256)
    const auxHash = sha1(authKey).subarray(0, 8)
    const hash1 = sha1(this.newNonce, Uint8Array.of(1), auxHash).subarray(4, 20)
    const salt = Buffer.from(this.newNonce.subarray(0, 8).map((b, i) => b ^ this.serverNonce![i]!)).readBigInt64LE(0)
    const answer = new Writer().uint32(DH_GEN_OK).raw(this.nonce!).raw(this.serverNonce!).raw(hash1).finish()
    this.a = undefined
    return {
      answer,
      key: this.expiresIn === undefined ? { authKey, salt } : { authKey, salt, expiresIn: this.expiresIn },
    }
  }

  private genFail(): Uint8Array {
    const hash3 = sha1(this.newNonce!, Uint8Array.of(3), new Uint8Array(8)).subarray(4, 20)
    return new Writer().uint32(DH_GEN_FAIL).raw(this.nonce!).raw(this.serverNonce!).raw(hash3).finish()
  }

  private checkNonces(r: Reader): void {
    const nonce = r.raw(16)
    const serverNonce = r.raw(16)
    if (
      !this.nonce || !this.serverNonce || !bytesEqual(nonce, this.nonce) || !bytesEqual(serverNonce, this.serverNonce)
    ) {
      throw new HandshakeError("Nonce mismatch")
    }
  }
}

function fail(message: string): never {
  throw new HandshakeError(message)
}

/**
 * RSA_PAD (MTProto 2.0's padding): m = temp_key_xor ‖ aes_encrypted, temp_key = temp_key_xor ⊕ SHA256(aes_encrypted);
 * the AES-IGE plaintext is reversed(data_with_padding) ‖ SHA256(temp_key ‖ data_with_padding). The data, or undefined
 * when the hash does not check out.
 */
function rsaPad(m: Uint8Array): Uint8Array | undefined {
  const aesEncrypted = m.subarray(32)
  const shaAes = sha256(aesEncrypted)
  const tempKey = m.subarray(0, 32).map((b, i) => b ^ shaAes[i]!)
  const dataWithHash = igeDecrypt(aesEncrypted, tempKey, new Uint8Array(32))
  const dataWithPadding = Uint8Array.from(dataWithHash.subarray(0, 192)).reverse()
  return bytesEqual(sha256(tempKey, dataWithPadding), dataWithHash.subarray(192, 224)) ? dataWithPadding : undefined
}

/**
 * The padding before RSA_PAD, which Telegram still accepts and several libraries still send: 255 bytes of
 * SHA1(data) ‖ data ‖ random bytes, below the modulus (so m starts with a zero byte). The data, or undefined.
 */
function legacyPad(m: Uint8Array): Uint8Array | undefined {
  if (m[0] !== 0) return undefined
  const data = m.subarray(21)
  const length = pqInnerDataLength(data)
  if (length === undefined || !bytesEqual(sha1(data.subarray(0, length)), m.subarray(1, 21))) return undefined
  return data.subarray(0, length)
}

/** The length of the p_q_inner_data at the start of `data` (each variant's fields), or undefined if it is none. */
function pqInnerDataLength(data: Uint8Array): number | undefined {
  try {
    const r = new Reader(data)
    const id = r.uint32()
    if (!P_Q_INNER_DATA.includes(id)) return undefined
    r.bytes()
    r.bytes()
    r.bytes()
    r.raw(64) // nonce, server_nonce, new_nonce
    if (id === P_Q_INNER_DATA_DC) r.int32() // dc
    if (id === P_Q_INNER_DATA_TEMP_DC) r.raw(8) // dc, expires_in
    if (id === P_Q_INNER_DATA_TEMP) r.int32() // expires_in
    return r.offset
  } catch {
    return undefined
  }
}
