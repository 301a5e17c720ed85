/**
 * `deno task sync-history` with MTPROTO_COMMENTS_ENABLED, run twice as separate processes (a restart): the first reads
 * every comment of the synced channels after their history, the second (after new comments) asks only the thread that
 * grew, above its highest stored comment; disabled, one line says so and nothing is asked. `deno task poll-updates`
 * with comments: the supervisor's comments job reads them, and a new comment comes live.
 */
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Sql } from "../../src/store/Sql.ts"
import { freshDatabase } from "../support/PgTest.ts"
import { spawnTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runTask } from "../support/tasks.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const ENABLED = { MTPROTO_ENABLED: "true", MTPROTO_HISTORY_ENABLED: "true", LOG_LEVEL: "info", ...UNLIMITED }

/** The figures of the run's `comments:` line. */
const commentsLine = (stdout: string) => {
  const m = /comments: (\d+) threads of (\d+) channels read, (\d+) new, (\d+) updated, (\d+) requests/.exec(stdout)
  assert(m !== null, `a comments line in:\n${stdout}`)
  const [threads, channels, inserted, updated, requests] = m.slice(1).map(Number)
  return { threads, channels, inserted, updated, requests }
}

sandboxTest(
  "sync-history: comments after the history, a restart reads only the new ones; off, nothing",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 3, posts: 150 })
      const env = { ...ENABLED, ...(yield* databaseEnv(backend)), TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
      const names = sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username).join(",")
      const [a, b] = sandbox.descriptor.channels
      const truth = (id: number) => Effect.promise(() => admin(sandbox, `/channels/${id}/comments/truth`))
      const run = (extra: Record<string, string>) =>
        Effect.promise(() => runTask("sync-history", ["--channels", names], { ...env, ...extra }))

      // Off (the default): one line, no getReplies.
      const off = yield* run({})
      assertEquals(off.code, 0, off.output)
      assert(off.output.includes("comments are disabled (MTPROTO_COMMENTS_ENABLED is not true)"), off.output)
      assertEquals(sandbox.control.log.since(0, "messages.GetReplies").length, 0)

      // On, every thread probed at each run (a one-second slot), so a restart sees the post that grew.
      const on = { MTPROTO_COMMENTS_ENABLED: "true", MTPROTO_COMMENTS_SCHEDULE: "3650d:1s" }
      const first = yield* run(on)
      assertEquals(first.code, 0, first.output)
      const [ta, tb] = [yield* truth(a!.id), yield* truth(b!.id)]
      assertEquals(commentsLine(first.stdout).inserted, ta.count + tb.count)

      const post = Number(Object.keys(ta.posts)[0])
      const { comments } = yield* Effect.promise(() => admin(sandbox, `/channels/${a!.id}/posts/${post}/comments`))
      const highest = Math.max(...(comments as ReadonlyArray<{ id: number }>).map((c) => c.id))
      yield* Effect.promise(() =>
        admin(sandbox, `/channels/${a!.id}/posts/${post}/comments`, { body: { count: 5, text: "after the restart" } })
      )
      const since = sandbox.control.log.lastSeq
      const second = yield* run(on)
      assertEquals(second.code, 0, second.output)
      assertEquals(commentsLine(second.stdout).inserted, 5)
      const asked = sandbox.control.log.since(since, "messages.GetReplies").map((e) => e.params)
      assertEquals(asked.map((p) => [p.peer, p.msgId, p.minId]), [[a!.id, post, highest]])
    })),
)

sandboxTest(
  "poll-updates: the supervisor's comments job reads the comments, and a new one comes live",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 100 })
      const url = yield* freshDatabase
      const names = sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username)
      const env = {
        ...ENABLED,
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_PEERS: names.join(","),
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_UPDATES_ENABLED: "true",
      }
      // The test reads the database beside the process (PostgreSQL only: the embedded one is exclusive).
      const sql = yield* Layer.build(Sql.layerUrl(url, { migrate: true, maxConnections: 2 }))
      const count = (where: string) =>
        Effect.promise(() =>
          Effect.runPromise(
            SqlClient.SqlClient.use((c) => c.unsafe<{ n: number }>(`SELECT count(*)::int4 AS n FROM comments ${where}`))
              .pipe(Effect.provideContext(sql)),
          )
        ).pipe(Effect.map((rows) => rows[0]?.n ?? 0))
      // The history without comments, then poll-updates with them: its comments job reads every thread.
      const history = yield* Effect.promise(() => runTask("sync-history", [], env))
      assertEquals(history.code, 0, history.output)
      const a = sandbox.descriptor.channels[0]!
      const truth = () => Effect.promise(() => admin(sandbox, `/channels/${a.id}/comments/truth`))
      const child = spawnTask("poll-updates", [], { ...env, MTPROTO_COMMENTS_ENABLED: "true" })
      try {
        const expected = (yield* truth()).count
        yield* Effect.promise(() =>
          until(
            () => Effect.runPromise(count(`WHERE channel_id = ${a.id}`)).then((n) => n === expected),
            20_000,
            "read",
          )
        )
        const post = Number(Object.keys((yield* truth()).posts)[0])
        const { ids } = yield* Effect.promise(() =>
          admin(sandbox, `/channels/${a.id}/posts/${post}/comments`, { body: { text: "pushed" } })
        )
        yield* Effect.promise(() =>
          until(
            () => Effect.runPromise(count(`WHERE comment_id = ${ids[0]} AND text = 'pushed'`)).then((n) => n === 1),
            20_000,
            "the live comment",
          )
        )
      } finally {
        child.kill("SIGTERM")
        yield* Effect.promise(() => child.status)
      }
    })),
  { ignore: !pgAvailable },
)
