/**
 * The Account entity: one per configured account, cluster-wide. It alone holds the account's session and connection:
 * the runner that owns its shard connects it for as long as it owns it, and a shard moves to another runner only
 * after the old one let go (SIGTERM) or its lock expired (a dead runner), so no two runners use one session at once.
 * It also keeps the account's budget whichever runner asks: MTPROTO_RPS_PER_ACCOUNT calls per second and
 * MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT at once, and a FLOOD_WAIT of a method makes the calls of that method fail at
 * once (with the time left) until it ends. Callers reach it through RemoteAccounts and get domain records back.
 */
import { Clock, Context, Effect, Layer, Option, Schema, Semaphore, Stream } from "effect"
import { Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { AppConfig } from "../Config.ts"
import type { AccountClient, AccountSignal } from "../domain/Telegram.ts"
import { FloodWait, TelegramError } from "../domain/TelegramError.ts"
import { AccountConnector, type AccountToConnect } from "../pool/AccountConnector.ts"
import { Proxies } from "../pool/AccountPool.ts"
import { resolveAccounts } from "../pool/Accounts.ts"
import { earliest, makeBucket, reserve } from "../pool/Gcra.ts"
import type { ProxyPool } from "../pool/ProxyPool.ts"
import { Ownership } from "./Ownership.ts"

/** The calls other entities may ask an account to make. */
export const CALLS = [
  "resolveUsername",
  "getChannel",
  "getHistory",
  "getReplies",
  "getFullChannel",
  "broadcastStats",
  "megagroupStats",
  "loadAsyncGraph",
  "messageStats",
  "publicForwards",
  "getChannelDifference",
  "getMessagesViews",
  "getMessagesReactions",
  "getMessagesByIds",
  "getDialogs",
  "checkChatInvite",
  "importChatInvite",
] as const satisfies ReadonlyArray<keyof AccountClient>
export type CallName = (typeof CALLS)[number]

/** One call: its arguments and result are domain records (plain data), as AccountClient has them. */
const Call = Rpc.make("Call", {
  payload: { method: Schema.Literals(CALLS), args: Schema.Array(Schema.Unknown) },
  success: Schema.Unknown,
  error: TelegramError,
})
/** Connects now (the pool's start probe). */
const Connect = Rpc.make("Connect", { error: TelegramError })
/** The account's updates while the stream runs, starting with Connected (updates may have been missed before). */
const Updates = Rpc.make("Updates", { success: Schema.Unknown, stream: true })

export const Account = Entity.make("Account", [Call, Connect, Updates])

/** This runner's view of the configured accounts: who they are and how to connect them. */
export class AccountHost extends Context.Service<AccountHost, {
  readonly accounts: ReadonlyMap<string, AccountToConnect>
  readonly proxies: ProxyPool | undefined
  readonly rpsPerAccount: number
  readonly concurrencyPerAccount: number
}>()("tgpulse/cluster/AccountHost") {
  static readonly layer = Layer.effect(
    AccountHost,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const { accounts } = yield* resolveAccounts(config, { first: !config.features.pool })
      return AccountHost.of({
        accounts: new Map(accounts.map((a) => [a.label, a])),
        proxies: (yield* Proxies).pool,
        rpsPerAccount: config.pool.rpsPerAccount,
        concurrencyPerAccount: config.pool.maxConcurrencyPerAccount,
      })
    }),
  )
}

/** The Account entity on this runner: accounts connect through the (GramJS) AccountConnector given here. */
export const AccountEntityLive = Account.toLayer(
  Effect.gen(function* () {
    const { entityId: label } = yield* Entity.CurrentAddress
    const host = yield* AccountHost
    const account = Option.fromNullishOr(host.accounts.get(label))
    if (Option.isNone(account)) {
      // A runner with an older configuration: the caller's call fails and is tried again (on another account).
      return yield* Effect.die(new Error(`account "${label}" is not configured on this runner`))
    }
    yield* (yield* Ownership).hold("account", label)
    const client = yield* (yield* AccountConnector).connect(account.value, host.proxies)
    const bucket = makeBucket(host.rpsPerAccount)
    const permits = yield* Semaphore.make(host.concurrencyPerAccount)
    const floodUntil = new Map<CallName, number>()

    const call = Effect.fnUntraced(function* (method: CallName, args: ReadonlyArray<unknown>) {
      const now = yield* Clock.currentTimeMillis
      const until = floodUntil.get(method) ?? 0
      if (until > now) {
        return yield* new TelegramError({
          method,
          account: label,
          reason: new FloodWait({ seconds: Math.ceil((until - now) / 1000) }),
        })
      }
      const at = earliest(bucket, now)
      reserve(bucket, at)
      if (at > now) yield* Effect.sleep(at - now)
      const run = client[method] as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, TelegramError>
      return yield* permits.withPermits(1)(run(...args)).pipe(
        Effect.tapError(({ reason }) =>
          reason._tag === "FloodWait"
            ? Effect.map(Clock.currentTimeMillis, (t) => void floodUntil.set(method, t + reason.seconds * 1000))
            : Effect.void
        ),
      )
    })

    return Account.of({
      Call: ({ payload }) => call(payload.method, payload.args),
      Connect: () => client.connect,
      Updates: () =>
        Stream.concat(Stream.succeed<AccountSignal>({ _tag: "Connected" }), client.updates) as Stream.Stream<unknown>,
    })
  }),
  // Calls of several channels run at once (the permits above bound them); an idle account lets go of its connection.
  { concurrency: "unbounded", maxIdleTime: "10 minutes" },
)
