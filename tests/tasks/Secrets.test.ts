/**
 * No secret anywhere: every task and the daemon run with known secrets configured (api hash, session strings, a
 * database password, a proxy password), at the most verbose log level, with metrics and tracing on; all their output,
 * /metrics, /info and every exported span are scanned. Also: spans of a real run reach the test's OTLP receiver with
 * parent links, and an unreachable OTLP endpoint neither slows nor stops the daemon.
 */
import { Effect, Redacted } from "effect"
import { sleep, until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { freshDatabase, pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runEffect } from "../support/effectTest.ts"
import { type OtlpSpan, startReceiver } from "../support/otlp.ts"
import { freePort, runTask, startTask } from "../support/tasks.ts"
import { startSocks5 } from "../support/Socks5.ts"
import { stringSession } from "../../src/sandbox/Sandbox.ts"

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
      const poll = startTask("poll-updates", ["--no-restart"], env)
      yield* Effect.promise(() => sleep(3_000))
      yield* Effect.promise(() => poll.stop())
      outputs.push(poll.output())

      const serve = startTask("serve", [], env)
      const base = `http://127.0.0.1:${port}`
      yield* Effect.promise(() =>
        until(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, "serve ready")
      )
      yield* Effect.promise(() => sleep(1_000))
      const metrics = yield* Effect.promise(() => fetch(`${base}/metrics`).then((r) => r.text()))
      const info = yield* Effect.promise(() => fetch(`${base}/info`).then((r) => r.text()))
      const { code } = yield* Effect.promise(() => serve.stop())
      assertEquals(code, 0, serve.output())
      outputs.push(serve.output(), metrics, info)
      const spans = JSON.stringify(receiver.resourceSpans)
      outputs.push(spans)

      const secrets = [
        dbPassword,
        apiHash,
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
  "secrets: at every log level, through a dead proxy and a live one, against refused ports and with an unknown key, " +
    "no password, session or api hash reaches the output",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 200, accounts: 2 })
      const livePassword = "live-proxy-5ecret-77"
      const deadPassword = "dead-proxy-5ecret-88"
      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startSocks5({ user: "tgpulse", pass: livePassword })),
        (p) => Effect.promise(() => p[Symbol.asyncDispose]()),
      )
      const apiHash = "f00dfacecafebabe0123456789abcdef"
      const dbPassword = "db-Pa55-5ecret-99"
      const sessions = sandbox.descriptor.accounts.map((a) => a.session)
      const stranger = stringSession(2, "127.0.0.1", crypto.getRandomValues(new Uint8Array(256)))
      const file = yield* descriptorFile(sandbox)
      const refusedFile = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const path = await Deno.makeTempFile({ suffix: ".json" })
          const d = sandbox.descriptor
          await Deno.writeTextFile(path, JSON.stringify({ ...d, dcs: d.dcs.map((dc) => ({ ...dc, port: 1 })) }))
          return path
        }),
        (path) => Effect.promise(() => Deno.remove(path)),
      )
      const run = (level: string, extra: Record<string, string> = {}) =>
        Effect.gen(function* () {
          const url = new URL(Redacted.value(yield* freshDatabase))
          url.password = dbPassword
          return yield* Effect.promise(() =>
            runTask("sync-history", [], {
              ...UNLIMITED,
              DATABASE_URL: url.toString(),
              TG_SANDBOX_FILE: file,
              TG_API_ID: String(sandbox.descriptor.apiId),
              TG_API_HASH: apiHash,
              MTPROTO_ACCOUNTS: [stranger, ...sessions].join(","),
              MTPROTO_POOL_ENABLED: "true",
              MTPROTO_PROXY_ENABLED: "true",
              // Two accounts try the dead proxy first (and ban it), every account then goes through the live one.
              MTPROTO_PROXIES: `socks5://tgpulse:${deadPassword}@127.0.0.1:1,${proxy.url}`,
              MTPROTO_PROXY_FAIL_SCORE_LIMIT: "1",
              MTPROTO_ENABLED: "true",
              MTPROTO_HISTORY_ENABLED: "true",
              MTPROTO_PEERS: sandbox.descriptor.channels[0]!.username,
              LOG_LEVEL: level,
              ...extra,
            })
          )
        })
      const levels = ["trace", "debug", "info", "warn", "error", "fatal", "none"]
      const runs = yield* Effect.forEach(levels, (level) => run(level), { concurrency: 2 })
      for (const [i, r] of runs.entries()) assertEquals(r.code, 0, `${levels[i]}: ${r.output}`)
      const refused = yield* run("trace", { TG_SANDBOX_FILE: refusedFile, MTPROTO_PROXY_ENABLED: "false" })
      assertEquals(refused.code, 1, refused.output)
      const trace = runs[0]!.output
      // The scan looked at real material: GramJS's own lines, the dead proxy named (masked), the unknown key.
      assert(trace.includes('"component":"gramjs"'), "GramJS's own log lines are there at trace")
      assert(trace.includes("socks5://tgpulse:***@127.0.0.1:1"), `the dead proxy is named, masked:\n${trace}`)
      assert(trace.includes("AUTH_KEY_UNKNOWN"), "the unknown key is named")
      assert(refused.output.includes("connection refused: 127.0.0.1:1"), refused.output)
      const everything = [...runs, refused].map((r) => r.output).join("\n")
      const secrets = [
        livePassword,
        deadPassword,
        apiHash,
        dbPassword,
        ...[stranger, ...sessions].flatMap((s) => [s, s.slice(1, 41), s.slice(-40)]),
      ]
      for (const secret of secrets) {
        assert(!everything.includes(secret), `a secret leaked: ${secret.slice(0, 6)}…`)
      }
    })),
  { ignore: !pgAvailable },
)

sandboxTest(
  "serve: an unreachable OTLP endpoint neither slows nor stops anything (one warning)",
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
      const started = Date.now()
      yield* Effect.promise(() => until(ingested, 30_000, "the history run"))
      const took = Date.now() - started
      assert(took < 15_000, `history took ${took} ms`)
      assertEquals((yield* Effect.promise(() => fetch(`${base}/readyz`))).status, 200)
      const { code, ms } = yield* Effect.promise(() => serve.stop())
      assertEquals(code, 0, serve.output())
      assert(ms < 2_000, `exit took ${Math.round(ms)} ms`)
      const warnings = serve.output().split("\n").filter((l) =>
        l.includes("OTEL_EXPORTER_OTLP_ENDPOINT") || /trac/i.test(l) && /WARN/.test(l)
      )
      assert(warnings.length >= 1 && warnings.length <= 3, `warnings: ${warnings.join("\n")}`)
    })),
  { ignore: !pgAvailable },
)
