/**
 * What the user names in settings and flags: channels (usernames, links or ids) and accounts (session strings or
 * session file names). Parsers return undefined for what they do not accept; the caller names the variable.
 */
import { Redacted } from "effect"

/**
 * A channel as the user names it: a username (`@name`, `name`, `t.me/name`), a numeric id (`123`, `-100123`), an
 * invite link (`https://t.me/+HASH`, `t.me/joinchat/HASH`), or `all`: every broadcast channel and supergroup in the
 * accounts' dialogs.
 */
export type PeerRef =
  | { readonly _tag: "Username"; readonly username: string }
  | { readonly _tag: "Id"; readonly id: number }
  | { readonly _tag: "Invite"; readonly hash: string }
  | { readonly _tag: "All" }

/** `all`: every channel in the accounts' dialogs. */
export const ALL_PEERS: PeerRef = { _tag: "All" }

/** An account: a GramJS session string, or the name of a session file under `<data dir>/sessions`. */
export type AccountRef =
  | { readonly _tag: "SessionString"; readonly session: Redacted.Redacted<string> }
  | { readonly _tag: "SessionFile"; readonly name: string }

/**
 * The entries of a list setting: separated by commas and/or whitespace, or a JSON array of strings and numbers (the
 * original design's form, e.g. `["@durov", -1001234567890]`). A value that starts with `[` but is no such array is one
 * entry, which the list's parser then names as bad.
 */
export const listEntries = (raw: string): Array<string> => {
  const trimmed = raw.trim()
  if (trimmed.startsWith("[")) {
    const items = jsonArray(trimmed)
    return items === undefined ? [trimmed] : items.filter((p) => p !== "")
  }
  return raw.split(/[,\s]+/).filter((p) => p !== "")
}

const jsonArray = (raw: string): Array<string> | undefined => {
  try {
    const parsed: unknown = JSON.parse(raw)
    if (!Array.isArray(parsed)) return undefined
    const out: Array<string> = []
    for (const item of parsed) {
      if (typeof item === "string") out.push(item.trim())
      else if (typeof item === "number" && Number.isSafeInteger(item)) out.push(String(item))
      else return undefined
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * `@name`, `name`, `https://t.me/name`, `123` or `-100123` (the Bot API form), an invite link (`https://t.me/+HASH`,
 * `t.me/+HASH`, `t.me/joinchat/HASH`) or `all`.
 */
export function parsePeerRef(raw: string): PeerRef | undefined {
  if (/^all$/i.test(raw.trim())) return ALL_PEERS
  const link = raw.trim().replace(/^(?:https?:\/\/)?(?:www\.)?(?:t|telegram)\.me\//i, "")
  const invite = /^(?:\+|joinchat\/)([A-Za-z0-9_-]{4,64})\/?$/.exec(link)
  if (invite && link !== raw.trim()) return { _tag: "Invite", hash: invite[1]! }
  const s = link.replace(/^@/, "")
  if (/^-100\d+$/.test(s)) return { _tag: "Id", id: Number(s.slice(4)) }
  if (/^\d+$/.test(s)) return Number.isSafeInteger(Number(s)) ? { _tag: "Id", id: Number(s) } : undefined
  if (/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(s)) return { _tag: "Username", username: s }
  return undefined
}

/** What a list of channels looks like, for error messages. */
export const PEERS_EXPECTED = 'a comma-separated list (or a JSON list such as ["@name", -100123]) of channel ' +
  "usernames (@name), ids (123 or -100123) or invite links (https://t.me/+HASH), or all"

/** A GramJS StringSession: "1" and base64 of at least 262 bytes (dc, address, port, 256-byte key). */
export const SESSION_STRING = /^1[A-Za-z0-9+/]{340,}={0,2}$/
/** A session file name: letters, digits, `_`, `.`, `-`. */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

export function parseAccountRef(part: string): AccountRef | undefined {
  if (SESSION_STRING.test(part)) return { _tag: "SessionString", session: Redacted.make(part) }
  if (SESSION_NAME.test(part)) return { _tag: "SessionFile", name: part }
  return undefined
}

/** A secret in an error: its first 4 characters and its length. */
export function maskSecret(text: string): string {
  return text.length <= 8 ? "***" : `${text.slice(0, 4)}***, ${text.length} characters`
}
