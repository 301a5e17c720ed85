/**
 * No secret anywhere: every task and the daemon run with known secrets configured (api hash, session strings, a
 * database password, a proxy password), at the most verbose log level, with metrics and tracing on; all their output,
 * /metrics, /info and every exported span are scanned (every log level: SecretLevels.test.ts). Also: spans of a real
 * run reach the test's OTLP receiver with parent links, and an unreachable OTLP endpoint neither slows nor stops the
 * daemon.
 */
import { Effect, Redacted } from "effect"
import { until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { freshDatabase, pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runEffect } from "../support/effectTest.ts"
import { type OtlpSpan, startReceiver } from "../support/otlp.ts"
import { freePort, runTask, startTask } from "../support/tasks.ts"

sandboxTest(
  "secrets: every task and the daemon, with secrets configured, leak none into output, /metrics, /info or spans",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 300, accounts: 2 })
      const receiver = yield* Effect.acquireRelease(
        Effect.sync(() => startReceiver()),
        (r) => Effect.promise(() => r[Symbol.asyncDispose]()),
      )
      const url = new URL(Redacted.value(yield* freshDatabase))
      const dbPassword = "db-Pa55-5ecret-77"
      url.password = dbPassword // trust auth: accepted and ignored by the server, still a secret to keep
      const apiHash = "f00dfacecafebabe0123456789abcdef"
      const proxyPassword = "proxy-5ecret-pw-42"
      const apiToken = "api-t0ken-5ecret-of-the-test"
      const apiPort = freePort()
      const sessions = sandbox.descriptor.accounts.map((a) => a.session)
      const port = freePort()
      const env = {
        ...UNLIMITED,
        DATABASE_URL: url.toString(),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        TG_API_ID: String(sandbox.descriptor.apiId),
        TG_API_HASH: apiHash,
        MTPROTO_ACCOUNTS: sessions.join(","),
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_PROXIES: `socks5://tgpulse:${proxyPassword}@127.0.0.1:1`,
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_UPDATES_ENABLED: "true",
        MTPROTO_REFRESH_ENABLED: "true",
        MTPROTO_STATS_ENABLED: "true",
        MTPROTO_PEERS: sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username).join(","),
        OBS_PROMETHEUS_ENABLED: "true",
        OBS_OTEL_ENABLED: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SAMPLER_RATIO: "1",
        HEALTH_BIND: `127.0.0.1:${port}`,
        PROMETHEUS_PORT: String(port),
        LOG_LEVEL: "trace",
        API_ENABLED: "true",
        API_BIND: `127.0.0.1:${apiPort}`,
        API_TOKEN: apiToken,
      }
      const outputs: Array<string> = []
      for (
        const [file, args] of [
          ["migrate", []],
          ["sync-history", []],
          ["load-stats", []],
          ["sync-history", ["--channels", "not a channel!"]],
        ] as const
      ) {
        const run = yield* Effect.promise(() => runTask(file, args, env))
        outputs.push(`${file}: ${run.output}`)
      }
      // poll-updates: ready (its health routes say so) and following the channels, then stopped.
      const poll = startTask("poll-updates", ["--no-restart"], env)
      yield* Effect.promise(() =>
        until(
          async () =>
            poll.output().includes("channel followed") &&
            (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
          60_000,
          "poll-updates following",
        )
      )
      yield* Effect.promise(() => poll.stop())
      outputs.push(poll.output())

      const serve = startTask("serve", [], env)
      const base = `http://127.0.0.1:${port}`
      yield* Effect.promise(() =>
        until(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, "serve ready")
      )
      // Serving and calling Telegram: some request counted.
      const called = async () =>
        /mtproto_requests_total\{[^}]*\} [1-9]/.test(await fetch(`${base}/metrics`).then((r) => r.text()))
      yield* Effect.promise(() => until(called, 60_000, "serve's first requests"))
      const metrics = yield* Effect.promise(() => fetch(`${base}/metrics`).then((r) => r.text()))
      const info = yield* Effect.promise(() => fetch(`${base}/info`).then((r) => r.text()))
      // The read API, with the token and with a wrong one: its answers and logs are scanned too.
      const api = `http://127.0.0.1:${apiPort}/api/v1/channels`
      const answers = yield* Effect.promise(() =>
        Promise.all([`Bearer ${apiToken}`, `Bearer ${apiToken}x`].map(async (authorization) => {
          const res = await fetch(api, { headers: { authorization } })
          return `${res.status} ${await res.text()}`
        }))
      )
      assert(answers[0]!.startsWith("200 ") && answers[1]!.startsWith("401 "), answers.join("\n"))
      outputs.push(...answers)
      const { code } = yield* Effect.promise(() => serve.stop())
      assertEquals(code, 0, serve.output())
      outputs.push(serve.output(), metrics, info)
      const spans = JSON.stringify(receiver.resourceSpans)
      outputs.push(spans)

      const secrets = [
        dbPassword,
        apiHash,
        apiToken,
        proxyPassword,
        ...sessions.flatMap((s) => [s, s.slice(1, 41), s.slice(-40)]),
      ]
      const everything = outputs.join("\n")
      for (const secret of secrets) {
        assert(!everything.includes(secret), `a secret leaked: ${secret.slice(0, 6)}…`)
      }
      // The scan looked at real material: logs of every task, metrics, info and spans.
      assert(metrics.includes("mtproto_requests_total{"), "metrics scanned")
      assert(info.includes('"version"'), "info scanned")
      const names = new Set(receiver.spans().map((s) => s.name))
      for (const name of ["mtproto.request.messages.GetHistory", "mtproto.collector.history"]) {
        assert(names.has(name), `span ${name} exported (have ${[...names].slice(0, 12).join(", ")})`)
      }
      assert([...names].some((n) => n.startsWith("mtproto.db.")), "db spans exported")
      // Parent links: a request span's parent is a span of the same trace.
      const byId = new Map(receiver.spans().map((s) => [s.spanId, s] as const))
      const linked = receiver.spans().filter((s: OtlpSpan) =>
        s.name === "mtproto.request.messages.GetHistory" && s.parentSpanId !== undefined &&
        byId.get(s.parentSpanId)?.traceId === s.traceId
      )
      assert(linked.length > 0, "request spans have their parents")
    })),
  { ignore: !pgAvailable },
)

sandboxTest(
  "serve: an unreachable OTLP endpoint stops nothing: the run completes, ready, exit 0 (one warning)",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 5_000, accounts: 1 })
      const port = freePort()
      const base = `http://127.0.0.1:${port}`
      const serve = startTask("serve", [], {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(yield* freshDatabase),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_PEERS: sandbox.descriptor.channels[0]!.username,
        OBS_PROMETHEUS_ENABLED: "true",
        OBS_OTEL_ENABLED: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${freePort()}`,
        OTEL_SAMPLER_RATIO: "1",
        HEALTH_BIND: `127.0.0.1:${port}`,
        PROMETHEUS_PORT: String(port),
      })
      const ingested = async () => {
        const text = await fetch(`${base}/metrics`).then((r) => r.text())
        return /mtproto_posts_ingested_total\{stream="history"\} 5000\b/.test(text)
      }
      yield* Effect.promise(() => until(ingested, 120_000, "the history run"))
      assertEquals((yield* Effect.promise(() => fetch(`${base}/readyz`))).status, 200)
      const { code } = yield* Effect.promise(() => serve.stop())
      assertEquals(code, 0, serve.output())
      const warnings = serve.output().split("\n").filter((l) =>
        l.includes("OTEL_EXPORTER_OTLP_ENDPOINT") || /trac/i.test(l) && /WARN/.test(l)
      )
      assert(warnings.length >= 1 && warnings.length <= 3, `warnings: ${warnings.join("\n")}`)
    })),
  { ignore: !pgAvailable },
)
