/** Where and to whom statistics are served: the stats DC, admins, the channel kind, async and zoom tokens. */
import { Api } from "telegram"
import { HOUR_MS } from "../stats/GraphSpecs.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, sandboxTest, startSandbox } from "./support/sandbox.ts"
import {
  broadcastStats,
  type Channel,
  inputChannel,
  loadGraph,
  MAIN,
  megagroupStats,
  OTHER,
  readGraph,
  rpcFails,
  withClients,
} from "./support/stats.ts"

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
    const { expireNext, malformed, unadvertisedStatsDcs } = await admin(sandbox, "/stats")
    assertEquals({ expireNext, malformed, unadvertisedStatsDcs }, {
      expireNext: 0,
      malformed: [],
      unadvertisedStatsDcs: [],
    })
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
  // The sandbox's wall clock, moved on by the test rather than by waiting.
  let ahead = 0
  await using sandbox = await startSandbox({ statsTokenTtlMs: 30_000, clock: () => Date.now() + ahead })
  const ch0 = sandbox.descriptor.channels[0]!
  await withClients(sandbox, [0], async (client) => {
    const stats = await broadcastStats(client, MAIN, ch0)
    const token = (stats.languagesGraph as Api.StatsGraphAsync).token
    assert(await loadGraph(client, MAIN, token) instanceof Api.StatsGraph)
    ahead += 30_001
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
