/**
 * The account pool's connector over GramJS: the api id and hash (or the sandbox's), timeouts, GramJS's log level, and
 * the decode workers every account's getHistory answers share (PageDecoder.ts).
 */
import { Effect, Layer, Redacted } from "effect"
import { AppConfig } from "../Config.ts"
import { AccountConnector } from "../pool/AccountConnector.ts"
import { connectAccount } from "./AccountAdapter.ts"
import { startPageDecoder } from "./PageDecoder.ts"
import { resolveApplication } from "../pool/Accounts.ts"

export const TelegramConnector = Layer.effect(
  AccountConnector,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { apiId, apiHash, sandbox } = yield* resolveApplication(config)
    const decoder = yield* Effect.acquireRelease(
      Effect.sync(() => startPageDecoder(config.telegram.decodeWorkers)),
      (d) => Effect.sync(() => d.close()),
    )
    return AccountConnector.of({
      connect: (account, proxies) =>
        connectAccount({
          account: account.label,
          session: Redacted.value(account.session),
          apiId,
          apiHash: Redacted.value(apiHash),
          timeoutMs: config.telegram.requestTimeoutS * 1000,
          gramLog: config.observe.logLevel === "trace",
          ...(sandbox ? { sandbox } : {}),
          ...(proxies ? { proxies } : {}),
          decoder,
        }),
    })
  }),
)
