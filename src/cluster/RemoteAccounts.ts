/**
 * The account pool's connector in a cluster: an account is its Account entity, wherever it runs. Each call goes to
 * the entity (which makes it on the one connection of that session) and comes back as a domain record or a
 * TelegramError. A cluster failure on the way (the entity moving, a runner gone) is tried again for two seconds (a
 * move between live runners takes about one), then comes back as a Transient error: the pool backs the account off
 * and goes on with another. The update stream follows the entity across moves (however the entity's stream ended),
 * each time starting with Connected (so live updates catch up on what was missed meanwhile).
 */
import { Effect, Layer, Schedule, Stream } from "effect"
import type { AccountClient, AccountSignal } from "../domain/Telegram.ts"
import { TelegramError, Transient } from "../domain/TelegramError.ts"
import { AccountConnector } from "../pool/AccountConnector.ts"
import { Account, type CallName, CALLS } from "./AccountEntity.ts"

/** How long a call waits for its account's entity while it moves: 8 more tries, 250 ms apart. */
const MOVING = { schedule: Schedule.spaced("250 millis"), times: 8 } as const

/** A failure of the cluster between caller and entity, as a Telegram error the pool retries. */
const lost = (method: string, account: string) => (e: { readonly _tag: string; readonly message?: string }) =>
  e instanceof TelegramError ? e : new TelegramError({
    method,
    account,
    reason: new Transient({ code: -1, errorMessage: `cluster: ${e._tag}${e.message ? ` (${e.message})` : ""}` }),
  })

export const RemoteAccounts = Layer.effect(
  AccountConnector,
  Effect.gen(function* () {
    const entityOf = yield* Account.client
    return AccountConnector.of({
      connect: (account) => {
        const entity = entityOf(account.label)
        const call = (method: CallName) => (...args: ReadonlyArray<unknown>) =>
          entity.Call({ method, args: [...args] }).pipe(
            // An account moving between runners answers again within about a second: wait for it here rather than
            // back the account off; a dead runner's account (its lock still held) fails over to another account.
            Effect.retry({ ...MOVING, while: (e: { readonly _tag: string }) => !(e instanceof TelegramError) }),
            Effect.mapError(lost(method, account.label)),
          )
        const calls = Object.fromEntries(CALLS.map((m) => [m, call(m)])) as unknown as Pick<AccountClient, CallName>
        const client: AccountClient = {
          ...calls,
          account: account.label,
          // However the entity's stream ends (its entity stopped or moved: an interruption; its runner died: an
          // error), it is asked for again a second later, wherever the entity runs then.
          updates: Stream.suspend(() => entity.Updates() as Stream.Stream<AccountSignal, unknown>).pipe(
            Stream.catchCause(() => Stream.empty),
            Stream.repeat(Schedule.spaced("1 second")),
          ),
          homeDc: () => undefined,
          connect: entity.Connect().pipe(Effect.mapError(lost("connect", account.label))),
          proxy: () => null,
        }
        return Effect.succeed(client)
      },
    })
  }),
)
