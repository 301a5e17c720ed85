/**
 * The daemons' health server: poll-updates serves the same /healthz /readyz /metrics /info as serve when HEALTH_BIND
 * is set, and every metric family the dashboards and alert rules read is there from the very first scrape.
 */
import { Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { freshDatabase, pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { freePort, startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

/** The metric families of the original design (and ours), each with at least one series from the first scrape. */
export const FAMILIES = [
  "mtproto_requests_total",
  "mtproto_request_duration_seconds",
  "mtproto_flood_wait_seconds",
  "mtproto_pool_accounts_healthy",
  "mtproto_pool_accounts_total",
  "mtproto_proxy_pool_healthy",
  "mtproto_batch_duration_seconds",
  "mtproto_queue_depth",
  "mtproto_rate_limit_hits_total",
  "mtproto_errors_total",
  "mtproto_posts_ingested_total",
  "mtproto_updates_applied_total",
  "mtproto_checkpoint_lag_seconds",
  "mtproto_collector_restarts_total",
] as const

/** The families of a Prometheus text with at least one sample. */
function familiesWithSamples(text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1] ?? ""
    out.add(name.replace(/_(bucket|sum|count)$/, ""))
  }
  return out
}

sandboxTest(
  "poll-updates with HEALTH_BIND serves /healthz /readyz /metrics /info; every family is in the first scrape",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 100, accounts: 2 })
      const port = freePort()
      const base = `http://127.0.0.1:${port}`
      const task = startTask("poll-updates", ["--no-restart"], {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(yield* freshDatabase),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_UPDATES_ENABLED: "true",
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_PEERS: sandbox.descriptor.channels[0]!.username,
        OBS_PROMETHEUS_ENABLED: "true",
        HEALTH_BIND: `127.0.0.1:${port}`,
        LOG_LEVEL: "info",
      })
      const get = (path: string) =>
        Effect.promise(async () => {
          const res = await fetch(`${base}${path}`)
          return { status: res.status, text: await res.text() }
        })
      // The first answer of the server, then its first scrape: every family is there already.
      yield* Effect.promise(() =>
        until(async () => (await fetch(`${base}/healthz`)).status === 200, 60_000, "the health server")
      )
      const first = yield* get("/metrics")
      assertEquals(first.status, 200)
      const present = familiesWithSamples(first.text)
      assertEquals(FAMILIES.filter((f) => !present.has(f)), [], "families missing from the first scrape")
      for (const account of ["sandbox 1", "sandbox 2"]) {
        assert(
          first.text.includes(
            `mtproto_requests_total{method="messages.GetHistory",account="${account}",dc="2",status="success"}`,
          ),
          `${account}'s series from the first scrape:\n${first.text.slice(0, 2000)}`,
        )
      }
      // Ready once it follows the channel; /info says what runs.
      yield* Effect.promise(() =>
        until(async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, "poll-updates ready")
      )
      const info = JSON.parse((yield* get("/info")).text)
      assertEquals(info.collectors, { history: false, updates: true, refresh: false, stats: false })
      assertEquals(info.accounts.total, 2)
      assertEquals((yield* get("/nothing")).status, 404)
      const { code } = yield* Effect.promise(() => task.stop("SIGTERM"))
      assertEquals(code, 0, task.output())
    })),
  { ignore: !pgAvailable },
)
