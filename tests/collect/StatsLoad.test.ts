/**
 * Official statistics end to end: real GramJS clients against the sandbox's stats DCs (exported senders, STATS_MIGRATE,
 * async graph tokens that expire), into PostgreSQL (PGlite when no server runs), compared with the sandbox's truth.
 */
import { Effect } from "effect"
import type { LogEntry } from "@tgpulse/sandbox"
import type { PeerStats } from "../../src/collect/StatsLoader.ts"
import { assert, assertEquals } from "../support/assert.ts"
import {
  type BackendName,
  databaseEnv,
  descriptorFile,
  type SyncHarness,
  syncHarness,
  UNLIMITED,
} from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { runTask } from "../support/tasks.ts"
import { runEffect } from "../support/effectTest.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"

/**
 * Three DCs, so stats live on the main DC (2) for some channels and on 4 or 5 for others. Channel i: broadcast unless
 * i % 4 == 3; account 0 may view the stats of every channel but those with i % 4 == 1; statsDc = [2, 4, 5][i % 3].
 */
const WORLD = { dcIds: [2, 4, 5], channels: 6, posts: 120 } as const

/** Only the first account (no pool): what the sandbox's truth describes. */
const firstAccountOnly = (env: Readonly<Record<string, string>> = {}) =>
  syncHarness(backend, { ...WORLD, env: { MTPROTO_POOL_ENABLED: "false", ...env } })

const chan = (i: number) => `sandbox_chan_${i}`
const idOf = (i: number) => 1_000_000 + i

interface Daily {
  readonly day: string
  readonly metric: string
  readonly value: number
}

const sortDaily = (rows: ReadonlyArray<Daily>) =>
  [...rows].sort((a, b) => a.metric.localeCompare(b.metric) || a.day.localeCompare(b.day))

async function storedDaily(h: SyncHarness, channelId: number): Promise<ReadonlyArray<Daily>> {
  const rows = await h.query<{ day: string; metric: string; value: number }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, metric, value FROM channel_daily WHERE channel_id = ${channelId}`,
  )
  return sortDaily(rows.map((r) => ({ day: r.day, metric: r.metric, value: Number(r.value) })))
}

async function truthDaily(h: SyncHarness, channelId: number): Promise<ReadonlyArray<Daily>> {
  const rows: ReadonlyArray<Daily> = await admin(h.sandbox, `/channels/${channelId}/stats/daily`)
  return sortDaily(rows.map((r) => ({ day: r.day, metric: r.metric, value: Number(r.value) })))
}

async function storedHourly(h: SyncHarness, channelId: number) {
  const rows = await h.query<{ hour: string; metric: string; value: number }>(
    `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') AS hour, metric, value
     FROM channel_hourly WHERE channel_id = ${channelId}`,
  )
  return rows.map((r) => `${r.metric}@${r.hour}=${Number(r.value)}`).sort()
}

async function truthHourly(h: SyncHarness, channelId: number) {
  const rows: ReadonlyArray<{ hour: string; metric: string; value: number }> = await admin(
    h.sandbox,
    `/channels/${channelId}/stats/hourly`,
  )
  return rows.map((r) => `${r.metric}@${r.hour}=${Number(r.value)}`).sort()
}

const statsCalls = (h: SyncHarness): ReadonlyArray<LogEntry> =>
  h.sandbox.control.log.since(0).filter((e) => e.method.startsWith("stats."))

const byChannel = (results: ReadonlyArray<PeerStats>) => Object.fromEntries(results.map((r) => [r.channelId, r]))

/** Every row of the statistics tables with its system version (xmin): a row rewritten gets another one. */
async function snapshot(h: SyncHarness): Promise<Record<string, ReadonlyArray<string>>> {
  const tables = {
    stats_raw: "channel_id, key, fetched_at",
    channel_daily: "channel_id, day, metric",
    channel_hourly: "channel_id, hour, metric",
    channel_stats_values: "channel_id, day, name",
    post_stats: "channel_id, msg_id, metric, x",
    post_public_forwards: "channel_id, msg_id, fwd_channel_id, fwd_msg_id",
  }
  const out: Record<string, ReadonlyArray<string>> = {}
  for (const [table, key] of Object.entries(tables)) {
    const rows = await h.query<{ r: string }>(`SELECT concat_ws('|', ${key}, xmin::text) AS r FROM ${table}`)
    out[table] = rows.map((r) => r.r).sort()
  }
  return out
}

sandboxTest(
  "stats: every daily and hourly graph equals the sandbox's truth; a non-admin peer is skipped; stats go to the " +
    "stats DC through exported senders while the main connection stays home; an expired async token is reloaded",
  async () => {
    await using h = await firstAccountOnly()
    // The first async token issued is born expired: its load answers GRAPH_EXPIRED_RELOAD.
    await admin(h.sandbox, "/stats/expire-next", { body: { count: 1 } })
    const results = await h.loadStats([0, 1, 2, 3, 4, 5].map(chan), { concurrency: 1 })
    const r = byChannel(results)

    // Channels 1 and 5 (i % 4 == 1): account 0 is no admin there: skipped with the reason, nothing stored.
    for (const i of [1, 5]) {
      assertEquals(r[idOf(i)]!.status, "skipped")
      assert(r[idOf(i)]!.error!.includes("can_view_stats is false for"), r[idOf(i)]!.error)
      assertEquals(await truthDaily(h, idOf(i)), [])
      assertEquals(await storedDaily(h, idOf(i)), [])
    }
    for (const i of [0, 2, 3, 4]) {
      const p = r[idOf(i)]!
      assertEquals(p.status, "ok", `${chan(i)}: ${p.error}`)
      assertEquals(p.kind, i % 4 === 3 ? "megagroup" : "broadcast")
      assertEquals(p.statsDc, WORLD.dcIds[i % 3])
      assertEquals(p.graphErrors, 0, `${chan(i)} graph errors`)
      const truth = await truthDaily(h, idOf(i))
      assert(truth.length > 100, `${chan(i)}: truth has ${truth.length} daily points`)
      assertEquals(await storedDaily(h, idOf(i)), truth, `${chan(i)} channel_daily`)
      const hourly = await truthHourly(h, idOf(i))
      assert(hourly.length > 0, `${chan(i)}: hourly truth`)
      assertEquals(await storedHourly(h, idOf(i)), hourly, `${chan(i)} channel_hourly`)
    }
    // Exactly one token was refused (born expired) and reloaded by getting the statistics once more.
    assertEquals(results.reduce((n, p) => n + p.reloads, 0), 1)
    assert(results.every((p) => p.status !== "ok" || p.asyncLoaded > 0), "every loaded peer had async graphs")
    const refused = statsCalls(h).filter((e) => e.method === "stats.LoadAsyncGraph" && e.outcome !== "ok")
    assertEquals(refused.map((e) => e.outcome), ["GRAPH_EXPIRED_RELOAD"])

    // Routing: every stats call of a channel went straight to its stats DC (no STATS_MIGRATE: getFullChannel said
    // where), and each async graph was loaded on the DC of the statistics that issued its token.
    const statsDcOf = new Map([0, 1, 2, 3, 4, 5].map((i) => [idOf(i), WORLD.dcIds[i % 3]!]))
    let issuer: number | undefined
    for (const e of statsCalls(h)) {
      if (e.method === "stats.LoadAsyncGraph") {
        assertEquals(e.dcId, issuer, "async graph loaded where its token was issued")
        continue
      }
      assertEquals([e.method, e.dcId], [e.method, statsDcOf.get(Number(e.params.channel))])
      if (e.method === "stats.GetBroadcastStats" || e.method === "stats.GetMegagroupStats") issuer = e.dcId
    }
    assert(statsCalls(h).every((e) => !e.outcome.startsWith("STATS_MIGRATE")), "no STATS_MIGRATE")
    assert(new Set(statsCalls(h).map((e) => e.dcId)).size === 3, "stats served by DCs 2, 4 and 5")
    const away = h.sandbox.control.log.since(0).filter((e) =>
      e.dcId !== 2 && !e.method.startsWith("stats.") && e.method !== "auth.ImportAuthorization" &&
      e.method !== "help.GetConfig" && e.method !== "InitConnection"
    )
    assertEquals(away.map((e) => `${e.method}@${e.dcId}`), [])
    assert(
      h.sandbox.control.log.since(0, "auth.ImportAuthorization").some((e) => e.dcId === 5),
      "an exported sender was authorized on DC 5",
    )
    // The main connection is still on DC 2: history goes there after the statistics.
    const before = h.sandbox.control.log.lastSeq
    await h.sync([chan(0)], { limitPerRun: 100 })
    const pages = h.sandbox.control.log.since(before, "messages.GetHistory")
    assert(pages.length > 0 && pages.every((e) => e.dcId === 2), "history on DC 2")

    // Scalar values: as served.
    const values: ReadonlyArray<Record<string, unknown>> = await admin(h.sandbox, `/channels/${idOf(0)}/stats/values`)
    const stored = await h.query<{ name: string; current: number; previous: number | null; total: number | null }>(
      `SELECT name, current, previous, total FROM channel_stats_values WHERE channel_id = ${idOf(0)}`,
    )
    assertEquals(stored.length, values.length)
    for (const v of values) {
      const row = stored.find((s) => s.name === v.name)
      assert(row, `value ${v.name} stored`)
      if ("part" in v) assertEquals([Number(row.current), Number(row.total)], [v.part, v.total])
      else assertEquals([Number(row.current), Number(row.previous)], [v.current, v.previous])
    }
  },
)

sandboxTest(
  "stats: STATS_MIGRATE_X is followed once to X (Telegram did not say where the stats live), and X is remembered",
  async () => {
    await using h = await firstAccountOnly()
    // getFullChannel stops naming channel 2's stats DC (5): the first call goes to the home DC and is sent on.
    await admin(h.sandbox, `/channels/${idOf(2)}/stats/dc`, { method: "PUT", body: { advertise: false } })
    const [p] = await h.loadStats([chan(2)])
    assertEquals(p!.status, "ok", p!.error)
    assertEquals(p!.statsDc, 5)
    const calls = statsCalls(h).filter((e) => e.method === "stats.GetBroadcastStats")
    assertEquals(calls.map((e) => `${e.dcId}:${e.outcome}`), ["2:STATS_MIGRATE_5", "5:ok"])
    assertEquals(await storedDaily(h, idOf(2)), await truthDaily(h, idOf(2)))
    const [row] = await h.query<{ stats_dc: number; can_view_stats: boolean }>(
      `SELECT stats_dc, can_view_stats FROM channels WHERE id = ${idOf(2)}`,
    )
    assertEquals([row!.stats_dc, row!.can_view_stats], [5, true])
  },
)

sandboxTest(
  "stats: in a pool, the channel's admin among the accounts loads them, with its own access hash when the cached " +
    "one is refused",
  async () => {
    await using h = await syncHarness(backend, { ...WORLD, env: { MTPROTO_POOL_ENABLED: "true" } })
    // Channel 1: account 0 may not view its statistics, account 1 may. On Telegram each account has its own access
    // hash; the sandbox shares one, so account 1's refusal of the cached hash is injected.
    const second = h.sandbox.descriptor.accounts[1]!.userId
    await admin(h.sandbox, "/faults", {
      body: {
        _tag: "RpcError",
        method: "channels.GetFullChannel",
        userId: second,
        code: 400,
        message: "CHANNEL_INVALID",
        times: 1,
      },
    })
    const [p] = await h.loadStats([chan(1)])
    assertEquals([p!.status, p!.account, p!.statsDc], ["ok", "sandbox 2", 4], p!.error)
    assert(p!.graphs === 12 && p!.graphErrors === 0, `${p!.graphs} graphs, ${p!.graphErrors} errors`)
    const mine = h.sandbox.control.log.since(0).filter((e) => e.userId === second)
    assertEquals(mine.filter((e) => e.method === "contacts.ResolveUsername").length, 1, "resolved once by account 1")
    assert(mine.some((e) => e.method === "stats.GetBroadcastStats" && e.outcome === "ok"), "account 1 loaded them")
    const [peer] = await h.query<{ account: string }>(
      `SELECT account FROM account_peers WHERE channel_id = ${idOf(1)}`,
    )
    assertEquals(peer?.account, "sandbox 2")
    // The stats themselves are those an admin sees (the truth as account 1 sees it).
    const truth: ReadonlyArray<Daily> = await admin(h.sandbox, `/channels/${idOf(1)}/stats/daily?account=1`)
    assertEquals(await storedDaily(h, idOf(1)), sortDaily(truth))
  },
)

sandboxTest(
  "stats: a malformed graph is kept raw, its pivot skipped and counted as an error; the other graphs load",
  async () => {
    await using h = await firstAccountOnly()
    await admin(h.sandbox, `/channels/${idOf(0)}/stats/graphs/followers_graph`, {
      method: "PUT",
      body: { malformed: true },
    })
    const [p] = await h.loadStats([chan(0)])
    assertEquals(p!.status, "ok", p!.error)
    assertEquals(p!.graphErrors, 1)
    const [raw] = await h.query<{ kind: string; data: string; error: string }>(
      `SELECT kind, data, error FROM stats_raw WHERE channel_id = ${idOf(0)} AND key = 'followers_graph'`,
    )
    assertEquals(raw!.kind, "graph")
    assert(raw!.data.length > 0 && raw!.error.startsWith("followers_graph: "), raw!.error)
    const stored = await storedDaily(h, idOf(0))
    assert(!stored.some((d) => d.metric.startsWith("followers.")), "no followers.* pivot")
    // The truth leaves the malformed graph out too: everything else is there, exactly.
    assertEquals(stored, await truthDaily(h, idOf(0)))
    assert(stored.some((d) => d.metric.startsWith("growth.")), "other graphs pivoted")
  },
)

sandboxTest(
  "stats: a second run changes no row; a day later only the new day's points are added, the old ones stay equal",
  async () => {
    await using h = await firstAccountOnly()
    const peers = [chan(0), chan(3)]
    const first = await h.loadStats(peers)
    assert(first.every((p) => p.status === "ok" && p.rowsChanged > 0), "first run stores rows")
    const before = await snapshot(h)
    const second = await h.loadStats(peers)
    assertEquals(second.map((p) => [p.status, p.rowsChanged]), [["ok", 0], ["ok", 0]])
    assertEquals(await snapshot(h), before)

    await admin(h.sandbox, "/clock", { body: { advance: 86_400 } })
    const third = await h.loadStats(peers)
    assert(third.every((p) => p.status === "ok" && p.rowsChanged > 0), "the new day is stored")
    const after = await snapshot(h)
    // Every day stored before is untouched (a day's value never changes); the new day's points were added; what is
    // stored covers the truth of the moved period exactly.
    assertEquals(before.channel_daily!.filter((r) => !after.channel_daily!.includes(r)), [])
    assert(after.channel_daily!.length > before.channel_daily!.length, "new day's points")
    for (const i of [0, 3]) {
      const stored = new Map((await storedDaily(h, idOf(i))).map((d) => [`${d.metric}|${d.day}`, d.value]))
      const truth = await truthDaily(h, idOf(i))
      assertEquals(truth.filter((t) => stored.get(`${t.metric}|${t.day}`) !== t.value), [])
    }
  },
)

sandboxTest(
  "stats: posts younger than the period get their views graphs and the public channels that reposted them",
  async () => {
    await using h = await firstAccountOnly()
    await h.sync([chan(0)])
    const [p] = await h.loadStats([chan(0)], { periodDays: 30 })
    assertEquals(p!.status, "ok", p!.error)
    const posts = await h.query<{ msg_id: number }>(
      `SELECT DISTINCT msg_id FROM post_stats WHERE channel_id = ${idOf(0)} ORDER BY msg_id`,
    )
    assert(posts.length >= 100, `post_stats for ${posts.length} posts`)
    assertEquals(p!.posts, posts.length)
    let compared = 0
    for (const { msg_id } of posts.slice(0, 30)) {
      const truth: ReadonlyArray<{ channelId: number; msgId: number; views: number }> = await admin(
        h.sandbox,
        `/channels/${idOf(0)}/posts/${msg_id}/forwards`,
      )
      const stored = await h.query<{ fwd_channel_id: string; fwd_msg_id: number; views: number }>(
        `SELECT fwd_channel_id::text, fwd_msg_id, views FROM post_public_forwards
         WHERE channel_id = ${idOf(0)} AND msg_id = ${msg_id}`,
      )
      assertEquals(
        stored.map((s) => `${s.fwd_channel_id}/${s.fwd_msg_id}:${s.views}`).sort(),
        truth.map((t) => `${t.channelId}/${t.msgId}:${t.views}`).sort(),
        `forwards of ${msg_id}`,
      )
      compared += truth.length
    }
    assert(compared > 30, `${compared} forwards compared`)
  },
)

sandboxTest(
  "load-stats: exit 0 with a skipped peer, 1 naming the failed peer, 2 for a bad --peers, a no-op when off",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ ...WORLD, posts: 50 })
      const env = {
        ...(yield* databaseEnv(backend)),
        ...UNLIMITED,
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_STATS_ENABLED: "true",
        MTPROTO_STATS_PEERS: `${chan(0)},${chan(1)}`,
        LOG_LEVEL: "warn",
      }
      const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
        Effect.promise(() => runTask("load-stats", args, { ...env, ...extra }))

      const ok = yield* run([])
      assertEquals(ok.code, 0, ok.output)
      assert(ok.stdout.includes(`@${chan(0)}: broadcast stats via`), ok.output)
      assert(ok.stdout.includes(`@${chan(1)}: skipped: no account may view its statistics`), ok.output)
      assertEquals(ok.output.split("\n").filter((l) => l.includes("statistics skipped")).length, 1, ok.output)
      assert(ok.stdout.includes("total: 1 of 2 peers loaded, 1 skipped, 0 failed"), ok.output)

      const failed = yield* run(["--peers", `${chan(0)},no_such_channel`])
      assertEquals(failed.code, 1, failed.output)
      assert(failed.stderr.includes("1 of 2 peers failed: @no_such_channel"), failed.output)
      assert(failed.stdout.includes(`@${chan(0)}: broadcast stats via`), "the other peer loaded")

      const bad = yield* run(["--peers", "not a channel!"])
      assertEquals(bad.code, 2, bad.output)
      assert(bad.stderr.includes('Invalid --peers "not a channel!"'), bad.output)
      assert(!bad.output.includes("    at "), "no stack trace")

      const before = sandbox.control.log.lastSeq
      const off = yield* run([], { MTPROTO_STATS_ENABLED: "false", LOG_LEVEL: "info" })
      assertEquals(off.code, 0, off.output)
      assert(off.output.includes("statistics are disabled (MTPROTO_STATS_ENABLED is not true)"), off.output)
      assertEquals(sandbox.control.log.lastSeq, before, "nothing was asked of Telegram")
    })),
)
