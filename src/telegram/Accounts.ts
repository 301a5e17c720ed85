/**
 * Which accounts tgpulse logs in as, and with which api id/hash: configured session strings or session files, or,
 * with TG_SANDBOX_FILE and nothing configured, the sandbox's test accounts. No GramJS here.
 */
import { createHash } from "node:crypto"
import { Effect, Option, Redacted } from "effect"
import { type AppConfigShape, SESSION_STRING } from "../Config.ts"
import { ConfigError } from "../domain/Errors.ts"
import { type Descriptor, parseDescriptor } from "../sandbox/Descriptor.ts"

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
  /** Set when every DC is routed to a sandbox. */
  readonly sandbox: Descriptor | undefined
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Reads and checks the sandbox descriptor named by TG_SANDBOX_FILE. */
export const readDescriptor = (file: string): Effect.Effect<Descriptor, ConfigError> =>
  Effect.tryPromise({
    try: async () => parseDescriptor(JSON.parse(await Deno.readTextFile(file))),
    catch: (e) =>
      new ConfigError({
        variable: "TG_SANDBOX_FILE",
        message: `Cannot use TG_SANDBOX_FILE "${file}": ${messageOf(e)} (start one with: deno task sandbox)`,
      }),
  })

/** A session file's content: a GramJS session string, on its own line. */
const readSessionFile = (dataDir: string, name: string): Effect.Effect<Redacted.Redacted<string>, ConfigError> =>
  Effect.tryPromise({
    try: () => Deno.readTextFile(sessionPath(dataDir, name)),
    catch: (e) =>
      new ConfigError({
        variable: "MTPROTO_ACCOUNTS",
        message: e instanceof Deno.errors.NotFound
          ? `No session file "${dataDir}/sessions/${name}" for account "${name}": log in with deno task login`
          : `Cannot read the session file "${dataDir}/sessions/${name}": ${messageOf(e)}`,
      }),
  }).pipe(
    Effect.flatMap((text) => {
      const session = text.trim()
      return SESSION_STRING.test(session) ? Effect.succeed(Redacted.make(session)) : Effect.fail(
        new ConfigError({
          variable: "MTPROTO_ACCOUNTS",
          message: `The session file "${dataDir}/sessions/${name}" does not hold a GramJS session string`,
        }),
      )
    }),
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

/** The accounts and credentials to use; a ConfigError says what is missing. */
export const resolveAccounts = Effect.fnUntraced(function* (config: AppConfigShape) {
  const { telegram, dataDir } = config
  const { apiId, apiHash, sandbox } = yield* resolveApplication(config)
  const accounts: Array<Account> = []
  for (const [i, ref] of telegram.accounts.entries()) {
    accounts.push(
      ref._tag === "SessionString"
        ? { label: `account ${i + 1}`, session: ref.session }
        : { label: ref.name, session: yield* readSessionFile(dataDir, ref.name) },
    )
  }
  if (accounts.length === 0 && sandbox) {
    for (const [i, a] of sandbox.accounts.entries()) {
      accounts.push({ label: `sandbox ${i + 1}`, session: Redacted.make(a.session) })
    }
  }
  if (accounts.length === 0) {
    return yield* new ConfigError({
      variable: "MTPROTO_ACCOUNTS",
      message: "No Telegram account: set MTPROTO_ACCOUNTS to session names (deno task login) or session strings, " +
        "or TG_SANDBOX_FILE to try the sandbox",
    })
  }
  return { apiId, apiHash, accounts, sandbox } satisfies Accounts
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
