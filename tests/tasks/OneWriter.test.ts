/**
 * One writer per channel across processes on one database: a second `sync-history` on the same channels waits for
 * the first (saying so) and then only checks for what is new, so no page is fetched twice.
 */
import { Effect } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

sandboxTest(
  "sync-history: a second run on the same channels waits for the first, then fetches only what is new",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 5_000 })
      const names = sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username)
      const env = {
        ...UNLIMITED,
        ...(yield* databaseEnv("PostgreSQL")),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_REQUEST_TIMEOUT_S: "600",
        LOG_LEVEL: "info",
      }
      const pages = () => sandbox.control.log.since(0, "messages.GetHistory").length
      const first = startTask("sync-history", ["--channels", names.join(",")], env)
      yield* Effect.promise(() => until(() => pages() >= 4, 120_000, "the first run's first pages"))
      // Slow the first run down until the second one has found the channels taken.
      yield* Effect.promise(() =>
        admin(sandbox, "/faults", { body: { _tag: "Latency", method: "messages.GetHistory", ms: 1_000 } })
      )
      const second = startTask("sync-history", ["--channels", names.join(",")], env)
      yield* Effect.promise(() =>
        until(() => second.output().includes("waiting until it is done"), 120_000, "the second run to wait")
      )
      yield* Effect.promise(() => admin(sandbox, "/faults", { method: "DELETE" }))
      const [a, b] = yield* Effect.promise(() => Promise.all([first.child.status, second.child.status]))
      assertEquals(a.code, 0, first.output())
      assertEquals(b.code, 0, second.output())
      // Every page once (50 per channel), and the second run's check for newer posts (one request per channel).
      const fetched = Number(/total: fetched (\d+) posts/.exec(second.output())?.[1])
      assertEquals(fetched, 0, second.output())
      assertEquals(pages(), 2 * 50 + 2, "no page was fetched twice")
      assert(second.output().includes("the other writer is done: going on"), second.output())
    })),
  { ignore: !pgAvailable },
)
