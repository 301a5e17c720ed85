/**
 * Live updates end to end: real GramJS clients receiving the sandbox's pushes (every kind, with pts), gaps made by
 * withheld pushes and recovered through updates.getChannelDifference, a pts log too short (history fallback), and
 * poll-updates as a process: SIGKILL and restart, SIGTERM under load. The database is compared with the world.
 */
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Sql } from "../../src/store/Sql.ts"
import type { Sandbox } from "@tgpulse/sandbox"
import { settled, until } from "../support/wait.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, descriptorFile, syncHarness, UNLIMITED } from "../support/collect.ts"
import { freshDatabase, pgAvailable } from "../support/PgTest.ts"
import { activity, activityDone, committedPts, differences, type Query } from "../support/live.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runEffect } from "../support/effectTest.ts"
import { runTask, spawnTask } from "../support/tasks.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const POOL = { MTPROTO_POOL_ENABLED: "true" }
const chan = (i: number) => `sandbox_chan_${i}`
const idOf = (i: number) => 1_000_000 + i
/** Every channel's activity has made at least `n` changes (it is under way). */
const activityAt = (sandbox: Sandbox, channelIds: ReadonlyArray<number>, n: number) => async () => {
  for (const id of channelIds) {
    if ((await admin(sandbox, `/channels/${id}/activity`)).done < n) return false
  }
  return true
}

/** Every channel's stored posts equal the world's, counters included. */
const allEqual = (query: Query, sandbox: Sandbox, channelIds: ReadonlyArray<number>) => async () => {
  for (const id of channelIds) if ((await differences(query, sandbox, id, true)).length > 0) return false
  return true
}

const allCommitted = (query: Query, sandbox: Sandbox, channelIds: ReadonlyArray<number>) => async () => {
  for (const id of channelIds) {
    if ((await committedPts(query, id)) !== sandbox.world.pts(id)) return false
  }
  return true
}

/** A harness whose channels are synced and followed live. */
async function following(channels: number, posts: number, extra: { ptsLogSize?: number } = {}) {
  const h = await syncHarness(backend, { channels, posts, ...extra, env: POOL })
  const names = Array.from({ length: channels }, (_, i) => chan(i))
  await h.sync(names)
  return { h, names, ids: names.map((_, i) => idOf(i)) }
}

sandboxTest("live: 2,500 updates of every kind across 5 channels at 500/s: the database equals the world", async () => {
  const { h, names, ids } = await following(5, 200)
  await using _ = h
  const live = h.follow(names)
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
  for (const id of ids) await activity(h.sandbox, id, 500, 100)
  await until(() => activityDone(h.sandbox, ids), 30_000, "the activity")
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "every pts committed")
  // Counter changes carry no pts: wait until the last ones are stored too.
  await until(allEqual(h.query, h.sandbox, ids), 10_000, "every counter stored")
  await live.stop()
  for (const id of ids) assertEquals(await differences(h.query, h.sandbox, id, true), [], `channel ${id}`)
  const s = await live.stats()
  assert(s.applied >= 2_500, `applied ${s.applied}`)
  // Every pts change was pushed three times (one per member account): two copies dropped by the pts rules.
  assert(s.duplicates > 0, "duplicates from the other accounts' connections were dropped")
  const edits = await h.query<{ n: number }>(
    `SELECT count(*)::int4 AS n FROM posts WHERE content_changed_at IS NOT NULL AND channel_id = ANY('{${ids}}')`,
  )
  assert(edits[0]!.n > 0, "edits detected by content")
  const snapshots = await h.query<{ n: number }>("SELECT count(*)::int4 AS n FROM post_metrics")
  assert(snapshots[0]!.n > 1_000, `post_metrics snapshots: ${snapshots[0]!.n}`)
})

sandboxTest(
  "live: channels join and leave a running follow; one that left is no longer written and its lock is let go " +
    "(another run takes it over); every channel ends equal to the world",
  async () => {
    const { h, names, ids } = await following(3, 100)
    await using _ = h
    let named = [names[0]!, names[1]!]
    const moving = h.follow(() => named)
    await until(allCommitted(h.query, h.sandbox, ids.slice(0, 2)), 10_000, "the first two followed")
    assert((await committedPts(h.query, ids[2]!)) === 0, "the third is not followed yet")
    for (const id of ids) await activity(h.sandbox, id, 300, 100)
    await until(activityAt(h.sandbox, ids, 50), 10_000, "the activity under way")
    // The first channel leaves, the third joins.
    named = [names[1]!, names[2]!]
    await until(() => activityDone(h.sandbox, ids), 30_000, "the activity")
    await until(allCommitted(h.query, h.sandbox, ids.slice(1)), 15_000, "the followed ones committed")
    const left = await committedPts(h.query, ids[0]!)
    assert(left > 0 && left < h.sandbox.world.pts(ids[0]!), `the one that left stays behind (${left})`)
    // Its lock was let go: another run takes it and catches it up.
    const other = h.follow([names[0]!])
    await until(allCommitted(h.query, h.sandbox, ids), 15_000, "every pts committed")
    for (const id of ids) assertEquals(await differences(h.query, h.sandbox, id, false), [], `channel ${id}`)
    await moving.stop()
    await other.stop()
  },
)

sandboxTest("live: withheld pushes leave pts gaps that getChannelDifference fills", async () => {
  const { h, names, ids } = await following(2, 100)
  await using _ = h
  const live = h.follow(names)
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
  await admin(h.sandbox, "/pushes/withhold", { body: { count: 40, channelId: ids[0] } })
  for (const id of ids) await activity(h.sandbox, id, 300, 150)
  await until(() => activityDone(h.sandbox, ids), 20_000, "the activity")
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "every pts committed")
  await live.stop()
  for (const id of ids) assertEquals(await differences(h.query, h.sandbox, id, false), [], `channel ${id}`)
  const s = await live.stats()
  assert(s.gapsRecovered >= 1, `gaps recovered: ${s.gapsRecovered}`)
  const diffs = h.sandbox.control.log.since(0, "updates.GetChannelDifference")
  assert(diffs.some((e) => Number(e.params.channel) === ids[0]), "the gap's channel asked for its difference")
})

sandboxTest(
  "live: a database that lost committed batches (its pts fell back) stops the run before it writes past the hole; " +
    "the next run fills it from the stored pts",
  async () => {
    const { h, names, ids } = await following(1, 100)
    await using _ = h
    const [id] = ids as [number]
    const live = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
    await admin(h.sandbox, `/channels/${id}/activity`, { body: { count: 30, mix: { new: 1 } } })
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the first changes")
    // The database loses its last committed changes (a failover to a replica that lagged): the pts and the posts of
    // the 20 newest changes (each a new post) are gone.
    const pts = h.sandbox.world.pts(id)
    await h.query(
      `UPDATE checkpoints SET cursor = jsonb_set(cursor, '{pts}', to_jsonb(${pts - 20}))
       WHERE channel_id = ${id} AND stream = 'updates'`,
    )
    await h.query(`DELETE FROM posts WHERE channel_id = ${id} AND msg_id > ${h.sandbox.world.truth(id).maxId - 20}`)
    await admin(h.sandbox, `/channels/${id}/posts`, { body: { count: 5 } })
    const ended = await settled(live.ended, "the run to stop")
    assert(ended.includes("the database lost updates it had stored"), `the run stopped: ${ended}`)
    assertEquals(await committedPts(h.query, id), pts - 20, "nothing was written past the hole")
    // Started again (as poll-updates and serve do), the run catches up from the stored pts.
    const again = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the catch-up")
    await again.stop()
    assertEquals(await differences(h.query, h.sandbox, id, false), [])
  },
)

sandboxTest(
  "live: a channel followed for the first time starts at the pts its history was read at: changes made since are replayed",
  async () => {
    const { h, names, ids } = await following(1, 300)
    await using _ = h
    const [id] = ids as [number]
    // After the history sync, before anyone follows: posts are deleted and edited, new ones published.
    const truth = h.sandbox.world.truth(id)
    await admin(h.sandbox, `/channels/${id}/delete`, { body: { ids: [truth.maxId, truth.maxId - 1] } })
    await admin(h.sandbox, `/channels/${id}/posts/${truth.maxId - 2}/edit`, { body: {} })
    await admin(h.sandbox, `/channels/${id}/posts`, { body: { count: 3 } })
    const live = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the catch-up")
    await live.stop()
    assertEquals(await differences(h.query, h.sandbox, id, false), [])
  },
)

sandboxTest("live: a private or unknown channel among the peers is left out; the others are followed", async () => {
  const { h, names, ids } = await following(1, 50)
  await using _ = h
  const secret = String(h.sandbox.descriptor.channels.find((c) => c.private && c.memberUserIds?.length === 0)!.id)
  const live = h.follow([...names, secret, "no_such_channel"])
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
  await activity(h.sandbox, ids[0]!, 20, 200)
  await until(() => activityDone(h.sandbox, ids), 10_000, "the activity")
  await until(allCommitted(h.query, h.sandbox, ids), 10_000, "every pts committed")
  await live.stop()
  assertEquals(await differences(h.query, h.sandbox, ids[0]!, false), [])
  // Alone, they are a clear failure of the run.
  const none = h.follow([secret, "no_such_channel"])
  const ended = await settled(none.ended, "the run to fail")
  assert(ended.includes("none of the channels can be followed live"), ended)
})

sandboxTest(
  "live: connections dropped mid-stream reconnect and catch up; nothing pushed meanwhile is lost",
  async () => {
    const { h, names, ids } = await following(2, 100)
    await using _ = h
    const live = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
    for (const id of ids) await activity(h.sandbox, id, 600, 200)
    // Dropped twice while the changes come: a quarter in, and again half-way.
    await until(activityAt(h.sandbox, ids, 150), 20_000, "a quarter of the activity")
    const before = h.sandbox.control.log.lastSeq
    const dropped = await admin(h.sandbox, "/connections/drop", { body: {} })
    assert(dropped.dropped > 0, "connections dropped")
    await until(activityAt(h.sandbox, ids, 300), 20_000, "half of the activity")
    await admin(h.sandbox, "/connections/drop", { body: {} })
    await until(() => activityDone(h.sandbox, ids), 20_000, "the activity")
    await until(allCommitted(h.query, h.sandbox, ids), 15_000, "every pts committed")
    await live.stop()
    for (const id of ids) assertEquals(await differences(h.query, h.sandbox, id, false), [], `channel ${id}`)
    const after = h.sandbox.control.log.since(before, "updates.GetChannelDifference")
    assert(after.length >= ids.length, `caught up after reconnecting (${after.length} differences)`)
  },
)

sandboxTest(
  "live: a pts older than Telegram keeps falls back to a history sync (channelDifferenceTooLong)",
  async () => {
    const { h, names, ids } = await following(1, 100, { ptsLogSize: 50 })
    await using _ = h
    let live = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 10_000, "the start")
    await live.stop()
    // While nobody listens, 300 changes: more than the 50 the pts log keeps.
    await activity(h.sandbox, ids[0]!, 300, 1_000)
    await until(() => activityDone(h.sandbox, ids), 10_000, "the activity")
    live = h.follow(names)
    await until(allCommitted(h.query, h.sandbox, ids), 20_000, "the catch-up")
    await live.stop()
    const s = await live.stats()
    assertEquals(s.tooLong, 1)
    // New posts came through history; deletions and edits older than the log cannot be known without a full sweep.
    const missing = (await differences(h.query, h.sandbox, ids[0]!, false)).filter((d) => d.endsWith("missing"))
    assertEquals(missing, [])
  },
)

/** Env of a poll-updates process on the sandbox and database. */
const pollEnv = (database: Record<string, string>, file: string, names: ReadonlyArray<string>) => ({
  ...database,
  ...UNLIMITED,
  ...POOL,
  TG_SANDBOX_FILE: file,
  MTPROTO_ENABLED: "true",
  MTPROTO_HISTORY_ENABLED: "true",
  MTPROTO_UPDATES_ENABLED: "true",
  MTPROTO_PEERS: names.join(","),
  MTPROTO_UPDATES_STATUS_SEC: "1",
  LOG_LEVEL: "info",
})

sandboxTest(
  "poll-updates: SIGKILL in the middle, then a restart, ends exactly at the world; SIGTERM under load exits 0 " +
    "with every acknowledged change stored",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 3, posts: 100 })
      const names = [0, 1, 2].map(chan)
      const ids = [0, 1, 2].map(idOf)
      const url = yield* freshDatabase
      const env = pollEnv({ DATABASE_URL: Redacted.value(url) }, yield* descriptorFile(sandbox), names)
      // The test reads the database beside the process (PostgreSQL only: the embedded one is exclusive).
      const sql = yield* Layer.build(Sql.layerUrl(url, { migrate: true, maxConnections: 2 }))
      const h = {
        query: <A extends object>(text: string) =>
          Effect.runPromise(
            SqlClient.SqlClient.use((c) => c.unsafe<A>(text)).pipe(Effect.provideContext(sql)),
          ) as Promise<ReadonlyArray<A>>,
      }

      // The history first (poll-updates follows from the current pts on), then run 1: changes at 300/s in all, SIGKILL.
      const history = yield* Effect.promise(() => runTask("sync-history", [], env))
      assertEquals(history.code, 0, history.output)
      let child = spawnTask("poll-updates", [], env)
      yield* Effect.promise(() => until(allCommitted(h.query, sandbox, ids), 20_000, "run 1 start"))
      const startPts = ids.map((id) => sandbox.world.pts(id))
      for (const id of ids) yield* Effect.promise(() => activity(sandbox, id, 300, 100))
      // Killed in the middle: a third of the changes made, and some of them committed.
      yield* Effect.promise(() => until(activityAt(sandbox, ids, 100), 60_000, "a third of the activity"))
      yield* Effect.promise(() =>
        until(async () => (await committedPts(h.query, ids[0]!)) > startPts[0]!, 60_000, "run 1 committing")
      )
      child.kill("SIGKILL")
      yield* Effect.promise(() => child.status)
      // While it is down: the rest of the activity and more.
      yield* Effect.promise(() => until(() => activityDone(sandbox, ids), 20_000, "the activity"))
      for (const id of ids) yield* Effect.promise(() => activity(sandbox, id, 100, 1_000))
      yield* Effect.promise(() => until(() => activityDone(sandbox, ids), 20_000, "more activity"))

      // Run 2: catches up to the world exactly.
      child = spawnTask("poll-updates", [], env)
      yield* Effect.promise(() => until(allCommitted(h.query, sandbox, ids), 20_000, "the catch-up"))
      for (const id of ids) {
        assertEquals(yield* Effect.promise(() => differences(h.query, sandbox, id, false)), [], `channel ${id}`)
      }
      // Under load again (changes still coming), SIGTERM: exit 0 (its own deadline would make it 1), and the pts it
      // committed covers stored rows.
      const loadPts = ids.map((id) => sandbox.world.pts(id))
      for (const id of ids) yield* Effect.promise(() => activity(sandbox, id, 3_000, 170))
      yield* Effect.promise(() => until(activityAt(sandbox, ids, 250), 60_000, "the load under way"))
      yield* Effect.promise(() =>
        until(async () => (await committedPts(h.query, ids[0]!)) > loadPts[0]!, 60_000, "run 2 committing")
      )
      child.kill("SIGTERM")
      const status = yield* Effect.promise(() => child.status)
      assertEquals(status.code, 0)
      assert(!(yield* Effect.promise(() => activityDone(sandbox, ids))), "stopped while the changes still came")
      for (const id of ids) {
        const pts = yield* Effect.promise(() => committedPts(h.query, id))
        const changes = sandbox.world.changesSince(id, 100) ?? []
        const rows = yield* Effect.promise(() =>
          h.query<{ msg_id: number; deleted: boolean }>(
            `SELECT msg_id, deleted_at IS NOT NULL AS deleted FROM posts WHERE channel_id = ${id}`,
          )
        )
        const stored = new Map(rows.map((r) => [r.msg_id, r.deleted]))
        for (const c of changes) {
          if (c.pts > pts) break
          for (const msg of c.ids) {
            if (c.kind === "new") assert(stored.has(msg) || isDeletedLater(changes, msg, pts), `new ${msg} stored`)
            if (c.kind === "delete") assert(!stored.has(msg) || stored.get(msg) === true, `deleted ${msg} marked`)
          }
        }
      }
    })),
)

function isDeletedLater(
  changes: ReadonlyArray<{ kind: string; ids: ReadonlyArray<number>; pts: number }>,
  msg: number,
  pts: number,
) {
  return changes.some((c) => c.kind === "delete" && c.pts <= pts && c.ids.includes(msg))
}

Deno.test("poll-updates: off is a no-op with one line; a bad restart argument or no channels is exit 2", async () => {
  const off = await runTask("poll-updates", [], {})
  assertEquals(off.code, 0, off.output)
  assert(off.output.includes("live updates are disabled (MTPROTO_ENABLED is not true)"), off.output)
  const on = { MTPROTO_ENABLED: "true", MTPROTO_UPDATES_ENABLED: "true", MTPROTO_PEERS: "@somewhere" }
  const bad = await runTask("poll-updates", ["maybe"], on)
  assertEquals(bad.code, 2, bad.output)
  assert(bad.stderr.includes('Invalid restart argument "maybe": expected true or false'), bad.output)
  const none = await runTask("poll-updates", ["--no-restart"], { ...on, MTPROTO_PEERS: "" })
  assertEquals(none.code, 2, none.output)
  assert(none.stderr.includes("No channels to follow: set MTPROTO_PEERS"), none.output)
  assert(!(bad.output + none.output).includes("    at "), "no stack trace")
})
