/** Signing an account in (deno task login): phone, code and 2FA password, and the new session string. */
import { Effect } from "effect"
import type { StringSession } from "telegram/sessions/index.js"
import { TelegramError, Timeout } from "../domain/TelegramError.ts"
import { type GramClientOptions, makeGramClient } from "./GramClient.ts"
import { reasonOf } from "./RpcError.ts"

export interface LoginPrompts {
  readonly phone: () => Promise<string>
  readonly code: () => Promise<string>
  readonly password: (hint: string | undefined) => Promise<string>
  /** A wrong code or password: said before asking again. */
  readonly retry: (what: string) => void
}

/** Tries of a code or a password before the login gives up. */
const LOGIN_TRIES = 3

/**
 * Signs in with phone, code and (when the account has one) the 2FA password, and returns the new session string. The
 * client is destroyed before this returns; nothing here logs the session. Fails with a TelegramError whose reason
 * says what went wrong (PHONE_NUMBER_INVALID, PHONE_CODE_INVALID after the last try, PASSWORD_HASH_INVALID, ...).
 */
export const login = (options: GramClientOptions & { readonly timeoutMs?: number }, prompts: LoginPrompts) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeGramClient({ ...options, session: "" })),
    (client) => {
      /** The refusal that ended the login (GramJS throws its own "AUTH_USER_CANCEL" after it). */
      let last: unknown
      return Effect.tryPromise({
        try: async () => {
          await client.connect()
          let failures = 0
          await client.start({
            phoneNumber: prompts.phone,
            phoneCode: () => prompts.code(),
            password: (hint?: string) => prompts.password(hint),
            onError: (err: any) => {
              last = err
              const message = String(err?.errorMessage ?? "")
              const again = (message === "PHONE_CODE_INVALID" || message === "PASSWORD_HASH_INVALID") &&
                ++failures < LOGIN_TRIES
              if (again) prompts.retry(message === "PHONE_CODE_INVALID" ? "wrong code" : "wrong password")
              return Promise.resolve(!again)
            },
          })
          if (!(await client.isUserAuthorized())) throw last ?? new Error("not signed in")
          return (client.session as StringSession).save()
        },
        catch: (e) => new TelegramError({ method: "login", account: "login", reason: reasonOf(last ?? e) }),
      }).pipe(
        Effect.timeoutOrElse({
          duration: options.timeoutMs ?? 600_000,
          orElse: () =>
            Effect.fail(
              new TelegramError({
                method: "login",
                account: "login",
                reason: new Timeout({ millis: options.timeoutMs ?? 600_000 }),
              }),
            ),
        }),
      )
    },
    (client) => Effect.promise(() => client.destroy().catch(() => undefined)),
  )
