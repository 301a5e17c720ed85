/**
 * Readiness of a long-running task (serve, poll-updates) and its health server. `/readyz` answers from the services
 * once they are up (database reachable, migrations applied, a usable account when the task collects, no collector
 * failing) or from why they are not; `/info` shows version, uptime, features, collectors and accounts by state (no
 * secrets). The supervisor says when the services and the collectors go up or down.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Ref } from "effect"
import type { SqlClient } from "effect/sql"
import denoJson from "../deno.json" with { type: "json" }
import { AppConfig, type Collector } from "./Config.ts"
import { failureMessage } from "./collect/Peers.ts"
import type { Ownership } from "./cluster/Ownership.ts"
import { AccountPool } from "./pool/AccountPool.ts"
import { appliedMigrations } from "./store/Sql.ts"
import { decodeSession, resolveAccounts } from "./pool/Accounts.ts"
import { TELEGRAM_METHODS } from "./telegram/Requests.ts"
import { DEFAULT_BIND, serveHealth } from "./observe/Health.ts"
import { initializeAccount } from "./observe/Metrics.ts"

/** Which collectors a task runs. */
export type Collectors = Readonly<Record<Collector, boolean>>

/** Whether a task runs any collector (else it serves health only). */
export const collects = (collectors: Collectors): boolean => Object.values(collectors).some(Boolean)

/** What readiness reads once the services are up: the database, and the pool when the task collects. */
export interface ReadyServices {
  readonly sql: Context.Context<SqlClient.SqlClient>
  readonly pool: Option.Option<AccountPool["Service"]>
  /** What this runner owns (serve: the accounts and channels whose entities run here). */
  readonly ownership: Option.Option<Ownership["Service"]>
}

interface State {
  readonly services: ReadyServices | undefined
  /** Why the services are not up (while `services` is undefined). */
  readonly error: string
  /** Collectors that failed and have not run again yet, with why. */
  readonly failing: ReadonlyMap<string, string>
}

export class Readiness extends Context.Service<Readiness, {
  /** What the task runs. */
  readonly collectors: Collectors
  /** Why the task is not ready; empty when it is. */
  readonly reasons: Effect.Effect<ReadonlyArray<string>>
  /** What `/info` shows. */
  readonly info: Effect.Effect<Record<string, unknown>>
  /** The services are up (or up again). */
  readonly up: (services: ReadyServices) => Effect.Effect<void>
  /** The services are down or not up yet, and why. */
  readonly down: (why: string) => Effect.Effect<void>
  /** A collector failed (and waits to run again). */
  readonly failed: (collector: string, why: string) => Effect.Effect<void>
  /** A collector runs (again). */
  readonly running: (collector: string) => Effect.Effect<void>
}>()("tgpulse/observe/Readiness") {
  static readonly layer = (collectors: Collectors): Layer.Layer<Readiness, never, AppConfig> =>
    Layer.effect(
      Readiness,
      Effect.gen(function* () {
        const config = yield* AppConfig
        const state = yield* Ref.make<State>({ services: undefined, error: "starting", failing: new Map() })
        const collecting = collects(collectors)
        const started = yield* Clock.currentTimeMillis

        const reasons = Effect.gen(function* () {
          const { services, error, failing } = yield* Ref.get(state)
          if (!services) return [error]
          const reasons: Array<string> = []
          const migrations = yield* appliedMigrations.pipe(
            Effect.timeout(Duration.seconds(2)),
            Effect.provideContext(services.sql),
            Effect.exit,
          )
          if (migrations._tag === "Failure") {
            reasons.push(`database unreachable: ${failureMessage(migrations.cause).slice(0, 200)}`)
          } else if (migrations.value.applied < migrations.value.expected) {
            reasons.push(`migrations not applied: ${migrations.value.applied} of ${migrations.value.expected}`)
          }
          if (collecting && Option.isSome(services.pool)) {
            const accounts = yield* services.pool.value.status
            const usable = accounts.filter((a) => a.state === "healthy" || a.state === "cooling").length
            if (usable === 0) {
              reasons.push(`no healthy account (${accounts.map((a) => `${a.name} ${a.state}`).join(", ")})`)
            }
          }
          for (const [collector, why] of failing) reasons.push(`${collector} failed: ${why.slice(0, 200)}`)
          return reasons
        })

        const info = Effect.gen(function* () {
          const services = (yield* Ref.get(state)).services
          const pool = services?.pool ?? Option.none()
          const accounts = Option.isSome(pool) ? yield* pool.value.status : []
          const ownership = services?.ownership ?? Option.none()
          const byState: Record<string, number> = {}
          for (const a of accounts) byState[a.state] = (byState[a.state] ?? 0) + 1
          return {
            service: "tgpulse",
            version: denoJson.version,
            uptimeSeconds: Math.round(((yield* Clock.currentTimeMillis) - started) / 1000),
            features: config.features,
            collectors,
            accounts: { total: accounts.length, byState },
            ...(Option.isSome(ownership)
              ? {
                cluster: {
                  enabled: config.cluster.enabled,
                  runner: yield* Ref.get(ownership.value.address),
                  owns: yield* ownership.value.now,
                },
              }
              : {}),
          }
        })

        const failing = (f: (m: Map<string, string>) => void) =>
          Ref.update(state, (s) => {
            const next = new Map(s.failing)
            f(next)
            return { ...s, failing: next }
          })

        return Readiness.of({
          collectors,
          reasons,
          info,
          up: (services) => Ref.update(state, (s) => ({ ...s, services, error: "" })),
          down: (why) => Ref.update(state, (s) => ({ ...s, services: undefined, error: why })),
          failed: (collector, why) => failing((m) => m.set(collector, why)),
          running: (collector) => failing((m) => m.delete(collector)),
        })
      }),
    )
}

/** serve's health address: HEALTH_BIND, else the default. */
export const serveBind = (config: AppConfig["Service"]): string =>
  Option.getOrElse(config.observe.healthBind, () => DEFAULT_BIND)

/**
 * The health server on `bind` for the layer's lifetime, answering from Readiness. With metrics on, every account's
 * request series exists from the first scrape (before the server listens, before any account connects).
 */
export const HealthServer = (bind: string) =>
  Layer.effectDiscard(Effect.gen(function* () {
    const config = yield* AppConfig
    const readiness = yield* Readiness
    if (config.features.prometheus && collects(readiness.collectors)) {
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
      bind,
      metrics: config.features.prometheus,
      prometheusPort: config.observe.prometheusPort,
      readiness: readiness.reasons,
      info: readiness.info,
    })
  }))
