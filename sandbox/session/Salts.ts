/**
 * Server salts as Telegram rotates them: a new salt every SALT_PERIOD_S, each still taken until SALT_GRACE_S after
 * the next one begins; get_future_salts lists them ahead, and a message with a salt out of its time gets
 * bad_server_salt with the current one. A key's first salt (from its key exchange, or the provisioned one) is the salt
 * of the period the key was made in; the later ones are derived from the key, so every DC process agrees on them.
 */
import { Buffer } from "node:buffer"
import { sha256 } from "../transport/Crypto.ts"

/** How long each salt is the current one (Telegram's future_salts come an hour apart). */
export const SALT_PERIOD_S = 3600
/** How long a salt is still taken after the next one began. */
export const SALT_GRACE_S = 1800

/** What the salts of a key are made from. */
export interface SaltedKey {
  readonly key: Uint8Array
  /** The key's first salt, and the period it is the salt of. */
  readonly salt: bigint
  readonly saltPeriod: number
}

/** The period `nowSec` falls in. */
export const periodOf = (nowSec: number): number => Math.floor(nowSec / SALT_PERIOD_S)

/** Derived salts of each key by period: every message in and out asks for the current one (and the one before). */
const derived = new WeakMap<Uint8Array, Map<number, bigint>>()

/** The salt of `period` (derived once per key and period; a key keeps the last few). */
export function saltOf(key: SaltedKey, period: number): bigint {
  if (period === key.saltPeriod) return key.salt
  let salts = derived.get(key.key)
  if (!salts) derived.set(key.key, salts = new Map())
  let salt = salts.get(period)
  if (salt === undefined) {
    const index = Buffer.alloc(8)
    index.writeBigInt64LE(BigInt(period), 0)
    const hash = sha256(key.key.subarray(0, 32), index)
    salt = Buffer.from(hash.buffer, hash.byteOffset, 8).readBigInt64LE(0)
    salts.set(period, salt)
    // get_future_salts asks for up to 64 periods ahead: keep a few more than that, the oldest go.
    if (salts.size > 80) salts.delete(salts.keys().next().value!)
  }
  return salt
}

/** The salt a message sent at `nowSec` should carry. */
export const currentSalt = (key: SaltedKey, nowSec: number): bigint => saltOf(key, periodOf(nowSec))

/** Whether `salt` is taken at `nowSec`: the current salt, or the one before it within the grace. */
export function saltTaken(key: SaltedKey, salt: bigint, nowSec: number): boolean {
  const period = periodOf(nowSec)
  if (salt === saltOf(key, period)) return true
  return nowSec < period * SALT_PERIOD_S + SALT_GRACE_S && salt === saltOf(key, period - 1)
}

/** `count` salts from the current one on, each with the times it is taken in (future_salt's valid_since/until). */
export function futureSalts(
  key: SaltedKey,
  nowSec: number,
  count: number,
): Array<{ readonly validSince: number; readonly validUntil: number; readonly salt: bigint }> {
  const first = periodOf(nowSec)
  return Array.from({ length: count }, (_, i) => ({
    validSince: (first + i) * SALT_PERIOD_S,
    validUntil: (first + i + 1) * SALT_PERIOD_S + SALT_GRACE_S,
    salt: saltOf(key, first + i),
  }))
}
