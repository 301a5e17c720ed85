/** The sandbox's official statistics (stats.*): the data, and every field served, through the real GramJS client. */
import { Api } from "telegram"
import { ChannelStats } from "../stats/ChannelStats.ts"
import { BROADCAST_GRAPHS, DAY_MS, HOUR_MS, MEGAGROUP_GRAPHS, metricName } from "../stats/GraphSpecs.ts"
import { StatsSwitches } from "../stats/StatsSwitches.ts"
import { StatsTokens } from "../stats/StatsTokens.ts"
import { World } from "../world/World.ts"
import { assert, assertEquals, assertNotEquals, assertRejects } from "./support/assert.ts"
import { admin, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { historyQuery } from "../world/History.ts"
import {
  abs,
  BROADCAST_KINDS,
  broadcastStats,
  DAY,
  loadGraph,
  MAIN,
  MEGAGROUP_KINDS,
  megagroupStats,
  OTHER,
  readServed,
  withClients,
} from "./support/stats.ts"

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
    const asOf = world.asOf()
    const before = stats.rows("daily", asOf, () => false)
    const later = stats.rows("daily", asOf + 10 * DAY, () => false)
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
    const asOf = sandbox.world.asOf()
    assertEquals([stats.period.minDate, stats.period.maxDate], [asOf - 30 * DAY, asOf])
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
    const lastDay = (Math.floor(asOf / DAY) - 1) * DAY_MS
    for (const [name, g] of Object.entries(served.graphs)) {
      if (name === "top_hours_graph") {
        assertEquals(g.granularity, "hourly")
        assertEquals(g.xs.length, 48)
        assertEquals(g.xs[47], (Math.floor(asOf / 3600) - 1) * HOUR_MS)
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

sandboxTest("stats.getMegagroupStats answers every field; top lists name rendered users", async () => {
  await using sandbox = await startSandbox()
  const ch3 = sandbox.descriptor.channels[3]!
  await withClients(sandbox, [1], async (client) => {
    const stats = await megagroupStats(client, OTHER, ch3)
    assert(stats instanceof Api.stats.MegagroupStats)
    const asOf = sandbox.world.asOf()
    assertEquals([stats.period.minDate, stats.period.maxDate], [asOf - 30 * DAY, asOf])
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
