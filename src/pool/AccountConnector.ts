/**
 * The port the account pool connects accounts through: one configured account (label and session) becomes a connected
 * AccountClient for the caller's scope. `src/telegram/` implements it over GramJS; tests may give their own.
 */
import { Context, type Effect, type Redacted, type Scope } from "effect"
import type { AccountClient } from "../domain/Telegram.ts"
import type { ProxyPool } from "./ProxyPool.ts"

export interface AccountToConnect {
  /** For logs and metrics: the session file's name or "account N"; never a phone number or a session. */
  readonly label: string
  readonly session: Redacted.Redacted<string>
}

export class AccountConnector extends Context.Service<AccountConnector, {
  /** The account's client for the scope's lifetime (it connects lazily, through a proxy of `proxies` if any). */
  connect(account: AccountToConnect, proxies: ProxyPool | undefined): Effect.Effect<AccountClient, never, Scope.Scope>
}>()("tgpulse/pool/AccountConnector") {}
