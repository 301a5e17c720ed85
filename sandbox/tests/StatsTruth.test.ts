/** Statistics truth routes and switches of the admin API, message stats and public forwards, against what is served. */
import { Api } from "telegram"
import { HOUR_MS } from "../stats/GraphSpecs.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { historyQuery } from "../world/History.ts"
import {
  adminRaw,
  broadcastStats,
  type Channel,
  DAY,
  inputChannel,
  loadGraph,
  MAIN,
  megagroupStats,
  OTHER,
  readGraph,
  readServed,
  rpcFails,
  type Served,
  withClients,
} from "./support/stats.ts"

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
  const { expireNext, malformed, unadvertisedStatsDcs } = await admin(sandbox, "/stats")
  assertEquals({ expireNext, malformed, unadvertisedStatsDcs }, {
    expireNext: 0,
    malformed: [],
    unadvertisedStatsDcs: [],
  })
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
        assert(m.date > post.date && m.date <= sandbox.world.asOf())
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
