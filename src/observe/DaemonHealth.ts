/**
 * The health server of a long-running task (serve, poll-updates): `/readyz` from the services once they are up
 * (database reachable, migrations applied, a usable account when it collects) or from why they are not, and `/info`
 * (version, uptime, features, collectors, accounts by state; no secrets).
 */
import { Context, Duration, Effect, Option, Redacted, Ref, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import denoJson from "../../deno.json" with { type: "json" }
import { migrations } from "../../migrations/mod.ts"
import type { AppConfigShape } from "../Config.ts"
import { failureMessage } from "../collect/Peers.ts"
import { MIGRATIONS_TABLE } from "../store/Sql.ts"
import { decodeSession, resolveAccounts } from "../telegram/Accounts.ts"
import { TELEGRAM_METHODS, TelegramClient } from "../telegram/TelegramClient.ts"
import { initializeAccount } from "./Metrics.ts"
import { DEFAULT_BIND, type HealthServerError, serveHealth } from "./Health.ts"

/** What readiness reads once the services are up: the database, and the pool when the task collects. */
export type DaemonServices =
  | Context.Context<SqlClient.SqlClient>
  | Context.Context<SqlClient.SqlClient | TelegramClient>

export interface DaemonHealth {
  /** The services are up (or up again). */
  readonly up: (services: DaemonServices) => Effect.Effect<void>
  /** The services are down or not up yet, and why. */
  readonly down: (why: string) => Effect.Effect<void>
}

/**
 * Serves the health routes on `bind` for the scope's lifetime; the task says when its services are up or down.
 * `collectors` names what the task runs (for `/info`; any of them true: readiness needs a usable account).
 */
export const serveDaemonHealth = (
  config: AppConfigShape,
  options: { readonly bind: string; readonly collectors: Readonly<Record<string, boolean>> },
): Effect.Effect<DaemonHealth, HealthServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const state = yield* Ref.make<{ readonly services?: DaemonServices; readonly error: string }>({ error: "starting" })
    const collecting = Object.values(options.collectors).some(Boolean)
    const started = Date.now()

    const telegramOf = (services: DaemonServices | undefined) =>
      services ? Context.getOption(services as Context.Context<TelegramClient>, TelegramClient) : Option.none()

    const readiness = Effect.gen(function* () {
      const { services, error } = yield* Ref.get(state)
      if (!services) return [error]
      const reasons: Array<string> = []
      const expected = Object.keys(migrations).length
      const applied = yield* SqlClient.SqlClient.use((sql) =>
        sql<{ n: number }>`SELECT count(*)::int4 AS n FROM ${sql(MIGRATIONS_TABLE)}`
      ).pipe(
        Effect.map((rows) => rows[0]?.n ?? 0),
        Effect.timeout(Duration.seconds(2)),
        Effect.provideContext(services as Context.Context<SqlClient.SqlClient>),
        Effect.exit,
      )
      if (applied._tag === "Failure") {
        reasons.push(`database unreachable: ${failureMessage(applied.cause).slice(0, 200)}`)
      } else if (applied.value < expected) {
        reasons.push(`migrations not applied: ${applied.value} of ${expected}`)
      }
      const telegram = telegramOf(services)
      if (collecting && Option.isSome(telegram)) {
        const accounts = yield* telegram.value.status
        const usable = accounts.filter((a) => a.state === "healthy" || a.state === "cooling").length
        if (usable === 0) reasons.push(`no healthy account (${accounts.map((a) => `${a.name} ${a.state}`).join(", ")})`)
      }
      return reasons
    })

    const info = Effect.gen(function* () {
      const telegram = telegramOf((yield* Ref.get(state)).services)
      const accounts = Option.isSome(telegram) ? yield* telegram.value.status : []
      const byState: Record<string, number> = {}
      for (const a of accounts) byState[a.state] = (byState[a.state] ?? 0) + 1
      return {
        service: "tgpulse",
        version: denoJson.version,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        features: config.features,
        collectors: options.collectors,
        accounts: { total: accounts.length, byState },
      }
    })

    // The accounts' request series exist from the first scrape too (before the server listens, before any account
    // connects).
    if (config.features.prometheus && collecting) {
      yield* resolveAccounts(config, { first: !config.features.pool }).pipe(
        Effect.flatMap(({ accounts }) =>
          Effect.forEach(accounts, (a) => {
            const decoded = decodeSession(Redacted.value(a.session))
            return initializeAccount(a.label, "dc" in decoded ? String(decoded.dc) : "", TELEGRAM_METHODS)
          }, { discard: true })
        ),
        Effect.ignore,
      )
    }
    yield* serveHealth({
      bind: options.bind,
      metrics: config.features.prometheus,
      prometheusPort: config.observe.prometheusPort,
      readiness,
      info,
    })
    return {
      up: (services) => Ref.set(state, { services, error: "" }),
      down: (why) => Ref.set(state, { error: why }),
    }
  })

/** serve's address: HEALTH_BIND, else the default. */
export const serveBind = (config: AppConfigShape): string =>
  Option.getOrElse(config.observe.healthBind, () => DEFAULT_BIND)
