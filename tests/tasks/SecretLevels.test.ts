/**
 * No secret at any log level: sync-history through a dead proxy and a live one, against refused ports and with an
 * unknown key, at every level from trace to none; the output is scanned for every secret configured.
 */
import { Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, jsonFile, UNLIMITED } from "../support/collect.ts"
import { freshDatabase, pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runEffect } from "../support/effectTest.ts"
import { runTask } from "../support/tasks.ts"
import { startSocks5 } from "../support/Socks5.ts"
import { stringSession } from "@tgpulse/sandbox"

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
      const d = sandbox.descriptor
      const refusedFile = yield* jsonFile({ ...d, dcs: d.dcs.map((dc) => ({ ...dc, port: 1 })) })
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
