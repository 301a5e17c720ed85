/** The statistics load plan: what a peer's and a post's statistics become, and which posts get their own. */
import type { ChannelStats, RawGraph } from "../../src/domain/Stats.ts"
import {
  channelWrite,
  graphCounts,
  pivotLoaded,
  postsSince,
  postsToLoad,
  postWrite,
} from "../../src/domain/StatsPlan.ts"
import { assertEquals } from "../support/assert.ts"

const DAY = 86_400_000
const graph = (columns: ReadonlyArray<ReadonlyArray<string | number>>): RawGraph => ({
  _tag: "Graph",
  json: JSON.stringify({
    columns,
    types: { x: "x", y0: "line", y1: "line" },
    names: { y0: "Joined", y1: "Left" },
  }),
  zoomToken: undefined,
})
const daily = graph([["x", 20 * DAY, 21 * DAY], ["y0", 5, 7], ["y1", 1, 0]])
const hourly = graph([["x", 3_600_000, 7_200_000], ["y0", 1, 2], ["y1", 3, 4]])

const stats = (over: Partial<ChannelStats> = {}): ChannelStats => ({
  kind: "broadcast",
  period: { minDate: 19 * 86_400, maxDate: 22 * 86_400 },
  values: [{ name: "followers", current: 10, previous: 8, total: null }],
  graphs: [],
  extra: { top_posters: [] },
  recentPosts: [{ msgId: 7, views: 1, forwards: 0 }, { msgId: 9, views: 2, forwards: 1 }],
  ...over,
})

Deno.test("StatsPlan.channelWrite: every graph raw plus the summary; daily and hourly pivots; the period's days", () => {
  const pivots = [
    pivotLoaded("followers_graph", "followers_graph", daily, daily),
    pivotLoaded("top_hours_graph", "top_hours_graph", hourly, hourly),
    pivotLoaded("mute_graph", "mute_graph", { _tag: "Error", error: "Not enough data" }, {
      _tag: "Error",
      error: "Not enough data",
    }),
    // An async graph whose load failed: kept as an error with the load's reason as its problem.
    pivotLoaded("views_graph", "views_graph", { _tag: "Async", token: "t" }, { _tag: "Error", error: "load failed" }),
  ]
  const write = channelWrite(5, "broadcast", stats(), pivots)
  assertEquals(write.raw.map((r) => [r.key, r.kind]), [
    ["followers_graph", "graph"],
    ["top_hours_graph", "graph"],
    ["mute_graph", "error"],
    ["views_graph", "error"],
    ["summary", "summary"],
  ])
  assertEquals(JSON.parse(write.raw[4]!.data!), {
    kind: "broadcast",
    period: { minDate: 19 * 86_400, maxDate: 22 * 86_400 },
    top_posters: [],
  })
  assertEquals(write.daily, [
    { day: "1970-01-21", metric: "followers.joined", value: 5 },
    { day: "1970-01-22", metric: "followers.joined", value: 7 },
    { day: "1970-01-21", metric: "followers.left", value: 1 },
    { day: "1970-01-22", metric: "followers.left", value: 0 },
  ])
  assertEquals(write.hourly.length, 4)
  assertEquals(write.period, { start: "1970-01-20", end: "1970-01-23" })
  assertEquals(graphCounts(pivots), { graphs: 4, unavailable: 1, graphErrors: 1 })
})

Deno.test("StatsPlan.postWrite: graphs keyed by post, series with their granularity, the forwards", () => {
  const pivots = [pivotLoaded("post:9:views_graph", "views_graph", daily, daily)]
  const forward = { channelId: 1, channelUsername: null, channelTitle: null, msgId: 2, date: 3, views: null }
  const write = postWrite(5, 9, pivots, [forward])
  assertEquals(write.raw.map((r) => r.key), ["post:9:views_graph"])
  assertEquals(write.series.map((p) => p.granularity), ["daily", "daily", "daily", "daily"])
  assertEquals(write.forwards, [forward])
})

Deno.test("StatsPlan: the posts of the period, newest first, limited; the period ends where Telegram says", () => {
  assertEquals(postsToLoad(stats(), [8, 9, 3], 0), [9, 8, 7, 3])
  assertEquals(postsToLoad(stats(), [8, 9, 3], 2), [9, 8])
  assertEquals(postsSince(stats(), 1, 1_000_000_000), 21 * 86_400)
  assertEquals(postsSince(stats({ period: { minDate: 0, maxDate: 0 } }), 1, 1_000_000), 1_000_000 - 86_400)
})
