/**
 * `deno task serve` as a process against the sandbox and PostgreSQL: /metrics agrees with the sandbox's request log,
 * /readyz follows the database, SIGTERM during a busy sync stops it mid-run (exit 0) with every acknowledged row stored, and
 * bad input (a port in use, a malformed HEALTH_BIND) says so plainly.
 */
import { Effect, Redacted } from "effect"
import { until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { freshDatabase, pgAvailable, reader } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runEffect } from "../support/effectTest.ts"
import { freePort, startTask } from "../support/tasks.ts"
import { TcpProxy } from "../support/TcpProxy.ts"

const get = async (url: string) => {
  const res = await fetch(url)
  return { status: res.status, text: await res.text() }
}

/** Sums of a Prometheus counter's samples by one label. */
function sumBy(metrics: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue
    const value = Number(line.slice(line.lastIndexOf(" ") + 1))
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? ""
    out[key] = (out[key] ?? 0) + value
  }
  return out
}

sandboxTest(
  "serve: /metrics agrees with the sandbox's request log; SIGTERM during a busy sync stops it mid-run (exit 0), every " +
    "acknowledged row stored",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 5_000, accounts: 1 })
      const channel = sandbox.descriptor.channels[0]!
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const port = freePort()
      const base = `http://127.0.0.1:${port}`
      const task = startTask("serve", [], {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_PEERS: channel.username,
        MTPROTO_HISTORY_INTERVAL_SEC: "4",
        OBS_PROMETHEUS_ENABLED: "true",
        HEALTH_BIND: `127.0.0.1:${port}`,
        PROMETHEUS_PORT: String(port),
        LOG_LEVEL: "info",
      })
      try {
        const done = async () => {
          const rows = await query<{ done: boolean }>(
            `SELECT (cursor ->> 'done')::bool AS done FROM checkpoints WHERE stream = 'history'`,
          )
          return rows[0]?.done === true
        }
        yield* Effect.promise(() => until(done, 30_000, "the first history run"))
        assertEquals((yield* Effect.promise(() => get(`${base}/readyz`))).status, 200)
        // Between runs: every call tgpulse counted is one the sandbox logged, method by method (the methods never
        // called are exported at 0 from the first scrape).
        const metrics = (yield* Effect.promise(() => get(`${base}/metrics`))).text
        const counted = Object.fromEntries(
          Object.entries(sumBy(metrics, "mtproto_requests_total", "method")).filter(([, n]) => n > 0),
        )
        const logged: Record<string, number> = {}
        for (const e of sandbox.control.log.since(0)) {
          if (e.method in counted) logged[e.method] = (logged[e.method] ?? 0) + 1
        }
        assert(counted["messages.GetHistory"]! >= 50, `GetHistory counted: ${counted["messages.GetHistory"]}`)
        assertEquals(counted, logged)
        assertEquals(sumBy(metrics, "mtproto_posts_ingested_total", "stream"), { history: 5_000, updates: 0 })
        assert(metrics.includes("mtproto_pool_accounts_healthy 1"), "pool gauge")
        assert(/mtproto_batch_duration_seconds_count\{task="history"\} \d+/.test(metrics), "batch histogram")

        // 20,000 new posts: the next run is busy when SIGTERM comes.
        const firstTop = sandbox.world.truth(channel.id).maxId
        yield* Effect.promise(() => admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 20_000 } }))
        const ingested = async () =>
          (sumBy((await get(`${base}/metrics`)).text, "mtproto_posts_ingested_total", "stream").history ?? 0) >
            8_000
        yield* Effect.promise(() => until(ingested, 20_000, "the busy run"))
        // Stopped mid-run (below), exit 0: the shutdown did not wait for the run, nor hit its own deadline (exit 1).
        const { code } = yield* Effect.promise(() => task.stop("SIGTERM"))
        assertEquals(code, 0, task.output())
        // Every post at or below the committed top is stored.
        const [cursor] = yield* Effect.promise(() =>
          query<{ top: number }>(`SELECT (cursor ->> 'top')::int8 AS top FROM checkpoints WHERE stream = 'history'`)
        )
        const top = Number(cursor!.top)
        assert(top > firstTop && top < sandbox.world.truth(channel.id).maxId, `stopped mid-run at ${top}`)
        const [stored] = yield* Effect.promise(() =>
          query<{ n: string }>(`SELECT count(*) AS n FROM posts WHERE msg_id <= ${top}`)
        )
        const deleted = sandbox.world.truth(channel.id).deletedIds.filter((id) => id <= top).length
        assertEquals(Number(stored!.n), top - deleted)
      } finally {
        yield* Effect.promise(() => task.stop("SIGKILL"))
      }
    })),
  { ignore: !pgAvailable },
)

sandboxTest(
  "serve: /readyz is 503 with the reason while the database is away and 200 when it returns; nothing changes state",
  () =>
    runEffect(Effect.gen(function* () {
      const url = yield* freshDatabase
      const proxy = yield* Effect.acquireRelease(
        Effect.sync(() => new TcpProxy({ hostname: "127.0.0.1", port: 5432 })),
        (p) => Effect.promise(() => p[Symbol.asyncDispose]()),
      )
      const via = new URL(Redacted.value(url))
      via.port = String(proxy.port)
      const port = freePort()
      const base = `http://127.0.0.1:${port}`
      const task = startTask("serve", [], { DATABASE_URL: via.toString(), HEALTH_BIND: `127.0.0.1:${port}` })
      try {
        const status = (path: string) => async () => (await get(`${base}${path}`)).status
        yield* Effect.promise(() => until(async () => (await status("/readyz")()) === 200, 20_000, "ready"))
        assertEquals((yield* Effect.promise(() => get(`${base}/healthz`))).status, 200)
        const info = JSON.parse((yield* Effect.promise(() => get(`${base}/info`))).text)
        assertEquals(info.features.mtproto, false)
        const metrics = yield* Effect.promise(() => get(`${base}/metrics`))
        assertEquals(metrics.status, 404)
        assert(metrics.text.includes("OBS_PROMETHEUS_ENABLED"), metrics.text)
        for (const method of ["POST", "PUT", "DELETE"]) {
          const res = yield* Effect.promise(() => fetch(`${base}/readyz`, { method }).then((r) => r.status))
          assertEquals(res, 405)
        }
        proxy.cut()
        yield* Effect.promise(() => until(async () => (await status("/readyz")()) === 503, 20_000, "503"))
        const down = JSON.parse((yield* Effect.promise(() => get(`${base}/readyz`))).text)
        assert(down.reasons[0].startsWith("database unreachable"), JSON.stringify(down))
        assertEquals((yield* Effect.promise(() => get(`${base}/healthz`))).status, 200)
        proxy.restore()
        yield* Effect.promise(() => until(async () => (await status("/readyz")()) === 200, 20_000, "200 again"))
        const { code } = yield* Effect.promise(() => task.stop())
        assertEquals(code, 0, task.output())
      } finally {
        yield* Effect.promise(() => task.stop("SIGKILL"))
      }
    })),
  { ignore: !pgAvailable },
)

Deno.test("serve: a port in use stops it with one clear line; a malformed HEALTH_BIND is reported and the default used", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = (taken.addr as Deno.NetAddr).port
  try {
    const dir = await Deno.makeTempDir()
    const clash = startTask("serve", [], { TGPULSE_DATA_DIR: dir, HEALTH_BIND: `127.0.0.1:${port}` })
    const status = await clash.child.status
    const { code } = await clash.stop()
    assertEquals([status.code, code], [1, 1], clash.output())
    assert(clash.output().includes(`HEALTH_BIND 127.0.0.1:${port}: the address is already in use`), clash.output())
    assert(!clash.output().includes("    at "), "no stack trace")

    const malformed = startTask("serve", [], { TGPULSE_DATA_DIR: dir, HEALTH_BIND: "no-port-here" })
    await until(() => malformed.output().includes("health server on http://127.0.0.1:8091"), 20_000, "the default")
    assert(/Invalid HEALTH_BIND \\?"no-port-here\\?": expected host:port/.test(malformed.output()), malformed.output())
    assertEquals((await get("http://127.0.0.1:8091/healthz")).status, 200)
    const { code: stopped } = await malformed.stop()
    assertEquals(stopped, 0, malformed.output())
    await Deno.remove(dir, { recursive: true }).catch(() => {})
  } finally {
    taken.close()
  }
})
