/** `deno task sync-history` as a user runs it: crash safety under SIGKILL, exit codes and messages. */
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Sql } from "../../src/store/Sql.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, BACKENDS, databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runTask, spawnTask } from "../support/tasks.ts"

const ENABLED = { MTPROTO_ENABLED: "true", MTPROTO_HISTORY_ENABLED: "true", LOG_LEVEL: "warn", ...UNLIMITED }

/** Counts and sums in the database a task wrote to (opened after the task exited). */
const storedSums = (env: Record<string, string>) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ posts: string; views: string; snapshots: string; distinct_snapshots: string }>`
      SELECT (SELECT count(*) FROM posts) AS posts, (SELECT coalesce(sum(views), 0) FROM posts) AS views,
        (SELECT count(*) FROM post_metrics) AS snapshots,
        (SELECT count(DISTINCT (channel_id, msg_id)) FROM post_metrics) AS distinct_snapshots`
  ).pipe(
    Effect.map(([r]) => ({
      posts: Number(r!.posts),
      views: Number(r!.views),
      snapshots: Number(r!.snapshots),
      distinctSnapshots: Number(r!.distinct_snapshots),
    })),
    Effect.provide(
      env.DATABASE_URL ? Sql.layerUrl(Redacted.make(env.DATABASE_URL)) : Sql.layerEmbedded(env.TGPULSE_DATA_DIR!),
    ),
  )

const fetchedIn = (output: string): number => Number(/fetched (\d+)/.exec(output)?.[1] ?? -1)

for (const backend of BACKENDS) {
  sandboxTest(
    `sync-history (${backend.name}): SIGKILL in the middle of a 50,000-post sync, then a restart, ends exactly at the truth`,
    () =>
      runEffect(Effect.gen(function* () {
        const sandbox = yield* scopedSandbox({ channels: 1, posts: 50_000 })
        const env = {
          ...ENABLED,
          ...(yield* databaseEnv(backend.name as BackendName)),
          TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        }
        const channel = sandbox.descriptor.channels[0]!
        const truth = sandbox.world.truth(channel.id)

        const child = spawnTask("sync-history", ["--channels", channel.username], env)
        // Let it store about a third of the channel, then kill it without warning.
        for (let i = 0; i < 600 && sandbox.control.log.lastSeq < 170; i++) yield* Effect.sleep("25 millis")
        assert(sandbox.control.log.lastSeq >= 170, "the sync got going")
        child.kill("SIGKILL")
        const status = yield* Effect.promise(() => child.status)
        yield* Effect.promise(() => child.stderr.cancel())
        assertEquals(status.signal, "SIGKILL")

        const before = yield* storedSums(env)
        assert(before.posts > 0 && before.posts < truth.count, `killed in the middle (${before.posts} stored)`)
        const rerun = yield* Effect.promise(() => runTask("sync-history", ["--channels", channel.username], env))
        assertEquals(rerun.code, 0, rerun.output)
        assertEquals(
          fetchedIn(rerun.output),
          truth.count - before.posts,
          "the restart fetched exactly what was missing",
        )
        const after = yield* storedSums(env)
        assertEquals(after, {
          posts: truth.count,
          views: truth.views,
          snapshots: truth.count,
          distinctSnapshots: truth.count,
        })
      })),
    { ignore: backend.ignore },
  )
}

sandboxTest(
  "sync-history: exit codes and messages for failures, bad input and a disabled feature",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 200 })
      const env = { ...ENABLED, ...(yield* databaseEnv("PGlite")), TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
      const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
        Effect.promise(() => runTask("sync-history", args, { ...env, ...extra }))
      const noStack = (output: string) => assert(!/\n\s+at /.test(output), `no stack trace:\n${output}`)

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
      const partial = yield* run(["--channels", `${a!.username},sandbox_private,no_such_channel`])
      assertEquals(partial.code, 1, partial.output)
      assert(partial.stderr.includes("2 of 3 channels failed: @sandbox_private, @no_such_channel"), partial.output)
      noStack(partial.output)

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
        [[], {}, "No channels to sync: pass --channels @name,123 or set MTPROTO_PEERS"],
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
        const r = yield* run(args, extra)
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
      const started = performance.now()
      const r = yield* Effect.promise(() =>
        runTask("sync-history", ["--channels", "sandbox_chan_0"], {
          ...ENABLED,
          DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1:1/tgpulse",
          TG_SANDBOX_FILE: file,
        })
      )
      const seconds = (performance.now() - started) / 1000
      assertEquals(r.code, 1, r.output)
      assert(
        r.output.includes("Cannot connect to PostgreSQL at 127.0.0.1:1/tgpulse after 6 attempts: connection refused"),
        r.output,
      )
      assert(!r.output.includes("hunter2"), "the password never shows")
      assert(!/\n\s+at /.test(r.output), r.output)
      assert(seconds > 7, `it retried with backoff (${seconds.toFixed(1)} s)`)
    })),
  { ignore: !pgAvailable },
)

sandboxTest(
  "deno task demo works with nothing configured, reports every channel, and re-runs incrementally",
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "tgpulse_demo_" })
    try {
      const env = { TGPULSE_DATA_DIR: dataDir }
      const first = await runTask("demo", ["--channels", "2", "--posts", "400"], env)
      assertEquals(first.code, 0, first.output)
      assert(first.stdout.includes("total: fetched 800 posts from 2 of 2 channels"), first.output)
      for (const name of ["@sandbox_chan_0", "@sandbox_chan_1"]) {
        assert(first.stdout.includes(`(${name}, broadcast,`), `a report for ${name}:\n${first.stdout}`)
      }
      assertEquals(first.stdout.match(/^ {2}[123]\. #\d+ {2}[\d,]+ views/gm)?.length, 6, "the top 3 posts of each")
      assert(/ERR \d+\.\d%/.test(first.stdout), "ERR is reported")
      assert(first.stdout.includes("Point it at real Telegram"), "how to go on")
      const again = await runTask("demo", ["--channels", "2", "--posts", "400"], env)
      assertEquals(again.code, 0, again.output)
      assert(again.stdout.includes("total: fetched 0 posts from 2 of 2 channels with 2 requests"), again.output)
    } finally {
      await Deno.remove(dataDir, { recursive: true })
    }
  },
)
