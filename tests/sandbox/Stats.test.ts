/** The sandbox's official statistics (stats.*), through the real GramJS client and the admin API's truth routes. */
import "../../src/telegram/NoSchemaCache.ts"
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import type { Sandbox } from "../../src/sandbox/Sandbox.ts"
import {
  BROADCAST_GRAPHS,
  ChannelStats,
  DAY_MS,
  HOUR_MS,
  MEGAGROUP_GRAPHS,
  metricName,
} from "../../src/sandbox/Stats.ts"
import { StatsSwitches } from "../../src/sandbox/StatsSwitches.ts"
import { StatsTokens } from "../../src/sandbox/StatsTokens.ts"
import { World } from "../../src/sandbox/World.ts"
import { assert, assertEquals, assertNotEquals, assertRejects } from "../support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "../support/sandbox.ts"
import { historyQuery } from "../support/world.ts"

// Default sandbox: DCs [2, 4] (2 is main); channel i has stats on DC [2, 4][i % 2]; channel 3 is a megagroup;
// account 0 admins channel 0 but not channel 1, account 1 every public channel, account 2 none.
const MAIN = 2
const OTHER = 4
const DAY = 86_400

type Channel = Sandbox["descriptor"]["channels"][number]

const inputChannel = (c: Channel) => new Api.InputChannel({ channelId: bigInt(c.id), accessHash: bigInt(c.accessHash) })

/** Sends through the main sender, or through an exported sender to another DC (as Telegram's clients do). */
const on = <R extends Api.AnyRequest>(client: TelegramClient, dc: number, request: R) =>
  dc === MAIN ? client.invoke(request) : client.invoke(request, dc)

const broadcastStats = (client: TelegramClient, dc: number, c: Channel, dark = false) =>
  on(client, dc, new Api.stats.GetBroadcastStats({ channel: inputChannel(c), dark }))
const megagroupStats = (client: TelegramClient, dc: number, c: Channel) =>
  on(client, dc, new Api.stats.GetMegagroupStats({ channel: inputChannel(c) }))
const loadGraph = (client: TelegramClient, dc: number, token: string, x?: number) =>
  on(client, dc, new Api.stats.LoadAsyncGraph({ token, ...(x === undefined ? {} : { x: bigInt(x) }) }))

async function rpcFails(code: number, message: string, fn: () => Promise<unknown>): Promise<void> {
  await assertRejects(fn, (e: any) => assertEquals([e?.code, e?.errorMessage], [code, message], String(e)))
}

/** Runs `fn` with connected clients of the given accounts, destroyed afterwards. */
async function withClients(
  sandbox: Sandbox,
  accounts: ReadonlyArray<number>,
  fn: (...clients: Array<TelegramClient>) => Promise<void>,
): Promise<void> {
  const clients = accounts.map((account) => gramClient(sandbox, { account }))
  try {
    for (const c of clients) await c.connect()
    await fn(...clients)
  } finally {
    for (const c of clients) await c.destroy()
  }
}

/** An admin call that may fail: its status and JSON. */
async function adminRaw(sandbox: Sandbox, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.descriptor.admin}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  })
  return { status: res.status, json: await res.json() }
}

// --- an independent reader of Telegram's graph JSON ----------------------------------------------------------------

interface Point {
  readonly x: number
  readonly metric: string
  readonly value: number
}

interface ReadGraph {
  readonly granularity: "daily" | "hourly" | "other"
  readonly xs: ReadonlyArray<number>
  readonly types: ReadonlyArray<string>
  readonly data: any
  readonly points: ReadonlyArray<Point>
}

/** Reads a graph the way a collector must: label-first columns, x in ms, names → metrics, spacing → granularity. */
function readGraph(graph: string, text: string): ReadGraph {
  const data = JSON.parse(text)
  const columns: Array<Array<unknown>> = data.columns
  assert(Array.isArray(columns) && columns.length >= 2, `${graph}: columns`)
  for (const column of columns) assert(typeof column[0] === "string", `${graph}: label first`)
  const xColumn = columns.find((c) => data.types[c[0] as string] === "x")!
  assertEquals(xColumn[0], "x", `${graph}: the x column`)
  const xs = xColumn.slice(1) as Array<number>
  const points: Array<Point> = []
  const types: Array<string> = []
  for (const column of columns) {
    if (column === xColumn) continue
    const label = column[0] as string
    types.push(data.types[label])
    assert(["line", "area", "step", "bar"].includes(data.types[label]), `${graph}: type of ${label}`)
    assert(/^[a-z]+#[0-9a-f]{6}$/.test(data.colors[label]), `${graph}: color of ${label}`)
    assertEquals(column.length, xColumn.length, `${graph}: ${label} as long as x`)
    const metric = `${graph.replace(/_graph$/, "")}.${String(data.names[label]).toLowerCase().replace(/\s+/g, "_")}`
    column.slice(1).forEach((v, i) => {
      assert(Number.isSafeInteger(v) && (v as number) >= 0, `${graph}: ${label}[${i}] = ${v}`)
      points.push({ x: xs[i]!, metric, value: v as number })
    })
  }
  const steps = xs.slice(1).map((x, i) => x - xs[i]!)
  const granularity = steps.length > 0 && steps.every((s) => s === DAY_MS) && xs.every((x) => x % DAY_MS === 0)
    ? "daily"
    : steps.length > 0 && steps.every((s) => s === HOUR_MS)
    ? "hourly"
    : "other"
  return { granularity, xs, types, data, points }
}

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

interface Served {
  /** Graph name → how it was served. */
  readonly kinds: Record<string, string>
  /** Graph name → its JSON read (async ones loaded). */
  readonly graphs: Record<string, ReadGraph>
  readonly daily: Array<{ day: string; metric: string; value: number }>
  readonly hourly: Array<{ hour: string; metric: string; value: number }>
}

const byMetricThen = <T extends { metric: string }>(key: (r: T) => string) => (a: T, b: T) =>
  a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0

/** Every graph field of a stats answer, async ones loaded through `load`, read into daily and hourly rows. */
async function readServed(stats: object, load: (token: string) => Promise<Api.TypeStatsGraph>): Promise<Served> {
  const kinds: Served["kinds"] = {}
  const graphs: Served["graphs"] = {}
  const daily: Served["daily"] = []
  const hourly: Served["hourly"] = []
  for (const [field, value] of Object.entries(stats)) {
    if (!field.endsWith("Graph")) continue
    const name = snake(field)
    kinds[name] = (value as any).className
    let graph = value as Api.TypeStatsGraph
    if (graph instanceof Api.StatsGraphAsync) graph = await load(graph.token)
    if (graph instanceof Api.StatsGraphError) continue
    assert(graph instanceof Api.StatsGraph, `${name}: a graph`)
    const read = readGraph(name, (graph.json as Api.DataJSON).data)
    graphs[name] = read
    for (const p of read.points) {
      if (read.granularity === "daily") {
        daily.push({ day: new Date(p.x).toISOString().slice(0, 10), metric: p.metric, value: p.value })
      }
      if (read.granularity === "hourly") {
        hourly.push({ hour: new Date(p.x).toISOString(), metric: p.metric, value: p.value })
      }
    }
  }
  daily.sort(byMetricThen((r) => r.day))
  hourly.sort(byMetricThen((r) => r.hour))
  return { kinds, graphs, daily, hourly }
}

const BROADCAST_KINDS = {
  growth_graph: "StatsGraph",
  followers_graph: "StatsGraph",
  mute_graph: "StatsGraph",
  top_hours_graph: "StatsGraph",
  interactions_graph: "StatsGraph",
  iv_interactions_graph: "StatsGraphError",
  views_by_source_graph: "StatsGraphAsync",
  new_followers_by_source_graph: "StatsGraphAsync",
  languages_graph: "StatsGraphAsync",
  reactions_by_emotion_graph: "StatsGraphAsync",
  story_interactions_graph: "StatsGraphError",
  story_reactions_by_emotion_graph: "StatsGraphError",
}

const MEGAGROUP_KINDS = {
  growth_graph: "StatsGraph",
  members_graph: "StatsGraph",
  new_members_by_source_graph: "StatsGraphAsync",
  languages_graph: "StatsGraphAsync",
  messages_graph: "StatsGraph",
  actions_graph: "StatsGraph",
  top_hours_graph: "StatsGraph",
  weekdays_graph: "StatsGraph",
}

const abs = (v: Api.TypeStatsAbsValueAndPrev) => [v.current, v.previous]

// --- tests ---------------------------------------------------------------------------------------------------------

Deno.test("Stats: metric names follow <graph>.<series> and are unique within every graph", () => {
  assertEquals(metricName("followers_graph", "Joined"), "followers.joined")
  assertEquals(metricName("views_by_source_graph", "URL"), "views_by_source.url")
  assertEquals(metricName("actions_graph", "Deleted  messages"), "actions.deleted_messages")
  for (const spec of [...BROADCAST_GRAPHS, ...MEGAGROUP_GRAPHS]) {
    const metrics = spec.series.map((s) => metricName(spec.name, s))
    assertEquals(new Set(metrics).size, metrics.length, spec.name)
  }
  const types = new Set(
    [...BROADCAST_GRAPHS, ...MEGAGROUP_GRAPHS].filter((g) => g.served !== "error").map((g) => g.type),
  )
  assertEquals([...types].sort(), ["area", "bar", "line", "step"])
})

Deno.test("Stats: daily points depend on the day only, never on the clock", () => {
  const world = World.create({ seed: 11, channels: 4, posts: 200 })
  for (const info of [world.channels[0]!, world.channels[3]!]) {
    const stats = new ChannelStats(world, info)
    const now = world.now()
    const before = stats.rows("daily", now, () => false)
    const later = stats.rows("daily", now + 10 * DAY, () => false)
    const at = new Map(before.map((r) => [`${r.metric}/${r.day}`, r.value]))
    const overlap = later.filter((r) => at.has(`${r.metric}/${r.day}`))
    assert(overlap.length > 0)
    for (const r of overlap) assertEquals(r.value, at.get(`${r.metric}/${r.day}`), `${r.metric} ${r.day}`)
  }
})

Deno.test("StatsTokens: a token names its claims, expires after the TTL, and is refused when garbled", () => {
  let now = 1_000_000
  const switches = new StatsSwitches()
  const tokens = new StatsTokens({
    secret: "s",
    nowMs: () => now,
    ttlMs: 300_000,
    bornExpired: () => switches.takeBornExpired(),
  })
  const claims = {
    kind: "async",
    channelId: 1_000_001,
    graph: "languages_graph",
    userId: 777_000_002,
    dark: true,
  } as const
  const token = tokens.issue(claims)
  assertEquals(tokens.open(token), { claims, expired: false })
  now += 299_999
  assertEquals(tokens.open(token)?.expired, false)
  now += 1
  assertEquals(tokens.open(token)?.expired, true)
  assertEquals(tokens.open(token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA")), undefined)
  assertEquals(tokens.open("nonsense"), undefined)
  assertEquals(new StatsTokens({ secret: "other", nowMs: () => now, bornExpired: () => false }).open(token), undefined)
  switches.expireNext(1)
  assertEquals(tokens.open(tokens.issue({ ...claims, kind: "zoom" }))?.expired, false, "zoom tokens are not counted")
  assertEquals(tokens.open(tokens.issue(claims))?.expired, true, "born expired")
  assertEquals(tokens.open(tokens.issue(claims))?.expired, false, "only the next one")
})

sandboxTest("stats.getBroadcastStats on the stats DC answers every field with Telegram's graph JSON", async () => {
  await using sandbox = await startSandbox()
  const ch0 = sandbox.descriptor.channels[0]!
  assertEquals(sandbox.world.channel(ch0.id)!.statsDc, MAIN)
  await withClients(sandbox, [0], async (client) => {
    const stats = await broadcastStats(client, MAIN, ch0)
    assert(stats instanceof Api.stats.BroadcastStats)
    const now = sandbox.world.now()
    assertEquals([stats.period.minDate, stats.period.maxDate], [now - 30 * DAY, now])
    for (
      const v of [
        stats.followers,
        stats.viewsPerPost,
        stats.sharesPerPost,
        stats.reactionsPerPost,
        stats.viewsPerStory,
        stats.sharesPerStory,
        stats.reactionsPerStory,
      ]
    ) {
      assert(v instanceof Api.StatsAbsValueAndPrev && v.current >= 0 && v.previous >= 0)
    }
    assert(stats.followers.current > 0 && stats.viewsPerPost.current > 0)
    assert(stats.enabledNotifications instanceof Api.StatsPercentValue)
    assert(stats.enabledNotifications.part <= stats.enabledNotifications.total)
    assertEquals(stats.enabledNotifications.total, stats.followers.current)

    const served = await readServed(stats, (token) => loadGraph(client, MAIN, token))
    assertEquals(served.kinds, BROADCAST_KINDS)
    const lastDay = (Math.floor(now / DAY) - 1) * DAY_MS
    for (const [name, g] of Object.entries(served.graphs)) {
      if (name === "top_hours_graph") {
        assertEquals(g.granularity, "hourly")
        assertEquals(g.xs.length, 48)
        assertEquals(g.xs[47], (Math.floor(now / 3600) - 1) * HOUR_MS)
      } else {
        assertEquals(g.granularity, "daily", name)
        assertEquals([g.xs.length, g.xs[29]], [30, lastDay], name)
      }
      assertEquals(g.data.subchart.show, true)
    }
    assertEquals(served.graphs["languages_graph"]!.data.percentage, true)
    assertEquals(new Set(served.graphs["languages_graph"]!.types), new Set(["area"]))
    for (const name of ["views_by_source_graph", "new_followers_by_source_graph", "reactions_by_emotion_graph"]) {
      assertEquals([served.graphs[name]!.data.stacked, [...new Set(served.graphs[name]!.types)]], [true, ["bar"]])
    }
    assertEquals(served.graphs["interactions_graph"]!.data.y_scaled, true)
    assertEquals(served.graphs["mute_graph"]!.types, ["step", "step"])
    assertEquals(
      served.graphs["followers_graph"]!.points.filter((p) => p.x === lastDay).map((p) => p.metric),
      ["followers.joined", "followers.left"],
    )
    assert(stats.followersGraph instanceof Api.StatsGraph && stats.followersGraph.zoomToken)
    assert(stats.growthGraph instanceof Api.StatsGraph && stats.growthGraph.zoomToken == null)
    for (const g of [stats.ivInteractionsGraph, stats.storyInteractionsGraph, stats.storyReactionsByEmotionGraph]) {
      assert(g instanceof Api.StatsGraphError && g.error === "Not enough data to display")
    }
    // The growth graph's total moves by exactly the joined minus the left of each day.
    const total = served.graphs["growth_graph"]!.points.map((p) => p.value)
    const joined = served.graphs["followers_graph"]!.points.filter((p) => p.metric === "followers.joined")
    const left = served.graphs["followers_graph"]!.points.filter((p) => p.metric === "followers.left")
    for (let i = 1; i < 30; i++) assertEquals(total[i]! - total[i - 1]!, joined[i]!.value - left[i]!.value)
    assertEquals(total[29], stats.followers.current)

    // Recent posts are the channel's newest 20 with their counters.
    const newest = sandbox.world.history(ch0.id, historyQuery({ limit: 20 })).posts
    assertEquals(
      stats.recentPostsInteractions.map((p) => {
        assert(p instanceof Api.PostInteractionCountersMessage)
        return [p.msgId, p.views, p.forwards, p.reactions]
      }),
      newest.map((p) => [p.id, p.views, p.forwards, p.reactions.reduce((a, r) => a + r.count, 0)]),
    )

    // The admin API's values are the served ones.
    assertEquals(await admin(sandbox, `/channels/${ch0.id}/stats/values`), [
      { name: "followers", current: stats.followers.current, previous: stats.followers.previous },
      { name: "views_per_post", current: stats.viewsPerPost.current, previous: stats.viewsPerPost.previous },
      { name: "shares_per_post", current: stats.sharesPerPost.current, previous: stats.sharesPerPost.previous },
      {
        name: "reactions_per_post",
        current: stats.reactionsPerPost.current,
        previous: stats.reactionsPerPost.previous,
      },
      { name: "views_per_story", current: 0, previous: 0 },
      { name: "shares_per_story", current: 0, previous: 0 },
      { name: "reactions_per_story", current: 0, previous: 0 },
      {
        name: "enabled_notifications",
        part: stats.enabledNotifications.part,
        total: stats.enabledNotifications.total,
      },
    ])

    // dark: the same data in dark-theme colors.
    const dark = await broadcastStats(client, MAIN, ch0, true)
    const light = JSON.parse((stats.growthGraph as Api.StatsGraph).json.data)
    const night = JSON.parse(((dark.growthGraph as Api.StatsGraph).json as Api.DataJSON).data)
    assertEquals(night.columns, light.columns)
    assertNotEquals(night.colors, light.colors)

    // Every stats method reaches the request log (and the flood budgets) by its GramJS name.
    assertEquals(
      sandbox.control.log.since(0, "stats.GetBroadcastStats").map((e) => [e.dcId, e.params.channel, e.outcome]),
      [[MAIN, ch0.id, "ok"], [MAIN, ch0.id, "ok"]],
    )
    assertEquals(sandbox.control.log.since(0, "stats.LoadAsyncGraph").length, 4)
    sandbox.control.flood.set({ method: "stats.GetBroadcastStats", rate: 0.01, burst: 1 })
    await broadcastStats(client, MAIN, ch0)
    await assertRejects(() => broadcastStats(client, MAIN, ch0), (e: any) => assertEquals(e?.seconds, 100))
  })
})

sandboxTest(
  "stats methods answer STATS_MIGRATE_X off the channel's stats DC; an exported sender gets them",
  async () => {
    await using sandbox = await startSandbox()
    const [ch0, ch1, , ch3] = sandbox.descriptor.channels as [Channel, Channel, Channel, Channel]
    assertEquals([ch1, ch3].map((c) => sandbox.world.channel(c.id)!.statsDc), [OTHER, OTHER])
    await withClients(sandbox, [1], async (client) => {
      await rpcFails(303, "STATS_MIGRATE_4", () => broadcastStats(client, MAIN, ch1))
      await rpcFails(303, "STATS_MIGRATE_4", () => megagroupStats(client, MAIN, ch3))
      await rpcFails(303, "STATS_MIGRATE_2", () => broadcastStats(client, OTHER, ch0))
      await rpcFails(
        303,
        "STATS_MIGRATE_4",
        () => client.invoke(new Api.stats.GetMessageStats({ channel: inputChannel(ch1), msgId: 1 })),
      )
      await rpcFails(
        303,
        "STATS_MIGRATE_4",
        () =>
          client.invoke(
            new Api.stats.GetMessagePublicForwards({ channel: inputChannel(ch1), msgId: 1, offset: "", limit: 10 }),
          ),
      )
      const stats = await broadcastStats(client, OTHER, ch1)
      assert(stats instanceof Api.stats.BroadcastStats)
      assertEquals(client.session.dcId, MAIN, "the main connection stays")
      const group = await megagroupStats(client, OTHER, ch3)
      assert(group instanceof Api.stats.MegagroupStats)
      assertEquals(
        sandbox.control.log.since(0, "stats.GetBroadcastStats").map((e) => [e.dcId, e.outcome]),
        [[MAIN, "STATS_MIGRATE_4"], [OTHER, "STATS_MIGRATE_2"], [OTHER, "ok"]],
      )
    })
  },
)

sandboxTest("stats.loadAsyncGraph: only on the stats DC, only for its account, and never once expired", async () => {
  await using sandbox = await startSandbox()
  const ch1 = sandbox.descriptor.channels[1]!
  await withClients(sandbox, [1, 0], async (client, other) => {
    const stats = await broadcastStats(client, OTHER, ch1)
    const token = (stats.viewsBySourceGraph as Api.StatsGraphAsync).token
    const loaded = await loadGraph(client, OTHER, token)
    assert(loaded instanceof Api.StatsGraph)
    const read = readGraph("views_by_source_graph", (loaded.json as Api.DataJSON).data)
    assertEquals(read.granularity, "daily")
    assert(read.points.some((p) => p.metric === "views_by_source.url"))
    assertEquals((await loadGraph(client, OTHER, token) as Api.StatsGraph).json, loaded.json, "a token loads again")

    await rpcFails(303, "STATS_MIGRATE_4", () => loadGraph(client, MAIN, token))
    await rpcFails(400, "GRAPH_INVALID_RELOAD", () => loadGraph(other, OTHER, token))
    const garbled = token.slice(0, 5) + (token[5] === "A" ? "B" : "A") + token.slice(6)
    await rpcFails(400, "GRAPH_INVALID_RELOAD", () => loadGraph(client, OTHER, garbled))
    await rpcFails(400, "GRAPH_INVALID_RELOAD", () => loadGraph(client, OTHER, "no-such-token"))

    // The next async token is born expired: the first load fails, a fresh getBroadcastStats gives a working one.
    assertEquals(await admin(sandbox, "/stats/expire-next", { body: { count: 1 } }), { expireNext: 1 })
    const again = await broadcastStats(client, OTHER, ch1)
    assertEquals(await admin(sandbox, "/stats"), { expireNext: 0, malformed: [], unadvertisedStatsDcs: [] })
    await rpcFails(
      400,
      "GRAPH_EXPIRED_RELOAD",
      () => loadGraph(client, OTHER, (again.viewsBySourceGraph as Api.StatsGraphAsync).token),
    )
    assert(
      await loadGraph(client, OTHER, (again.languagesGraph as Api.StatsGraphAsync).token) instanceof Api.StatsGraph,
      "only the next one",
    )
    const fresh = await broadcastStats(client, OTHER, ch1)
    const reloaded = await loadGraph(client, OTHER, (fresh.viewsBySourceGraph as Api.StatsGraphAsync).token)
    assertEquals((reloaded as Api.StatsGraph).json, loaded.json)
  })
})

sandboxTest("stats: getFullChannel may leave stats_dc out; the stats DC still answers STATS_MIGRATE_X", async () => {
  await using sandbox = await startSandbox()
  const ch1 = sandbox.descriptor.channels[1]!
  await withClients(sandbox, [1], async (client) => {
    const full = async () =>
      (await client.invoke(new Api.channels.GetFullChannel({ channel: inputChannel(ch1) }))).fullChat as Api.ChannelFull
    assertEquals((await full()).statsDc, OTHER)
    const put = (advertise: boolean) =>
      admin(sandbox, `/channels/${ch1.id}/stats/dc`, { method: "PUT", body: { advertise } })
    assertEquals(await put(false), { channelId: ch1.id, statsDc: OTHER, advertise: false })
    assertEquals((await admin(sandbox, "/stats")).unadvertisedStatsDcs, [ch1.id])
    const hidden = await full()
    assertEquals([hidden.statsDc ?? undefined, hidden.canViewStats], [undefined, true])
    await rpcFails(303, "STATS_MIGRATE_4", () => broadcastStats(client, MAIN, ch1))
    await put(true)
    assertEquals((await full()).statsDc, OTHER)
  })
})

sandboxTest("stats.loadAsyncGraph: tokens expire after the configured TTL of wall-clock time", async () => {
  await using sandbox = await startSandbox({ statsTokenTtlMs: 400 })
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const stats = await broadcastStats(client, MAIN, ch0)
    const token = (stats.languagesGraph as Api.StatsGraphAsync).token
    assert(await loadGraph(client, MAIN, token) instanceof Api.StatsGraph)
    await new Promise((resolve) => setTimeout(resolve, 500))
    await rpcFails(400, "GRAPH_EXPIRED_RELOAD", () => loadGraph(client, MAIN, token))
  })
})

sandboxTest("stats: a zoom token loads a day's 24 hours, summing to that day", async () => {
  await using sandbox = await startSandbox()
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const stats = await broadcastStats(client, MAIN, ch0)
    const followers = stats.followersGraph as Api.StatsGraph
    const daily = readGraph("followers_graph", (followers.json as Api.DataJSON).data)
    const day = daily.xs[20]!
    const zoomed = await loadGraph(client, MAIN, followers.zoomToken!, day)
    assert(zoomed instanceof Api.StatsGraph)
    const hours = readGraph("followers_graph", (zoomed.json as Api.DataJSON).data)
    assertEquals(hours.granularity, "hourly")
    assertEquals(hours.xs, Array.from({ length: 24 }, (_, k) => day + k * HOUR_MS))
    for (const metric of ["followers.joined", "followers.left"]) {
      const sum = hours.points.filter((p) => p.metric === metric).reduce((a, p) => a + p.value, 0)
      assertEquals(sum, daily.points.find((p) => p.metric === metric && p.x === day)!.value, metric)
    }
    await rpcFails(400, "GRAPH_INVALID_RELOAD", () => loadGraph(client, MAIN, followers.zoomToken!))
    const notADay = await loadGraph(client, MAIN, followers.zoomToken!, day + 5)
    assert(notADay instanceof Api.StatsGraphError)
  })
})

sandboxTest(
  "stats access: CHAT_ADMIN_REQUIRED, BROADCAST_REQUIRED, MEGAGROUP_REQUIRED, in Telegram's order",
  async () => {
    await using sandbox = await startSandbox()
    const [ch0, ch1, , ch3, secret] = sandbox.descriptor.channels as [Channel, Channel, Channel, Channel, Channel]
    await withClients(sandbox, [0, 1, 2], async (a0, a1, a2) => {
      await rpcFails(400, "CHAT_ADMIN_REQUIRED", () => broadcastStats(a2, MAIN, ch0))
      await rpcFails(303, "STATS_MIGRATE_4", () => broadcastStats(a2, MAIN, ch1))
      await rpcFails(400, "CHAT_ADMIN_REQUIRED", () => broadcastStats(a2, OTHER, ch1))
      await rpcFails(400, "CHAT_ADMIN_REQUIRED", () => megagroupStats(a2, OTHER, ch3))
      await rpcFails(
        400,
        "CHAT_ADMIN_REQUIRED",
        () => a2.invoke(new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: 1 })),
      )
      await rpcFails(400, "BROADCAST_REQUIRED", () => broadcastStats(a1, OTHER, ch3))
      await rpcFails(400, "MEGAGROUP_REQUIRED", () => megagroupStats(a1, OTHER, ch1))
      await rpcFails(400, "MEGAGROUP_REQUIRED", () => megagroupStats(a0, MAIN, ch0))
      await rpcFails(406, "CHANNEL_PRIVATE", () => broadcastStats(a0, MAIN, secret))
      const forged = { ...ch0, accessHash: "1" }
      await rpcFails(400, "CHANNEL_INVALID", () => broadcastStats(a0, MAIN, forged))
    })
  },
)

sandboxTest("stats.getMegagroupStats answers every field; top lists name rendered users", async () => {
  await using sandbox = await startSandbox()
  const ch3 = sandbox.descriptor.channels[3]!
  await withClients(sandbox, [1], async (client) => {
    const stats = await megagroupStats(client, OTHER, ch3)
    assert(stats instanceof Api.stats.MegagroupStats)
    const now = sandbox.world.now()
    assertEquals([stats.period.minDate, stats.period.maxDate], [now - 30 * DAY, now])
    for (const v of [stats.members, stats.messages, stats.viewers, stats.posters]) assert(v.current > 0, abs(v).join())
    const served = await readServed(stats, (token) => loadGraph(client, OTHER, token))
    assertEquals(served.kinds, MEGAGROUP_KINDS)
    assertEquals(served.graphs["top_hours_graph"]!.granularity, "hourly")
    const weekdays = served.graphs["weekdays_graph"]!
    assertEquals([weekdays.granularity, weekdays.xs], ["other", [0, 1, 2, 3, 4, 5, 6]])
    assertEquals(served.graphs["messages_graph"]!.types, ["step"])
    const sum = served.graphs["messages_graph"]!.points.reduce((a, p) => a + p.value, 0)
    assertEquals(stats.messages.current, sum, "messages: the period's total")
    assertEquals(stats.members.current, served.graphs["growth_graph"]!.points.at(-1)!.value)

    const accountIds = sandbox.descriptor.accounts.map((a) => a.userId)
    const posterIds = stats.topPosters.map((p) => Number(p.userId.toString()))
    assert(accountIds.every((id) => posterIds.includes(id)) && posterIds.length === accountIds.length + 2)
    const messages = stats.topPosters.map((p) => p.messages)
    assertEquals(messages, [...messages].sort((a, b) => b - a), "most messages first")
    assertEquals(
      stats.topAdmins.map((a) => Number(a.userId.toString())),
      [...sandbox.world.channel(ch3.id)!.adminUserIds],
    )
    assert(stats.topInviters.length > 0 && stats.topInviters.every((i) => i.invitations > 0))
    const referenced = new Set(
      [...stats.topPosters, ...stats.topAdmins, ...stats.topInviters].map((t) => t.userId.toString()),
    )
    const users = new Map(stats.users.map((u) => [(u as Api.User).id.toString(), u as Api.User]))
    assertEquals(new Set(users.keys()), referenced)
    const me = users.get(String(sandbox.descriptor.accounts[1]!.userId))!
    assertEquals([me.self, me.username], [true, "sandbox_user_1"])

    assertEquals(await admin(sandbox, `/channels/${ch3.id}/stats/values?account=1`), [
      { name: "members", current: stats.members.current, previous: stats.members.previous },
      { name: "messages", current: stats.messages.current, previous: stats.messages.previous },
      { name: "viewers", current: stats.viewers.current, previous: stats.viewers.previous },
      { name: "posters", current: stats.posters.current, previous: stats.posters.previous },
    ])
  })
})

sandboxTest(
  "stats truth routes equal every served daily and hourly series, [] for channels not administered",
  async () => {
    await using sandbox = await startSandbox()
    const [ch0, ch1, , ch3, secret] = sandbox.descriptor.channels as [Channel, Channel, Channel, Channel, Channel]
    await withClients(sandbox, [0, 1], async (a0, a1) => {
      const broadcast = await readServed(await broadcastStats(a0, MAIN, ch0), (t) => loadGraph(a0, MAIN, t))
      const daily = await admin(sandbox, `/channels/${ch0.id}/stats/daily`)
      assertEquals(daily, broadcast.daily)
      assertEquals(new Set(daily.map((r: any) => r.metric)).size, 2 + 2 + 2 + 1 + 7 + 6 + 6 + 7)
      assert(daily.some((r: any) => r.metric === "views_by_source.url"), "async graphs count")
      assertEquals(await admin(sandbox, `/channels/${ch0.id}/stats/hourly`), broadcast.hourly)
      assertEquals(broadcast.hourly.length, 48)

      const group = await readServed(await megagroupStats(a1, OTHER, ch3), (t) => loadGraph(a1, OTHER, t))
      assertEquals(await admin(sandbox, `/channels/${ch3.id}/stats/daily?account=1`), group.daily)
      assertEquals(await admin(sandbox, `/channels/${ch3.id}/stats/hourly?account=1`), group.hourly)
      assert(group.daily.some((r) => r.metric === "actions.deleted_messages"))

      // Channels the first account does not administer (channel 1 and the private one among them) have no truth.
      const first = sandbox.descriptor.accounts[0]!.userId
      const others = sandbox.world.channels.filter((c) => !c.adminUserIds.includes(first))
      assert([ch1.id, secret.id].every((id) => others.some((c) => c.id === id)))
      for (const c of others) {
        for (const route of ["daily", "hourly", "values"]) {
          assertEquals(await admin(sandbox, `/channels/${c.id}/stats/${route}`), [], `${c.username} ${route}`)
        }
      }
      for (const route of ["daily", "hourly", "values"]) {
        assertEquals(await admin(sandbox, `/channels/${ch1.id}/stats/${route}?account=2`), [], `account 2 ${route}`)
        assert((await admin(sandbox, `/channels/${ch1.id}/stats/${route}?account=1`)).length > 0, `account 1 ${route}`)
      }
    })
  },
)

sandboxTest(
  "stats: after the clock moves a day, overlapping days keep their values and one new day appears",
  async () => {
    await using sandbox = await startSandbox()
    const ch0 = sandbox.descriptor.channels[0]!
    await withClients(sandbox, [0], async (client) => {
      const read = async () => (await readServed(await broadcastStats(client, MAIN, ch0), (t) =>
        loadGraph(client, MAIN, t)))
      const before = await read()
      await admin(sandbox, "/clock", { body: { advance: DAY } })
      const after = await read()
      assertEquals(after.daily, await admin(sandbox, `/channels/${ch0.id}/stats/daily`))
      const days = (rows: Served["daily"]) => [...new Set(rows.map((r) => r.day))].sort()
      const [old, now] = [days(before.daily), days(after.daily)]
      assertEquals(now.slice(0, -1), old.slice(1), "the window moved by one day")
      const key = (r: { metric: string; day: string }) => `${r.metric} ${r.day}`
      const was = new Map(before.daily.map((r) => [key(r), r.value]))
      const overlap = after.daily.filter((r) => was.has(key(r)))
      assertEquals(overlap.length, before.daily.length - before.daily.filter((r) => r.day === old[0]).length)
      for (const r of overlap) assertEquals(r.value, was.get(key(r)), key(r))
      const hourWas = new Map(before.hourly.map((r) => [`${r.metric} ${r.hour}`, r.value]))
      const hourOverlap = after.hourly.filter((r) => hourWas.has(`${r.metric} ${r.hour}`))
      assertEquals(hourOverlap.length, 24)
      for (const r of hourOverlap) assertEquals(r.value, hourWas.get(`${r.metric} ${r.hour}`))
    })
  },
)

sandboxTest("stats: a graph set malformed is served unparseable and leaves the truth until set back", async () => {
  await using sandbox = await startSandbox()
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const put = (graph: string, malformed: boolean) =>
      admin(sandbox, `/channels/${ch0.id}/stats/graphs/${graph}`, { method: "PUT", body: { malformed } })
    assertEquals(await put("followers_graph", true), {
      channelId: ch0.id,
      graph: "followers_graph",
      malformed: true,
      malformedGraphs: ["followers_graph"],
    })
    assertEquals((await put("languages", true)).malformedGraphs, ["followers_graph", "languages_graph"])
    const stats = await broadcastStats(client, MAIN, ch0)
    const text = ((stats.followersGraph as Api.StatsGraph).json as Api.DataJSON).data
    let parsed = true
    try {
      JSON.parse(text)
    } catch {
      parsed = false
    }
    assert(!parsed && text.startsWith('{"columns":[["x",'), text)
    const languages = await loadGraph(client, MAIN, (stats.languagesGraph as Api.StatsGraphAsync).token)
    assertEquals(((languages as Api.StatsGraph).json as Api.DataJSON).data.endsWith("}"), false)
    const metrics = new Set((await admin(sandbox, `/channels/${ch0.id}/stats/daily`)).map((r: any) => r.metric))
    assert(!metrics.has("followers.joined") && !metrics.has("languages.english") && metrics.has("mute.muted"))
    assertEquals((await admin(sandbox, "/stats")).malformed, [
      { channelId: ch0.id, graph: "followers_graph" },
      { channelId: ch0.id, graph: "languages_graph" },
    ])

    await put("followers_graph", false)
    await put("languages_graph", false)
    const healed = await readServed(await broadcastStats(client, MAIN, ch0), (t) => loadGraph(client, MAIN, t))
    assertEquals(await admin(sandbox, `/channels/${ch0.id}/stats/daily`), healed.daily)
    assert(healed.daily.some((r) => r.metric === "followers.joined"))
  })
})

sandboxTest("stats admin routes answer bad input with 400 and a message, unknown channels with 404", async () => {
  await using sandbox = await startSandbox()
  const [ch0, , , ch3] = sandbox.descriptor.channels as [Channel, Channel, Channel, Channel]
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ["PUT", `/channels/${ch0.id}/stats/graphs/nope`, { malformed: true }, 400, /Unknown graph "nope"/],
    ["PUT", `/channels/${ch0.id}/stats/graphs/iv_interactions_graph`, { malformed: true }, 400, /Unknown graph/],
    ["PUT", `/channels/${ch3.id}/stats/graphs/followers_graph`, { malformed: true }, 400, /megagroup/],
    ["PUT", `/channels/${ch0.id}/stats/graphs/followers_graph`, { malformed: "yes" }, 400, /"malformed" must be/],
    ["PUT", `/channels/${ch0.id}/stats/graphs/followers_graph`, { malformed: true, x: 1 }, 400, /Unknown field "x"/],
    ["PUT", `/channels/${ch0.id}/stats/graphs/followers_graph`, undefined, 400, /JSON object/],
    ["PUT", "/channels/nobody/stats/graphs/followers_graph", { malformed: true }, 404, /Unknown channel/],
    ["PUT", `/channels/${ch0.id}/stats/dc`, { advertise: 1 }, 400, /"advertise" must be true or false/],
    ["POST", "/stats/expire-next", { count: -1 }, 400, /"count" must be a non-negative integer/],
    ["POST", "/stats/expire-next", {}, 400, /"count"/],
    ["GET", `/channels/${ch0.id}/stats/daily?account=9`, undefined, 400, /"account" must be below 3/],
    ["GET", `/channels/${ch0.id}/stats/values?account=x`, undefined, 400, /"account"/],
    ["GET", "/channels/nobody/stats/daily", undefined, 404, /Unknown channel/],
    ["GET", `/channels/${ch0.id}/posts/999999/forwards`, undefined, 404, /Unknown post/],
  ]
  for (const [method, path, body, status, message] of cases) {
    const res = await adminRaw(sandbox, method, path, body)
    assertEquals(res.status, status, `${method} ${path}`)
    assert(message.test(res.json.error), `${method} ${path}: ${res.json.error}`)
  }
  assertEquals(await admin(sandbox, "/stats"), { expireNext: 0, malformed: [], unadvertisedStatsDcs: [] })
  const routes: Array<string> = (await admin(sandbox, "/")).routes
  assert(
    routes.includes("GET /channels/:id/stats/daily?account=") && routes.includes("POST /stats/expire-next {count}"),
  )
})

sandboxTest("stats.getMessageStats: an hourly views graph for an existing post, MSG_ID_INVALID otherwise", async () => {
  await using sandbox = await startSandbox()
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const posts = sandbox.world.history(ch0.id, historyQuery({ limit: 100 })).posts
    const withReactions = posts.find((p) => p.reactions.length > 0)!
    const without = posts.find((p) => p.reactions.length === 0)!
    const stats = await client.invoke(
      new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: withReactions.id }),
    )
    assert(stats instanceof Api.stats.MessageStats && stats.viewsGraph instanceof Api.StatsGraph)
    const views = readGraph("views_graph", (stats.viewsGraph.json as Api.DataJSON).data)
    assertEquals(views.xs[0], Math.floor(withReactions.date / 3600) * HOUR_MS)
    assert(views.xs.length >= 2 && views.xs.length <= 48)
    assertEquals(views.granularity, "hourly")
    assertEquals(new Set(views.points.map((p) => p.metric)), new Set(["views.views", "views.shares"]))
    assert(stats.reactionsByEmotionGraph instanceof Api.StatsGraph)
    const reactions = readGraph(
      "reactions_by_emotion_graph",
      (stats.reactionsByEmotionGraph.json as Api.DataJSON).data,
    )
    for (const r of withReactions.reactions) {
      const metric = `reactions_by_emotion.${r.emoji}`
      assertEquals(reactions.points.filter((p) => p.metric === metric).reduce((a, p) => a + p.value, 0), r.count)
    }
    const again = await client.invoke(
      new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: withReactions.id }),
    )
    assertEquals(again.viewsGraph, stats.viewsGraph, "deterministic")
    const plain = await client.invoke(new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: without.id }))
    assert(plain.reactionsByEmotionGraph instanceof Api.StatsGraphError)
    // A post in its first hour has no graph yet.
    const [fresh] = (await admin(sandbox, `/channels/${ch0.id}/posts`, { body: { count: 1 } })).ids
    const early = await client.invoke(new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: fresh }))
    assert(early.viewsGraph instanceof Api.StatsGraphError && early.viewsGraph.error === "Not enough data to display")
    await rpcFails(
      400,
      "MSG_ID_INVALID",
      () => client.invoke(new Api.stats.GetMessageStats({ channel: inputChannel(ch0), msgId: 999_999 })),
    )
  })
})

sandboxTest("stats.getMessagePublicForwards pages through exactly the forwards truth", async () => {
  await using sandbox = await startSandbox()
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const posts = sandbox.world.history(ch0.id, historyQuery({ limit: 100, addOffset: 100 })).posts
    let post = posts[0]!
    let truth: Array<{ channelId: number; msgId: number; date: number; views: number }> = []
    let none: number | undefined
    for (const p of posts) {
      const list = await admin(sandbox, `/channels/${ch0.id}/posts/${p.id}/forwards`)
      if (list.length === 0) none ??= p.id
      if (list.length > truth.length) [post, truth] = [p, list]
    }
    assert(truth.length >= 5, `a post with several forwards (${truth.length})`)
    assert(none !== undefined)
    const request = (msgId: number, offset: string, limit: number) =>
      client.invoke(new Api.stats.GetMessagePublicForwards({ channel: inputChannel(ch0), msgId, offset, limit }))

    const got: typeof truth = []
    let offset = ""
    for (let pages = 0;; pages++) {
      assert(pages < 100)
      const page = await request(post.id, offset, 2)
      assertEquals(page.count, truth.length)
      assert(page.forwards.length <= 2)
      const chats = new Set(page.chats.map((c) => (c as Api.Channel).id.toString()))
      for (const f of page.forwards) {
        assert(f instanceof Api.PublicForwardMessage && f.message instanceof Api.Message)
        const m = f.message
        const channelId = Number((m.peerId as Api.PeerChannel).channelId.toString())
        assert(chats.has(String(channelId)) && channelId !== ch0.id)
        const from = m.fwdFrom!
        assertEquals([Number((from.fromId as Api.PeerChannel).channelId.toString()), from.channelPost], [
          ch0.id,
          post.id,
        ])
        assert(m.date > post.date && m.date <= sandbox.world.now())
        got.push({ channelId, msgId: m.id, date: m.date, views: m.views! })
      }
      if (page.nextOffset == null) break
      offset = page.nextOffset
    }
    assertEquals(got, truth)
    assertEquals(new Set(got.map((f) => `${f.channelId}/${f.msgId}`)).size, got.length, "distinct messages")

    const all = await request(post.id, "", 100)
    assertEquals([all.forwards.length, all.nextOffset ?? undefined], [truth.length, undefined])
    const empty = await request(none!, "", 10)
    assertEquals([empty.count, empty.forwards.length, empty.nextOffset ?? undefined], [0, 0, undefined])
    await rpcFails(400, "OFFSET_INVALID", () => request(post.id, "garbage", 10))
    await rpcFails(400, "MSG_ID_INVALID", () => request(999_999, "", 10))
  })
})
