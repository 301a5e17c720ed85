/**
 * The deletion probe: a sweep's calls are spread evenly over its period, never a burst (virtual time); over the fake
 * adapter (real pool, facade and database) each call asks about at most 100 stored ids, messageEmpty marks the post
 * deleted and chains it, and posts never stored are never asked about.
 */
import { Clock, Duration, Effect, Fiber, Layer, ManagedRuntime, References } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { collectorsOver } from "../../src/App.ts"
import { AppConfig } from "../../src/Config.ts"
import { DeletionProbe, pace } from "../../src/collect/DeletionProbe.ts"
import { HistorySync } from "../../src/collect/HistorySync.ts"
import { callSpacingMs, planSweep } from "../../src/domain/DeletionPlan.ts"
import { assertEquals } from "../support/assert.ts"
import { databaseEnv } from "../support/collect.ts"
import { virtualTest } from "../support/effectTest.ts"
import { fakeEnv, FakeTelegram } from "../support/FakeTelegram.ts"
import { pgAvailable } from "../support/PgTest.ts"

const backend = pgAvailable ? "PostgreSQL" : "PGlite"
const CHANNEL = 4_100

virtualTest(
  "deletion probe: a sweep of 250 stored ids over 30 s makes its 3 calls 10 s apart, then waits out the period",
  Effect.gen(function* () {
    const calls = planSweep([{ channelId: 1, ids: Array.from({ length: 250 }, (_, i) => i + 1) }])
    const at: Array<number> = []
    const start = yield* Clock.currentTimeMillis
    const sweep = yield* Effect.forkChild(
      pace(calls, callSpacingMs(calls.length, 30_000), () =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          at.push(now - start)
          return true
        })),
    )
    yield* TestClock.adjust(Duration.millis(29_999))
    assertEquals(at, [0, 10_000, 20_000])
    assertEquals(sweep.pollUnsafe(), undefined, "the sweep lasts its period")
    yield* TestClock.adjust(Duration.millis(1))
    yield* Fiber.join(sweep)
  }),
)

Deno.test({
  name: "deletion probe over the fake: messageEmpty for a stored id is a deletion; an id never stored is not asked",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const fake = new FakeTelegram()
    const channel = fake.channel(CHANNEL, "fake_chan", 250)
    const layer = Layer.unwrap(
      Effect.gen(function* () {
        const db: Record<string, string> = yield* databaseEnv(backend)
        return collectorsOver(fake.connector).pipe(Layer.provide(AppConfig.layerFrom({ ...db, ...fakeEnv(1) })))
      }),
    ).pipe(Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")))
    const runtime = ManagedRuntime.make(layer)
    try {
      const ref = { _tag: "Username", username: "fake_chan" } as const
      await runtime.runPromise(HistorySync.use((h) => h.syncAll([ref], { limitPerRun: 0, concurrency: 1 })))
      // Deleted after the sync, never pushed; a post published after it is not stored, so never asked about.
      channel.remove([3, 150, 200])
      channel.publish()
      const sweep = await runtime.runPromise(DeletionProbe.use((d) => d.sweepOnce([ref], 0)))
      assertEquals([sweep.calls, sweep.probed, sweep.deleted, sweep.failed], [3, 250, 3, []])
      assertEquals(fake.count("channels.GetMessages"), 3)
      const again = await runtime.runPromise(DeletionProbe.use((d) => d.sweepOnce([ref], 0)))
      assertEquals([again.calls, again.probed, again.deleted], [3, 247, 0])
      const rows = await runtime.runPromise(SqlClient.SqlClient.use((sql) =>
        sql<{ msg_id: number }>`
          SELECT msg_id FROM post_versions WHERE channel_id = ${CHANNEL} AND kind = 'deleted' ORDER BY seq`
      ))
      assertEquals(rows.map((r) => r.msg_id), [3, 150, 200])
    } finally {
      await runtime.dispose()
    }
  },
})
