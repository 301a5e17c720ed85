/**
 * Which accounts tgpulse logs in as, and with which api id/hash: configured session strings or session files, or,
 * with TG_SANDBOX_FILE and nothing configured, the sandbox's test accounts. No GramJS here.
 */
import { createHash, createPublicKey } from "node:crypto"
import { Effect, Option, Redacted } from "effect"
import type { AppConfigShape } from "../Config.ts"
import { ConfigError } from "../domain/Errors.ts"
import { type Descriptor, parseDescriptor } from "@tgpulse/sandbox/descriptor"

export interface Account {
  /** For logs and metrics: the session file's name or "account N"; never a phone number or a session. */
  readonly label: string
  readonly session: Redacted.Redacted<string>
}

export interface Accounts {
  readonly apiId: number
  readonly apiHash: Redacted.Redacted<string>
  /** At least one. */
  readonly accounts: ReadonlyArray<Account>
  /** Configured accounts that cannot be used (a session that does not decode, a missing file): left out. */
  readonly rejected: ReadonlyArray<RejectedAccount>
  /** Set when every DC is routed to a sandbox. */
  readonly sandbox: Descriptor | undefined
}

/** An account left out at start, and why (never anything of its session). */
export interface RejectedAccount {
  readonly label: string
  /** e.g. `entry 2 of MTPROTO_ACCOUNTS: the session string does not decode (its auth key is 100 bytes, not 256)`. */
  readonly reason: string
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The bytes of a StringSession's auth key. */
const AUTH_KEY_BYTES = 256

/**
 * A GramJS StringSession decoded as GramJS decodes it, without GramJS and never quoting it: version "1", then base64
 * of the DC id (1 byte), the server address (4 bytes for Telethon's 352-character form, else a 2-byte length and the
 * address), the port (2 bytes) and the 256-byte auth key. Its home DC, or why it cannot be used.
 */
export function decodeSession(session: string): { readonly dc: number } | { readonly problem: string } {
  const fail = (problem: string) => ({ problem })
  if (!session.startsWith("1")) return fail("it does not start with the version 1")
  const body = session.slice(1)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 === 1) return fail("it is not base64")
  const bytes = Uint8Array.from(atob(body.padEnd(Math.ceil(body.length / 4) * 4, "=")), (c) => c.charCodeAt(0))
  const view = new DataView(bytes.buffer)
  if (bytes.length < 1 + 4 + 2) return fail("it is too short")
  if (bytes[0] === 0) return fail("its DC id is 0")
  let offset = 1
  if (body.length === 352) {
    offset += 4
  } else {
    const length = view.getInt16(offset)
    // GramJS reads a "length" above 100 as the start of a 16-byte IPv6 address.
    offset += length > 100 ? 16 : 2 + length
    if (length < 0) return fail("its server address is not valid")
  }
  if (offset + 2 > bytes.length) return fail("it ends before its server port")
  offset += 2
  const key = bytes.length - offset
  return key === AUTH_KEY_BYTES ? { dc: bytes[0]! } : fail(`its auth key is ${key} bytes, not ${AUTH_KEY_BYTES}`)
}

/** Why a session cannot be used, or undefined when it decodes (`decodeSession`). */
export function sessionProblem(session: string): string | undefined {
  const decoded = decodeSession(session)
  return "problem" in decoded ? decoded.problem : undefined
}

/** Reads and checks the sandbox descriptor named by TG_SANDBOX_FILE (its RSA key too). */
export const readDescriptor = (file: string): Effect.Effect<Descriptor, ConfigError> =>
  Effect.tryPromise({
    try: async () => {
      const descriptor = parseDescriptor(JSON.parse(await Deno.readTextFile(file)))
      try {
        createPublicKey(descriptor.rsaPublicKey.pem)
      } catch {
        throw new Error(`Invalid sandbox descriptor: field "rsaPublicKey.pem" must be a PEM public key`)
      }
      if (!/^-?\d{1,20}$/.test(descriptor.rsaPublicKey.fingerprint)) {
        throw new Error(`Invalid sandbox descriptor: field "rsaPublicKey.fingerprint" must be a 64-bit integer`)
      }
      return descriptor
    },
    catch: (e) =>
      new ConfigError({
        variable: "TG_SANDBOX_FILE",
        message: `Cannot use TG_SANDBOX_FILE "${file}": ${
          e instanceof SyntaxError ? "not JSON" : messageOf(e)
        } (start one with: deno task sandbox)`,
      }),
  })

/** A session file's content (a GramJS session string, on its own line), or why it cannot be used. */
const readSessionFile = (dataDir: string, name: string): Effect.Effect<Redacted.Redacted<string> | string> =>
  Effect.tryPromise({
    try: () => Deno.readTextFile(sessionPath(dataDir, name)),
    catch: (e) =>
      e instanceof Deno.errors.NotFound
        ? `there is no session file "${dataDir}/sessions/${name}": log in with deno task login`
        : `the session file "${dataDir}/sessions/${name}" cannot be read: ${messageOf(e)}`,
  }).pipe(
    Effect.map((text) => {
      const problem = sessionProblem(text.trim())
      return problem === undefined
        ? Redacted.make(text.trim())
        : `the session file "${dataDir}/sessions/${name}" does not hold a usable GramJS session string (${problem})`
    }),
    Effect.catch((reason: string) => Effect.succeed(reason)),
  )

/** The application's api id and hash (configured, or the sandbox's) and the sandbox to route to, if any. */
export const resolveApplication = Effect.fnUntraced(function* (config: AppConfigShape) {
  const { telegram } = config
  const sandbox = Option.isSome(telegram.sandboxFile) ? yield* readDescriptor(telegram.sandboxFile.value) : undefined
  const apiId = Option.getOrUndefined(telegram.apiId) ?? sandbox?.apiId
  const apiHash = Option.getOrUndefined(telegram.apiHash) ?? (sandbox ? Redacted.make(sandbox.apiHash) : undefined)
  if (apiId === undefined || apiHash === undefined) {
    return yield* new ConfigError({
      variable: apiId === undefined ? "TG_API_ID" : "TG_API_HASH",
      message: `Missing ${apiId === undefined ? "TG_API_ID" : "TG_API_HASH"}: expected the api_id and api_hash of ` +
        "your application from my.telegram.org (or TG_SANDBOX_FILE to try the sandbox)",
    })
  }
  return { apiId, apiHash, sandbox }
})

/**
 * The accounts and credentials to use. Each configured session is decoded here: one that cannot be used is left out
 * (`rejected`, named by its position, nothing of its content); a ConfigError when none is usable or none is set.
 * `first`: only the first configured account is wanted (no pool).
 */
export const resolveAccounts = Effect.fnUntraced(function* (config: AppConfigShape, options: { first?: boolean } = {}) {
  const { telegram, dataDir } = config
  const { apiId, apiHash, sandbox } = yield* resolveApplication(config)
  const candidates: Array<{ label: string; where: string; session: Redacted.Redacted<string> | string }> = []
  const configured = options.first ? telegram.accounts.slice(0, 1) : telegram.accounts
  for (const [i, ref] of configured.entries()) {
    const where = `entry ${i + 1} of MTPROTO_ACCOUNTS`
    candidates.push(
      ref._tag === "SessionString"
        ? { label: `account ${i + 1}`, where, session: ref.session }
        : { label: ref.name, where: `${where} ("${ref.name}")`, session: yield* readSessionFile(dataDir, ref.name) },
    )
  }
  if (telegram.accounts.length === 0 && sandbox) {
    const inSandbox = options.first ? sandbox.accounts.slice(0, 1) : sandbox.accounts
    for (const [i, a] of inSandbox.entries()) {
      candidates.push({
        label: `sandbox ${i + 1}`,
        where: `account ${i + 1} of the sandbox descriptor`,
        session: Redacted.make(a.session),
      })
    }
  }
  if (candidates.length === 0) {
    return yield* new ConfigError({
      variable: "MTPROTO_ACCOUNTS",
      message: "No Telegram account: set MTPROTO_ACCOUNTS to session names (deno task login) or session strings, " +
        "or TG_SANDBOX_FILE to try the sandbox",
    })
  }
  const accounts: Array<Account> = []
  const rejected: Array<RejectedAccount> = []
  for (const c of candidates) {
    if (typeof c.session === "string") {
      rejected.push({ label: c.label, reason: `${c.where}: ${c.session}` })
      continue
    }
    const problem = sessionProblem(Redacted.value(c.session))
    if (problem === undefined) accounts.push({ label: c.label, session: c.session })
    else rejected.push({ label: c.label, reason: `${c.where}: the session string does not decode (${problem})` })
  }
  if (accounts.length === 0) {
    return yield* new ConfigError({
      variable: telegram.accounts.length === 0 ? "TG_SANDBOX_FILE" : "MTPROTO_ACCOUNTS",
      message: `No usable Telegram account: ${rejected.map((r) => r.reason).join("; ")}`,
    })
  }
  return { apiId, apiHash, accounts, rejected, sandbox } satisfies Accounts
})

/**
 * A session's fingerprint for the accounts table: the first 16 hex digits of its SHA-256 (the session cannot be
 * recovered from it). A quarantine is remembered for that session only: a new login lifts it.
 */
export function sessionFingerprint(session: Redacted.Redacted<string>): string {
  return createHash("sha256").update(Redacted.value(session)).digest("hex").slice(0, 16)
}

/** Where `deno task login` keeps the session named `name`. */
export const sessionPath = (dataDir: string, name: string): string => `${dataDir}/sessions/${name}`
