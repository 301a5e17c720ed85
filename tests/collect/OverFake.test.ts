/**
 * The collectors over an adapter in memory (FakeTelegram behind the AccountConnector port), with the real pool, facade
 * and database: the history walk (pages, deletions, what a re-run asks), a failing page retried, a FLOOD_WAIT moving
 * the work to another account, and live updates (pushed changes stored with their pts, a gap filled by a difference).
 * No MTProto here: the end-to-end tests against the sandbox cover the adapter.
 */
import { Effect, Exit, Fiber, Layer, ManagedRuntime, References } from "effect"
import { SqlClient } from "effect/sql"
import { collectorsOver } from "../../src/App.ts"
import { AppConfig } from "../../src/Config.ts"
import { HistorySync } from "../../src/collect/HistorySync.ts"
import { LiveUpdates } from "../../src/collect/LiveUpdates.ts"
import { FloodWait, Transient } from "../../src/domain/TelegramError.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv } from "../support/collect.ts"
import { fakeEnv, FakeTelegram } from "../support/FakeTelegram.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { settled, until } from "../support/wait.ts"

const backend = pgAvailable ? "PostgreSQL" : "PGlite"
const CHANNEL = 4_000

/** The collectors over `fake` on a fresh database; disposed at the end of the test. */
async function over(fake: FakeTelegram, accounts = 1) {
  const layer = Layer.unwrap(
    Effect.gen(function* () {
      const db: Record<string, string> = yield* databaseEnv(backend)
      return collectorsOver(fake.connector).pipe(Layer.provide(AppConfig.layerFrom({ ...db, ...fakeEnv(accounts) })))
    }),
  ).pipe(Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")))
  const runtime = ManagedRuntime.make(layer)
  await runtime.context()
  const sync = (name: string) =>
    runtime.runPromise(
      HistorySync.use((h) => h.syncAll([{ _tag: "Username", username: name }], { limitPerRun: 0, concurrency: 1 })),
    )
  const stored = () =>
    runtime.runPromise(
      SqlClient.SqlClient.use((sql) =>
        sql<{ msg_id: number }>`SELECT msg_id FROM posts WHERE deleted_at IS NULL ORDER BY msg_id DESC`
      ),
    ).then((rows) => rows.map((r) => r.msg_id))
  return { runtime, sync, stored, [Symbol.asyncDispose]: () => runtime.dispose() }
}

Deno.test("over the fake: the history walk stores every post, deletions skipped, and a re-run asks one page", async () => {
  const fake = new FakeTelegram()
  const channel = fake.channel(CHANNEL, "fake_chan", 250)
  channel.remove([10, 11, 12, 200])
  await using h = await over(fake)
  const [first] = await h.sync("fake_chan")
  assertEquals([first!.status, first!.fetched], ["ok", 246])
  assertEquals(await h.stored(), channel.ids())
  // 246 posts newest first: pages of 100, 100, 46 (the last says nothing older remains).
  assertEquals(fake.count("messages.GetHistory"), 3)
  const [again] = await h.sync("fake_chan")
  assertEquals([again!.status, again!.fetched], ["ok", 0])
  assertEquals(fake.count("messages.GetHistory"), 4, "one forward page: nothing newer")
  // 150 new posts: two forward pages.
  for (let i = 0; i < 150; i++) channel.publish()
  const [more] = await h.sync("fake_chan")
  assertEquals(more!.fetched, 150)
  assertEquals(await h.stored(), channel.ids())
  assertEquals(fake.count("messages.GetHistory"), 6)
})

Deno.test("over the fake: a page that fails transiently is asked again; nothing is lost or doubled", async () => {
  const fake = new FakeTelegram()
  const channel = fake.channel(CHANNEL, "fake_chan", 300)
  await using h = await over(fake)
  fake.failNext("messages.GetHistory", new Transient({ code: 500, errorMessage: "INTERNAL" }))
  const [r] = await h.sync("fake_chan")
  assertEquals([r!.status, r!.fetched], ["ok", 300])
  assertEquals(await h.stored(), channel.ids())
  assertEquals(fake.count("messages.GetHistory"), 1 + 3, "the failed page once more, then three pages")
})

Deno.test("over the fake: a FLOOD_WAIT on one account moves the page to the other; the first is not asked again", async () => {
  const fake = new FakeTelegram()
  const channel = fake.channel(CHANNEL, "fake_chan", 500)
  await using h = await over(fake, 2)
  fake.failNext("messages.GetHistory", new FloodWait({ seconds: 600 }))
  const [r] = await h.sync("fake_chan")
  assertEquals([r!.status, r!.floodWaits], ["ok", 1])
  assertEquals(await h.stored(), channel.ids())
  const history = fake.calls.filter((c) => c.method === "messages.GetHistory")
  const flooded = history[0]!.account
  assertEquals(history.slice(1).filter((c) => c.account === flooded), [], "the cooling account was left alone")
})

Deno.test("over the fake: live updates store pushed changes with their pts; a gap is filled by a difference", async () => {
  const fake = new FakeTelegram()
  const channel = fake.channel(CHANNEL, "fake_chan", 20)
  await using h = await over(fake)
  await h.sync("fake_chan")
  const pts = () =>
    h.runtime.runPromise(
      SqlClient.SqlClient.use((sql) =>
        sql<{ pts: string }>`SELECT cursor ->> 'pts' AS pts FROM checkpoints WHERE stream = 'updates'`
      ),
    ).then((rows) => Number(rows[0]?.pts ?? 0))
  const live = h.runtime.runFork(
    LiveUpdates.use((l) =>
      l.run([{ _tag: "Username", username: "fake_chan" }], { reconcileSeconds: 3_600, statusSeconds: 0 })
    ),
  )
  await until(async () => (await pts()) === channel.pts, 0, "the start")
  // In order: stored with their pts.
  for (let i = 0; i < 5; i++) await h.runtime.runPromise(fake.push(channel.publish()))
  await until(async () => (await pts()) === channel.pts, 0, "the pushed changes")
  assertEquals(await h.stored(), channel.ids())
  // A change never pushed, then one that is: the gap is filled by getChannelDifference.
  channel.publish()
  channel.remove([3, 4])
  await h.runtime.runPromise(fake.push(channel.publish()))
  await until(async () => (await pts()) === channel.pts, 0, "the gap filled")
  assertEquals(await h.stored(), channel.ids())
  assert(fake.count("updates.GetChannelDifference") >= 1, "a difference was asked for")
  // Interrupted, it stops (flushing what it holds) and ends.
  await settled(h.runtime.runPromise(Fiber.interrupt(live)), "the run to stop")
  const exit = await h.runtime.runPromise(Fiber.await(live))
  assert(Exit.hasInterrupts(exit), "interrupted, not failed")
})
