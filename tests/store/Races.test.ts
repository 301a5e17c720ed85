/**
 * A history page and a live deletion of the same post committing at the same time, on PostgreSQL (two connections,
 * READ COMMITTED): each statement misses the other's uncommitted rows, so the post ends live although its deletion is
 * recorded, and the write that settles after committing (PostRepo.settleDeletions) hides it. Both orders are staged
 * with a transaction held open, so each test shows the race happening and then settled. PGlite has one connection:
 * its writes never interleave.
 */
import { Deferred, Effect, Fiber, Layer, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import type { Writes } from "../../src/domain/LiveState.ts"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { CheckpointRepo } from "../../src/store/CheckpointRepo.ts"
import { LiveStore } from "../../src/store/LiveStore.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { CommentRepo } from "../../src/store/CommentRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { effectTest } from "../support/effectTest.ts"
import { pgAvailable, pgLayer } from "../support/PgTest.ts"
import { makePost, T0 } from "../support/posts.ts"

const at = (minute: number) => new Date((T0 + 86_400 + minute * 60) * 1000)

const layer = () =>
  LiveStore.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(ChannelRepo.layer, PostRepo.layer, CheckpointRepo.layer, CommentRepo.layer)),
    Layer.provideMerge(pgLayer()),
  )

const addChannel = (id: number) =>
  ChannelRepo.use((r) =>
    r.upsert({
      id,
      accessHash: "1",
      username: `c${id}`,
      title: `Channel ${id}`,
      kind: "broadcast",
      participantsCount: null,
    })
  )

/** A test on a fresh PostgreSQL database with the store's services (skipped without a server). */
const raceTest = <A, E>(
  name: string,
  body: Effect.Effect<A, E, Layer.Success<ReturnType<typeof layer>> | Scope.Scope>,
) =>
  effectTest(name, body.pipe(Effect.provide(layer())), {
    ignore: !pgAvailable,
    sanitizeOps: false,
    sanitizeResources: false,
  })

/** Whether post `msgId` of `channelId` is stored live (not marked deleted). */
const live = (channelId: number, msgId: number) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ live: boolean }>`
      SELECT deleted_at IS NULL AS live FROM posts WHERE channel_id = ${channelId}::int8 AND msg_id = ${msgId}`
  ).pipe(Effect.map((rows) => rows[0]?.live))

/** Live writes of one channel: the deletion of `deleted`, reaching `pts` (none: the pts stays). */
const deletion = (deleted: number, pts: number | undefined): Writes => ({
  posts: new Map(),
  deleted: new Set([deleted]),
  metrics: [],
  pts,
})

/** Waits until a statement of this database waits for a lock (another connection's transaction holds it). */
const someoneWaitsForALock = SqlClient.SqlClient.use((sql) =>
  Effect.gen(function* () {
    for (;;) {
      const [row] = yield* sql<{ n: number }>`
        SELECT count(*)::int4 AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`
      if ((row?.n ?? 0) > 0) return
      yield* Effect.sleep("20 millis")
    }
  })
)

/**
 * Runs `body` in a transaction on its own connection, held open (after `body`) until `release` completes; fails as
 * `body` does.
 */
const heldOpen = <A, E, R>(body: Effect.Effect<A, E, R>, release: Deferred.Deferred<void>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ready = yield* Deferred.make<A, E>()
    // A failing test lets the transaction go (rolled back) rather than wait for it.
    yield* Effect.addFinalizer(() => Deferred.succeed(release, undefined))
    const fiber = yield* Effect.forkChild(sql.withTransaction(
      Effect.exit(body).pipe(
        Effect.tap((exit) => Deferred.done(ready, exit)),
        Effect.andThen(Deferred.await(release)),
      ),
    ))
    yield* Deferred.await(ready)
    return fiber
  })

raceTest(
  "a history page committed after a live deletion that missed it: the page's settling hides the post",
  Effect.gen(function* () {
    const posts = yield* PostRepo
    const store = yield* LiveStore
    yield* addChannel(3001)
    const release = yield* Deferred.make<void>()
    // The page (read at 0) inserts post 5 and is not committed yet.
    const page = yield* heldOpen(
      posts.upsertPage(3001, [makePost(3001, 5)], at(2), { fetchedAt: at(0) }),
      release,
    )
    // The deletion (at 1) commits meanwhile: its update and its settling see no post 5.
    yield* store.commit(new Map([[3001, deletion(5, undefined)]]), () => 0, at(1))
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(page)
    assertEquals(yield* live(3001, 5), true, "the race: the page stored the post its deletion missed")
    // What HistorySync does once a page that inserted posts committed.
    assertEquals(yield* posts.settleDeletions(3001, [5]), 1)
    assertEquals(yield* live(3001, 5), false)
    assertEquals(yield* posts.settleDeletions(3001, [5]), 0, "settled once")
  }),
)

raceTest(
  "a live deletion committed after a history page that missed it: LiveStore.commit settles it after committing",
  Effect.gen(function* () {
    const posts = yield* PostRepo
    const store = yield* LiveStore
    const checkpoints = yield* CheckpointRepo
    const sql = yield* SqlClient.SqlClient
    yield* addChannel(3002)
    yield* checkpoints.advancePts(3002, "updates", 10)
    // Another transaction holds the channel's checkpoint row: the live batch records its deletion of post 7 (at 1),
    // then waits to move the pts, uncommitted.
    const release = yield* Deferred.make<void>()
    const holder = yield* heldOpen(
      sql`SELECT 1 FROM checkpoints WHERE channel_id = 3002 AND stream = 'updates' FOR UPDATE`,
      release,
    )
    const batch = yield* Effect.forkChild(store.commit(new Map([[3002, deletion(7, 11)]]), () => 10, at(1)))
    yield* someoneWaitsForALock
    // A page read at 0 stores post 7 and settles: the deletion is not committed, so it stays live.
    const stored = yield* posts.upsertPage(3002, [makePost(3002, 7)], at(2), { fetchedAt: at(0) })
    assertEquals(stored.inserted, 1)
    assertEquals(yield* posts.settleDeletions(3002, [7]), 0)
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(holder)
    yield* Fiber.join(batch)
    assertEquals(yield* live(3002, 7), false, "the live batch settled its deletion after committing")
    // A page read after the deletion (Telegram still had the post) is not undone by settling.
    yield* posts.upsertPage(3002, [makePost(3002, 7, { views: 500 })], at(4), { fetchedAt: at(3) })
    assertEquals(yield* posts.settleDeletions(3002, [7]), 0)
    assertEquals(yield* live(3002, 7), true)
  }),
)

raceTest(
  "a live batch that deadlocks with another writer is rolled back by the server and written again",
  Effect.gen(function* () {
    const posts = yield* PostRepo
    const store = yield* LiveStore
    const sql = yield* SqlClient.SqlClient
    yield* addChannel(3003)
    yield* posts.upsertPage(3003, [makePost(3003, 3)], at(0))
    // Another writer locks post 3 first.
    const locked = yield* Deferred.make<void>()
    const go = yield* Deferred.make<void>()
    const other = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function* () {
      // The server looks for the deadlock only in the live batch's session (1 s), so that is the one it rolls back.
      yield* sql`SET LOCAL deadlock_timeout = '10min'`
      yield* posts.upsertPage(3003, [makePost(3003, 3, { views: 1_000 })], at(1))
      yield* Deferred.succeed(locked, undefined)
      yield* Deferred.await(go)
      // ...then post 5, which the live batch inserted and holds: one of the two has to go.
      yield* posts.upsertPage(3003, [makePost(3003, 5)], at(1))
    })))
    yield* Effect.addFinalizer(() => Deferred.succeed(go, undefined))
    yield* Deferred.await(locked)
    // The live batch inserts post 5, then waits for post 3's lock to move its counters.
    const writes: Writes = {
      posts: new Map([[5, makePost(3003, 5, { text: "live" })]]),
      deleted: new Set(),
      metrics: [{ msgId: 3, views: 2_000 }],
      pts: undefined,
    }
    const batch = yield* Effect.forkChild(store.commit(new Map([[3003, writes]]), () => 0, at(2)))
    yield* someoneWaitsForALock
    yield* Deferred.succeed(go, undefined)
    yield* Fiber.join(other)
    yield* Fiber.join(batch)
    const rows = yield* sql<{ msg_id: number; text: string; views: number }>`
      SELECT msg_id, text, views FROM posts WHERE channel_id = 3003 ORDER BY msg_id`
    assertEquals(rows.map((r) => [r.msg_id, r.text, r.views]), [[3, "post 3", 2_000], [5, "live", 105]])
  }),
)
