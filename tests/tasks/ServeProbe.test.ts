/**
 * `serve` with MTPROTO_DELETION_PROBE_ENABLED: the Supervisor's probe job finds deletions made while nothing followed
 * the channel (live updates off, so nothing else can see them) and chains them; off, the job is one line and no call.
 */
import { Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { freshDatabase, pgAvailable, reader } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { freePort, runTask, startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

sandboxTest(
  "serve: the deletion probe job finds deletions nobody pushed and chains them; disabled, one line",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 100 })
      const [channel] = sandbox.descriptor.channels
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const env = {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_PEERS: channel!.username,
        MTPROTO_HISTORY_INTERVAL_SEC: "3600",
        LOG_LEVEL: "info",
      }
      const synced = yield* Effect.promise(() => runTask("sync-history", [], env))
      assertEquals(synced.code, 0, synced.output)
      yield* Effect.promise(() => admin(sandbox, `/channels/${channel!.id}/delete`, { body: { ids: [3, 77, 100] } }))
      const deleted = async () =>
        (await query<{ msg_id: number }>(
          `SELECT msg_id FROM post_versions WHERE channel_id = ${channel!.id} AND kind = 'deleted' ORDER BY msg_id`,
        )).map((r) => Number(r.msg_id))

      // Off (the default): one line, and the deletions stay unknown.
      const off = startTask("serve", [], { ...env, HEALTH_BIND: `127.0.0.1:${freePort()}` })
      yield* Effect.promise(() =>
        until(() => off.output().includes("tgpulse is serving"), 30_000, "serve started").finally(() => off.stop())
      )
      assert(off.output().includes("the deletion probe is disabled (MTPROTO_DELETION_PROBE_ENABLED is not true)"))
      assertEquals(yield* Effect.promise(deleted), [])

      // On: the first sweep starts at once (100 stored posts: one call).
      const on = startTask("serve", [], {
        ...env,
        HEALTH_BIND: `127.0.0.1:${freePort()}`,
        MTPROTO_DELETION_PROBE_ENABLED: "true",
        MTPROTO_DELETION_PROBE_PERIOD_SEC: "60",
      })
      try {
        yield* Effect.promise(() =>
          until(async () => (await deleted()).length === 3, 60_000, "the probe's deletions").catch((e) => {
            throw new Error(`${e}\n${on.output()}`)
          })
        )
      } finally {
        const { code } = yield* Effect.promise(() => on.stop())
        assertEquals(code, 0, on.output())
      }
      assertEquals(yield* Effect.promise(deleted), [3, 77, 100])
      const rows = yield* Effect.promise(() =>
        query<{ n: string }>(
          `SELECT count(*) AS n FROM posts WHERE channel_id = ${channel!.id} AND deleted_at IS NOT NULL`,
        )
      )
      assertEquals(Number(rows[0]!.n), 3)
    })),
  { ignore: !pgAvailable },
)
