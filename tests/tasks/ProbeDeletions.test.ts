/**
 * `sync-history --probe-deletions` then `verify`, as a user runs them: deletions made while nobody followed the channel
 * are found by one probe sweep (its own summary line), and the channel's edit and deletion log verifies.
 */
import { Effect } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runTask } from "../support/tasks.ts"

const ENABLED = { MTPROTO_ENABLED: "true", MTPROTO_HISTORY_ENABLED: "true", LOG_LEVEL: "warn", ...UNLIMITED }

sandboxTest(
  "sync-history --probe-deletions finds deletions nobody pushed; verify checks the chain",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 150 })
      const database = yield* databaseEnv(pgAvailable ? "PostgreSQL" : "PGlite")
      const env = { ...ENABLED, ...database, TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
      const [channel] = sandbox.descriptor.channels
      const run = (task: string, args: ReadonlyArray<string>) => Effect.promise(() => runTask(task, args, env))

      const first = yield* run("sync-history", ["--channels", channel!.username!])
      assertEquals(first.code, 0, first.output)
      assert(!first.stdout.includes("deletion probe"), "no sweep unless asked for")
      yield* Effect.promise(() => admin(sandbox, `/channels/${channel!.id}/delete`, { body: { ids: [7, 140] } }))

      const probed = yield* run("sync-history", ["--channels", channel!.username!, "--probe-deletions"])
      assertEquals(probed.code, 0, probed.output)
      assert(
        probed.stdout.includes("deletion probe: 150 stored posts asked in 2 requests, 2 found deleted"),
        probed.output,
      )
      const verified = yield* run("verify", ["--channel", String(channel!.id)])
      assertEquals(verified.code, 0, verified.output)
      assert(verified.stdout.includes(`channel ${channel!.id}: 152 entries, chain verified`), verified.output)
    })),
)
