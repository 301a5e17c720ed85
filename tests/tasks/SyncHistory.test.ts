/** `deno task sync-history` as a user runs it: exit codes and messages (crash safety: SigKill.test.ts). */
import { Effect } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { fetchedIn, noStack, runInProcess, runTask } from "../support/tasks.ts"

const ENABLED = { MTPROTO_ENABLED: "true", MTPROTO_HISTORY_ENABLED: "true", LOG_LEVEL: "warn", ...UNLIMITED }

sandboxTest(
  "sync-history: exit codes and messages for failures, bad input and a disabled feature",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 200 })
      const env = { ...ENABLED, ...(yield* databaseEnv("PGlite")), TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
      const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
        Effect.promise(() => runTask("sync-history", args, { ...env, ...extra }))

      // All synced: 0, one summary line per channel. The positional form of the original design works too.
      const [a, b] = sandbox.descriptor.channels
      const good = yield* run([`${a!.username},${b!.username}`, "150", "1"])
      assertEquals(good.code, 0, good.output)
      assertEquals(good.stdout.trim().split("\n").map((l) => l.split(":")[0]), [
        `@${a!.username}`,
        `@${b!.username}`,
        "total",
      ])
      assertEquals(fetchedIn(good.stdout), 150, "the positional limit")

      // Some channels failed: 1, each named.
      const secret = sandbox.descriptor.channels.find((c) => c.private && c.memberUserIds?.length === 0)!.id
      const partial = yield* run(["--channels", `${a!.username},${secret},no_such_channel`])
      assertEquals(partial.code, 1, partial.output)
      assert(partial.stderr.includes(`2 of 3 channels failed: ${secret}, @no_such_channel`), partial.output)
      noStack(partial.output)

      // No channels named: every channel of the account's dialogs (the private one it belongs to too).
      const all = yield* run([])
      assertEquals(all.code, 0, all.output)
      const members = sandbox.descriptor.channels.find((c) => c.private && (c.memberUserIds?.length ?? 0) > 0)!
      assertEquals(
        all.stdout.trim().split("\n").map((l) => l.split(":")[0]).sort(),
        [
          `${members.id}`,
          `@${a!.username}`,
          `@${b!.username}`,
          "total",
        ].sort(),
      )

      // The dialogs cannot be read (a wait longer than MTPROTO_MAX_FLOOD_WAIT_S): one line, exit 1.
      sandbox.control.faults.add({
        _tag: "RpcError",
        method: "messages.GetDialogs",
        code: 420,
        message: "FLOOD_WAIT_3600",
        times: 1,
      })
      const unread = yield* run([], { MTPROTO_MAX_FLOOD_WAIT_S: "60" })
      assertEquals(unread.code, 1, unread.output)
      assert(unread.stderr.includes("the accounts' dialogs could not be read"), unread.output)
      noStack(unread.output)

      // Configuration errors: 2, a plain line naming what is wrong.
      const cases: ReadonlyArray<[ReadonlyArray<string>, Record<string, string>, string]> = [
        [["--bogus"], {}, "bogus"],
        [["--channels", "a"], {}, 'Invalid --channels "a" (bad entry "a")'],
        [
          ["--channels", "x_name", "--concurrency", "0"],
          {},
          "Invalid --concurrency 0: expected an integer from 1 to 64 (as MTPROTO_CONCURRENCY)",
        ],
        [["--channels", "x_name", "--concurrency", "100000"], {}, "Invalid --concurrency 100000: expected an integer"],
        [["--channels", "x_name", "--limit", "-1"], {}, "Invalid --limit -1: expected an integer of at least 0"],
        [["--channels", "x_name"], { DATABASE_URL: "postgres//nope" }, "Invalid DATABASE_URL (value hidden)"],
        [["--channels", "x_name"], { MTPROTO_CONCURRENCY: "many" }, 'Invalid MTPROTO_CONCURRENCY "many"'],
        [["--channels", "x_name"], { MTPROTO_RPS_PER_ACCOUNT: "-1" }, 'Invalid MTPROTO_RPS_PER_ACCOUNT "-1"'],
        [
          ["--channels", "x_name"],
          { MTPROTO_GLOBAL_RPS: "0" },
          'Invalid MTPROTO_GLOBAL_RPS "0": expected a number from 0.01 to 10000',
        ],
        [
          ["--channels", "x_name"],
          { MTPROTO_PROXIES: "socks5://me:hunter2@proxy.example" },
          "Invalid MTPROTO_PROXIES: entry 1 (socks5://me:***@proxy.example): missing port",
        ],
        [["--channels", "x_name"], { MTPROTO_ACCOUNTS: "main,main" }, 'entry 2 ("main") is listed twice'],
        [
          ["--channels", "x_name"],
          { MTPROTO_ACCOUNTS: "1AAA/hunter2" },
          "entry 1 (1AAA***, 12 characters) is neither",
        ],
        [
          ["--channels", "x_name"],
          { MTPROTO_PROXY_ENABLED: "true" },
          "MTPROTO_PROXY_ENABLED is true but MTPROTO_PROXIES is empty",
        ],
        [
          ["--channels", "x_name"],
          { TG_SANDBOX_FILE: "/nonexistent.json" },
          'Cannot use TG_SANDBOX_FILE "/nonexistent.json"',
        ],
      ]
      for (const [args, extra, says] of cases) {
        // In this process: a configuration error needs no process of its own (exit codes: tests/cli/Main.test.ts).
        const r = yield* Effect.promise(() => runInProcess(["sync-history", ...args], { ...env, ...extra }))
        assertEquals(r.code, 2, `${args.join(" ")} ${JSON.stringify(extra)}: ${r.output}`)
        assert(r.output.includes(says), `says ${says}:\n${r.output}`)
        assert(!r.output.includes("hunter2"), `no secret shown:\n${r.output}`)
        noStack(r.output)
      }

      // A disabled feature: one line, exit 0, nothing opened.
      const off = yield* run(["--channels", "x_name"], { MTPROTO_HISTORY_ENABLED: "false", LOG_LEVEL: "info" })
      assertEquals(off.code, 0, off.output)
      assertEquals(off.stdout.trim().split("\n").length, 1, off.output)
      assert(off.stdout.includes("history sync is disabled (MTPROTO_HISTORY_ENABLED is not true)"), off.output)
    })),
)

sandboxTest(
  "sync-history: a database that is down at start is retried with backoff, then named in a clear error",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 10 })
      const file = yield* descriptorFile(sandbox)
      const r = yield* Effect.promise(() =>
        runTask("sync-history", ["--channels", "sandbox_chan_0"], {
          ...ENABLED,
          DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1:1/tgpulse",
          TG_SANDBOX_FILE: file,
        })
      )
      assertEquals(r.code, 1, r.output)
      assert(
        r.output.includes("Cannot connect to PostgreSQL at 127.0.0.1:1/tgpulse after 6 attempts: connection refused"),
        r.output,
      )
      assert(!r.output.includes("hunter2"), "the password never shows")
      noStack(r.output)
      // Each failed attempt but the last said it would try again (the backoff itself: Sql.connectRetry's test).
      for (let n = 1; n < 6; n++) assert(r.output.includes(`(attempt ${n} of 6), trying again`), r.output)
    })),
  { ignore: !pgAvailable },
)
