/** The account pool's connector over GramJS: the api id and hash (or the sandbox's), timeouts and GramJS's log level. */
import { Effect, Layer, Redacted } from "effect"
import { AppConfig } from "../Config.ts"
import { AccountConnector } from "../pool/AccountConnector.ts"
import { connectAccount } from "./AccountAdapter.ts"
import { resolveApplication } from "../pool/Accounts.ts"

export const TelegramConnector = Layer.effect(
  AccountConnector,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { apiId, apiHash, sandbox } = yield* resolveApplication(config)
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
        }),
    })
  }),
)
