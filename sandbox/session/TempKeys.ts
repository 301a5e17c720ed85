/**
 * Temporary auth keys and their binding to permanent ones (core.telegram.org/api/pfs): a key made with
 * p_q_inner_data_temp_dc lives at most expires_in seconds, acts with the authorization of the permanent key
 * auth.bindTempAuthKey bound it to, and until then is open to three methods only.
 */
import { igeDecrypt } from "../transport/Aes.ts"
import { bytesEqual, Reader } from "../transport/Bytes.ts"
import { deriveAesKeyIvV1, sha1 } from "../transport/Crypto.ts"
import type { AuthKeyEntry } from "./Dc.ts"
import type { TempKeyBinding } from "./Rpc.ts"

/** What a temporary key has beyond a permanent one. */
export interface TempKey {
  /** When it stops working (Unix seconds): its key exchange's expires_in, or the binding's expires_at if earlier. */
  expiresAt: number
  /** The permanent key it is bound to (undefined: unbound, or another key was bound to that one since). */
  perm: AuthKeyEntry | undefined
}

/**
 * The methods an unbound temporary key may call (core.telegram.org/api/pfs); any other answers 401
 * AUTH_KEY_PERM_EMPTY, "the method is unavailable for temporary authorization key, not bound to permanent"
 * (core.telegram.org/api/errors).
 */
export const UNBOUND_TEMP_KEY_METHODS: ReadonlySet<string> = new Set([
  "auth.BindTempAuthKey",
  "help.GetConfig",
  "help.GetNearestDc",
])

/** A temporary key's entry: the user it acts as is the one of the permanent key it is bound to. */
export function temporaryKey(base: Omit<AuthKeyEntry, "userId" | "temp">, expiresAt: number): AuthKeyEntry {
  const temp: TempKey = { expiresAt, perm: undefined }
  return {
    ...base,
    temp,
    get userId() {
      return temp.perm?.userId
    },
    // Signing in on a bound temporary key signs in its permanent key; an unbound one cannot sign in.
    set userId(userId) {
      if (temp.perm) temp.perm.userId = userId
    },
  }
}

/** Whether `entry` is a temporary key past its expiry at `nowSec`. */
export function expired(entry: AuthKeyEntry, nowSec: number): boolean {
  return entry.temp !== undefined && nowSec >= entry.temp.expiresAt
}

/** Unbinds a temporary key that is forgotten (expired) from its permanent key. */
export function unbind(entry: AuthKeyEntry): void {
  const perm = entry.temp?.perm
  if (perm?.boundTemp === entry) perm.boundTemp = undefined
  if (entry.temp) entry.temp.perm = undefined
}

/** The request auth.bindTempAuthKey came in: its msg_id and session, on temporary key `temp`. */
export interface BindingRequest {
  readonly temp: AuthKeyEntry
  readonly msgId: bigint
  readonly sessionId: bigint
}

/**
 * auth.bindTempAuthKey (core.telegram.org/method/auth.bindTempAuthKey): binds the caller's temporary key to the
 * permanent key whose MTProto 1.0 binding message checks out. Returns the refusal's error message, or undefined once
 * bound. A permanent key has one temporary key at a time: a new one replaces it.
 */
export function bindTempKey(
  keys: ReadonlyMap<bigint, AuthKeyEntry>,
  request: BindingRequest,
  binding: TempKeyBinding,
): string | undefined {
  const { temp } = request
  if (!temp.temp) return "TEMP_AUTH_KEY_EMPTY"
  const perm = keys.get(binding.permAuthKeyId)
  // A key the server does not know (or a temporary one) cannot have encrypted the binding message.
  if (!perm || perm.temp) return "ENCRYPTED_MESSAGE_INVALID"
  const inner = openBindingMessage(perm, binding.encryptedMessage)
  if (
    !inner || inner.msgId !== request.msgId || inner.seqNo !== 0 || inner.nonce !== binding.nonce ||
    inner.tempAuthKeyId !== BigInt.asIntN(64, temp.id) || inner.permAuthKeyId !== BigInt.asIntN(64, perm.id) ||
    inner.tempSessionId !== request.sessionId || inner.expiresAt !== binding.expiresAt
  ) return "ENCRYPTED_MESSAGE_INVALID"
  if (temp.temp.perm !== undefined && temp.temp.perm !== perm) return "TEMP_AUTH_KEY_ALREADY_BOUND"
  if (perm.boundTemp && perm.boundTemp !== temp) unbind(perm.boundTemp)
  perm.boundTemp = temp
  temp.temp.perm = perm
  // expires_at: "Unix timestamp to invalidate temporary key".
  temp.temp.expiresAt = Math.min(temp.temp.expiresAt, binding.expiresAt)
  return undefined
}

const BIND_AUTH_KEY_INNER = 0x75a3f765

/** The binding message's header and bind_auth_key_inner (long fields as signed 64-bit numbers). */
interface BindingMessage {
  readonly msgId: bigint
  readonly seqNo: number
  readonly nonce: bigint
  readonly tempAuthKeyId: bigint
  readonly permAuthKeyId: bigint
  readonly tempSessionId: bigint
  readonly expiresAt: number
}

/**
 * Decrypts a binding message: perm_auth_key_id ‖ msg_key ‖ AES-IGE(random:int128 ‖ msg_id ‖ seqno ‖ msg_len ‖
 * bind_auth_key_inner ‖ 0-15 bytes of padding), keyed as MTProto 1.0 keys it, msg_key being the lower 128 bits of the
 * SHA1 of the unpadded plaintext. Undefined when anything of it does not check out.
 */
function openBindingMessage(perm: AuthKeyEntry, message: Uint8Array): BindingMessage | undefined {
  if (message.length < 24 + 80 || (message.length - 24) % 16 !== 0) return undefined
  const outer = new Reader(message)
  if (BigInt.asUintN(64, outer.int64()) !== perm.id) return undefined
  const msgKey = outer.raw(16)
  const { key, iv } = deriveAesKeyIvV1(perm.key, msgKey, 0)
  const plain = igeDecrypt(outer.raw(outer.remaining), key, iv)
  const r = new Reader(plain)
  r.raw(16) // random, in place of salt and session_id
  const msgId = r.int64()
  const seqNo = r.int32()
  const length = r.int32()
  if (length !== 40 || plain.length - 32 - length > 15) return undefined
  if (!bytesEqual(sha1(plain.subarray(0, 32 + length)).subarray(4, 20), msgKey)) return undefined
  if (r.uint32() !== BIND_AUTH_KEY_INNER) return undefined
  return {
    msgId,
    seqNo,
    nonce: r.int64(),
    tempAuthKeyId: r.int64(),
    permAuthKeyId: r.int64(),
    tempSessionId: r.int64(),
    expiresAt: r.int32(),
  }
}
