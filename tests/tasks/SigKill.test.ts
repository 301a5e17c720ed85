/** `sync-history` killed without warning (SIGKILL) in the middle of a sync: the restart ends exactly at the truth. */
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Sql } from "../../src/store/Sql.ts"
import { until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, BACKENDS, databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { fetchedIn, runTask, spawnTask } from "../support/tasks.ts"

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

for (const backend of BACKENDS) {
  sandboxTest(
    `sync-history (${backend.name}): SIGKILL in the middle of a 10,000-post sync, then a restart, ends exactly at the truth`,
    () =>
      runEffect(Effect.gen(function* () {
        const sandbox = yield* scopedSandbox({ channels: 1, posts: 10_000 })
        const env = {
          ...ENABLED,
          ...(yield* databaseEnv(backend.name as BackendName)),
          TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        }
        const channel = sandbox.descriptor.channels[0]!
        const truth = sandbox.world.truth(channel.id)

        const child = spawnTask("sync-history", ["--channels", channel.username], env)
        // Let it store about a third of the channel, then kill it without warning.
        yield* Effect.promise(() => until(() => sandbox.control.log.lastSeq >= 35, 120_000, "the sync got going"))
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
