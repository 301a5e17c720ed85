/** The sandbox DC's cryptography: hashes, its RSA key, Telegram's DH group, and the MTProto 2.0 key derivation. */
import { createHash, generateKeyPair, type KeyObject, privateDecrypt, randomBytes } from "node:crypto"
import { constants, createPrivateKey, createPublicKey } from "node:crypto"
import { Buffer } from "node:buffer"
import { bigintFromBytes, bigintToBytes, concat, Writer } from "./Bytes.ts"
import { sha256 as sha256Plain } from "./Sha256.ts"

export function sha1(...parts: ReadonlyArray<Uint8Array>): Uint8Array {
  const h = createHash("sha1")
  for (const p of parts) h.update(p)
  return h.digest()
}

/**
 * SHA-256 of the parts one after another. Below NATIVE_SHA256_FROM bytes (the key derivation and msg_key of every
 * message but large answers), Sha256.ts's: node:crypto's makes a native object per call that only a full garbage
 * collection frees, and a DC pushing to many sessions made them faster than full collections came. Large inputs,
 * a few hundred a second at most, take node:crypto's, ten times faster there.
 */
export function sha256(...parts: ReadonlyArray<Uint8Array>): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  if (length < NATIVE_SHA256_FROM) return sha256Plain(...parts)
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return h.digest()
}

const NATIVE_SHA256_FROM = 8192

export function random(n: number): Uint8Array {
  return randomBytes(n)
}

/** Telegram's published 2048-bit safe prime (core.telegram.org/mtproto/security_guidelines), used with g = 3. */
export const DH_PRIME = BigInt(
  "0xc71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac9" +
    "25139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8" +
    "cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed95" +
    "0d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d9568" +
    "50ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b",
)
export const DH_G = 3

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n
  let b = ((base % mod) + mod) % mod
  let e = exp
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod
    b = (b * b) % mod
    e >>= 1n
  }
  return result
}

const SAFETY = 1n << (2048n - 64n)

/** The range checks the spec asks of g_a and g_b: 1 < x < p - 1 and 2^{2048-64} <= x <= p - 2^{2048-64}. */
export function dhValueInRange(x: bigint): boolean {
  return x > 1n && x < DH_PRIME - 1n && x >= SAFETY && x <= DH_PRIME - SAFETY
}

/** The DC's RSA key: the private half decrypts req_DH_params, the public half goes into the descriptor. */
export interface RsaKey {
  readonly n: bigint
  readonly e: number
  /** Signed 64-bit fingerprint as Telegram and GramJS compute it. */
  readonly fingerprint: bigint
  /** PKCS#1 "RSA PUBLIC KEY" PEM. */
  readonly publicPem: string
  /** PKCS#8 private key PEM (lets a run reuse a fixed key). */
  readonly privatePem: string
  /** Raw RSA: c^d mod n as 256 bytes. */
  decryptRaw(c: Uint8Array): Uint8Array
}

/** A fresh 2048-bit key, or the one in `privatePem` (fixed per run). */
export async function makeRsaKey(privatePem?: string): Promise<RsaKey> {
  const privateKey: KeyObject = privatePem === undefined
    ? await new Promise<KeyObject>((resolve, reject) =>
      generateKeyPair(
        "rsa",
        { modulusLength: 2048, publicExponent: 65537 },
        (error, _pub, key) => error ? reject(error) : resolve(key),
      )
    )
    : createPrivateKey(privatePem)
  const publicKey = createPublicKey(privateKey)
  const jwk = publicKey.export({ format: "jwk" }) as { n: string; e: string }
  const nBytes = Buffer.from(jwk.n, "base64url")
  const eBytes = Buffer.from(jwk.e, "base64url")
  const n = bigintFromBytes(nBytes)
  const e = Number(bigintFromBytes(eBytes))
  const digest = sha1(new Writer().bytes(nBytes).bytes(eBytes).finish())
  const fingerprint = Buffer.from(digest.subarray(12, 20)).readBigInt64LE(0)
  return {
    n,
    e,
    fingerprint,
    publicPem: publicKey.export({ type: "pkcs1", format: "pem" }).toString(),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    decryptRaw: (c) => {
      if (bigintFromBytes(c) >= n) throw new RangeError("RSA input is not below the modulus")
      return privateDecrypt(
        { key: privateKey, padding: constants.RSA_NO_PADDING },
        bigintToBytes(bigintFromBytes(c), 256),
      )
    },
  }
}

/** MTProto 2.0 message key derivation; x = 0 for client-to-server messages, 8 for server-to-client. */
export function deriveAesKeyIv(authKey: Uint8Array, msgKey: Uint8Array, x: 0 | 8): { key: Uint8Array; iv: Uint8Array } {
  const a = sha256(msgKey, authKey.subarray(x, x + 36))
  const b = sha256(authKey.subarray(40 + x, 40 + x + 36), msgKey)
  return {
    key: concat(a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)),
    iv: concat(b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)),
  }
}

/**
 * MTProto 1.0 message key derivation (core.telegram.org/mtproto/description_v1), still used for the binding message of
 * auth.bindTempAuthKey; x = 0 for client-to-server messages, 8 for server-to-client.
 */
export function deriveAesKeyIvV1(
  authKey: Uint8Array,
  msgKey: Uint8Array,
  x: 0 | 8,
): { key: Uint8Array; iv: Uint8Array } {
  const a = sha1(msgKey, authKey.subarray(x, x + 32))
  const b = sha1(authKey.subarray(32 + x, 48 + x), msgKey, authKey.subarray(48 + x, 64 + x))
  const c = sha1(authKey.subarray(64 + x, 96 + x), msgKey)
  const d = sha1(msgKey, authKey.subarray(96 + x, 128 + x))
  return {
    key: concat(a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)),
    iv: concat(a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)),
  }
}

/** msg_key_large = SHA256(auth_key[88+x : 120+x] ‖ plaintext): msg_key is its middle, a quick ack its first 32 bits. */
export function messageKeyLarge(authKey: Uint8Array, plaintext: Uint8Array, x: 0 | 8): Uint8Array {
  return sha256(authKey.subarray(88 + x, 120 + x), plaintext)
}

/** msg_key = middle 128 bits of msg_key_large. */
export function messageKey(authKey: Uint8Array, plaintext: Uint8Array, x: 0 | 8): Uint8Array {
  return messageKeyLarge(authKey, plaintext, x).subarray(8, 24)
}

/** auth_key_id: the lower 64 bits of SHA1(auth_key), read little-endian as an unsigned number. */
export function authKeyId(authKey: Uint8Array): bigint {
  return Buffer.from(sha1(authKey).subarray(12, 20)).readBigUInt64LE(0)
}
