/**
 * `deno task sync-history` against a PostgreSQL server the test owns and breaks while the sync runs: sessions
 * terminated, a backend SIGKILLed (as the OOM killer does: the server then restarts every session), the server
 * crashed (`pg_ctl -m immediate stop`) and started again, and a failover to a copy that lags behind (the database
 * loses pages it had acknowledged). The same run must end with every channel equal to the sandbox's truth, or fail
 * naming what it could not store: never exit 0 with a gap.
 */
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Sql } from "../../src/store/Sql.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { PgServer, pgServerAvailable } from "../support/PgServer.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"
import type { Sandbox } from "@tgpulse/sandbox"

/** Per channel: posts stored, their views, and snapshots. */
const stored = (url: string) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ channel_id: string; posts: string; views: string; snapshots: string }>`
      SELECT p.channel_id, count(*) AS posts, coalesce(sum(p.views), 0) AS views,
        (SELECT count(*) FROM post_metrics m WHERE m.channel_id = p.channel_id) AS snapshots
      FROM posts p GROUP BY p.channel_id`
  ).pipe(
    Effect.provide(Sql.layerUrl(Redacted.make(url), { migrate: false, maxConnections: 1 })),
    Effect.map((rows) =>
      new Map(rows.map((r) => [Number(r.channel_id), {
        posts: Number(r.posts),
        views: Number(r.views),
        snapshots: Number(r.snapshots),
      }]))
    ),
  )

const historyRequests = (sandbox: Sandbox) => sandbox.control.log.since(0, "messages.GetHistory").length

/** Waits (without a wall-clock limit of its own beyond a generous deadline) until the sync has asked for `n` pages. */
const afterRequests = (sandbox: Sandbox, n: number, what: string) =>
  Effect.promise(() => until(() => historyRequests(sandbox) >= n, 120_000, `${n} history requests (${what})`, 20))

sandboxTest(
  "sync-history: sessions terminated, a backend SIGKILLed, the server crashed and a lagging copy promoted, all in one " +
    "run: the run ends with every channel equal to the truth",
  () =>
    runEffect(Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => PgServer.start()),
        (s) => Effect.promise(() => s[Symbol.asyncDispose]()),
      )
      const sandbox = yield* scopedSandbox({ channels: 3, posts: 20_000 })
      const channels = sandbox.descriptor.channels.filter((c) => !c.private)
      const task = startTask("sync-history", ["--channels", channels.map((c) => c.username).join(",")], {
        ...UNLIMITED,
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_CONCURRENCY: "2",
        DATABASE_URL: server.url(),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        LOG_LEVEL: "warn",
      })
      // Two channels of 200 pages run side by side: none finishes before ~400 requests, so every fault below hits
      // a walk in the middle. Each step waits for the sync to have gone on since the last one.
      yield* afterRequests(sandbox, 40, "before terminating its sessions")
      assert((yield* Effect.promise(() => server.terminate("tgpulse"))) > 0, "tgpulse's sessions were terminated")

      yield* afterRequests(sandbox, 80, "before killing a backend")
      const backends = yield* Effect.promise(() => server.backends("tgpulse"))
      assert(backends.length > 0, "tgpulse has sessions again")
      server.killBackend(backends[0]!)

      yield* afterRequests(sandbox, 130, "before the crash")
      yield* Effect.promise(() => server.crash())
      // The copy a lagging replica would hold: the database as it is now.
      yield* Effect.promise(() => server.snapshot())
      yield* Effect.promise(() => server.startServer())

      yield* afterRequests(sandbox, 260, "before the failover")
      yield* Effect.promise(() => server.crash())
      yield* Effect.promise(() => server.restoreSnapshot())
      yield* Effect.promise(() => server.startServer())

      const status = yield* Effect.promise(() => task.child.status)
      const output = task.output()
      assertEquals(status.code, 0, output)
      assert(output.includes("the database lost pages it had stored"), `the lost pages were noticed:\n${output}`)
      const rows = yield* stored(server.url())
      for (const channel of channels) {
        const truth = sandbox.world.truth(channel.id)
        assertEquals(
          rows.get(channel.id),
          { posts: truth.count, views: truth.views, snapshots: truth.count },
          `@${channel.username} equals the truth`,
        )
      }
    })),
  { ignore: !pgServerAvailable },
)
