/**
 * `deno task sync-history` with MTPROTO_COMMENTS_ENABLED, run twice as separate processes (a restart): the first reads
 * every comment of the synced channels after their history, the second (after new comments) asks only the thread that
 * grew, above its highest stored comment; disabled, one line says so and nothing is asked.
 */
import { Effect } from "effect"
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
