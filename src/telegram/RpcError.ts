/** The only table from GramJS errors (by their fields, not their classes) to TelegramError reasons; pure. */
import {
  AuthRevoked,
  FloodWait,
  Migrate,
  PeerUnavailable,
  SlowMode,
  type TelegramErrorReason,
  Transient,
  Unexpected,
} from "../domain/TelegramError.ts"

const AUTH_REVOKED: ReadonlySet<string> = new Set([
  "AUTH_KEY_UNREGISTERED",
  "AUTH_KEY_DUPLICATED",
  "AUTH_KEY_INVALID",
  "AUTH_KEY_PERM_EMPTY",
  "USER_DEACTIVATED",
  "USER_DEACTIVATED_BAN",
  "SESSION_REVOKED",
  "SESSION_EXPIRED",
])

const PEER_UNAVAILABLE: ReadonlySet<string> = new Set([
  "CHANNEL_PRIVATE",
  "CHANNEL_INVALID",
  "CHANNEL_PUBLIC_GROUP_NA",
  "CHANNEL_BANNED",
  "CHAT_FORBIDDEN",
  "CHAT_ID_INVALID",
  "PEER_ID_INVALID",
  "USERNAME_NOT_OCCUPIED",
  "USERNAME_INVALID",
  "MSG_ID_INVALID",
  "FROZEN_PARTICIPANT_MISSING",
  "CHAT_ADMIN_REQUIRED",
  "NOT_A_CHANNEL",
])

const TRANSIENT: ReadonlySet<string> = new Set([
  "RPC_CALL_FAIL",
  "RPC_MCGET_FAIL",
  "INTERNAL_SERVER_ERROR",
  "TIMEOUT",
  "MSG_WAIT_FAILED",
  "CONNECTION_NOT_INITED",
])

/** GramJS turns a few rpc_errors into classes whose errorMessage no longer holds the original text. */
const GRAMJS_CLASSES: Readonly<Record<string, (e: { seconds?: unknown; newDc?: unknown }) => TelegramErrorReason>> = {
  FloodWaitError: (e) => new FloodWait({ seconds: Number(e.seconds ?? 0) }),
  FloodTestPhoneWaitError: (e) => new FloodWait({ seconds: Number(e.seconds ?? 0) }),
  SlowModeWaitError: (e) => new SlowMode({ seconds: Number(e.seconds ?? 0) }),
  UserMigrateError: (e) => new Migrate({ kind: "USER", dc: Number(e.newDc ?? 0) }),
  PhoneMigrateError: (e) => new Migrate({ kind: "PHONE", dc: Number(e.newDc ?? 0) }),
  NetworkMigrateError: (e) => new Migrate({ kind: "NETWORK", dc: Number(e.newDc ?? 0) }),
  FileMigrateError: (e) => new Migrate({ kind: "FILE", dc: Number(e.newDc ?? 0) }),
}

/** Maps whatever GramJS threw (RPCError and its subclasses, or a network Error) to a reason. */
export function reasonOf(error: unknown): TelegramErrorReason {
  const e = (error ?? {}) as {
    errorMessage?: unknown
    code?: unknown
    message?: unknown
    seconds?: unknown
    newDc?: unknown
    constructor?: { name?: string }
  }
  const special = GRAMJS_CLASSES[e.constructor?.name ?? ""]
  if (special) return special(e)
  const message = typeof e.errorMessage === "string" ? e.errorMessage : undefined
  const code = typeof e.code === "number" ? e.code : 0
  if (message === undefined) {
    const text = typeof e.message === "string" ? e.message : String(error)
    // GramJS's own transport failures ("Not connected", "Connection closed", timeouts in its sender).
    return new Transient({ code: -1, errorMessage: text.slice(0, 200) })
  }
  const flood = /^(?:FLOOD_WAIT|FLOOD_PREMIUM_WAIT|FLOOD_TEST_PHONE_WAIT)_(\d+)$/.exec(message)
  if (flood) return new FloodWait({ seconds: Number(flood[1]) })
  const slow = /^SLOWMODE_WAIT_(\d+)$/.exec(message)
  if (slow) return new SlowMode({ seconds: Number(slow[1]) })
  const migrate = /^(PHONE|NETWORK|USER|FILE|STATS)_MIGRATE_(\d+)$/.exec(message)
  if (migrate) return new Migrate({ kind: migrate[1]!, dc: Number(migrate[2]) })
  if (AUTH_REVOKED.has(message)) return new AuthRevoked({ code, errorMessage: message })
  if (PEER_UNAVAILABLE.has(message)) return new PeerUnavailable({ code, errorMessage: message })
  if (code >= 500 || code === -503 || TRANSIENT.has(message)) return new Transient({ code, errorMessage: message })
  return new Unexpected({ code, errorMessage: message })
}
