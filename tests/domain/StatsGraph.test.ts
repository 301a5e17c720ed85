/** The statistics graph parser over a table of the shapes Telegram sends. */
import { dayOf, MalformedGraph, metricName, parseGraph } from "../../src/domain/StatsGraph.ts"
import { assert, assertEquals } from "../support/assert.ts"

const DAY = 86_400_000
const HOUR = 3_600_000
const D0 = Date.UTC(2026, 10, 1)

const graph = (extra: Record<string, unknown>) => JSON.stringify(extra)
const days = (n: number) => Array.from({ length: n }, (_, i) => D0 + i * DAY)

interface Row {
  readonly name: string
  readonly graph: string
  readonly json: string
  readonly granularity: string
  readonly metrics: ReadonlyArray<string>
  readonly types?: ReadonlyArray<string>
  readonly percentage?: boolean
  readonly stacked?: boolean
  readonly firstValues?: ReadonlyArray<number>
}

const TABLE: ReadonlyArray<Row> = [
  {
    name: "line, daily (followers)",
    graph: "followers_graph",
    json: graph({
      columns: [["x", ...days(3)], ["y0", 5, 6, 7], ["y1", 1, 0, 2]],
      types: { x: "x", y0: "line", y1: "line" },
      names: { y0: "Joined", y1: "Left" },
      colors: { y0: "green#3CC23F", y1: "red#F34C44" },
    }),
    granularity: "daily",
    metrics: ["followers.joined", "followers.left"],
    types: ["line", "line"],
    firstValues: [5, 1],
  },
  {
    name: "area, percentage (languages)",
    graph: "languages_graph",
    json: graph({
      columns: [["x", ...days(2)], ["y0", 70, 71], ["y1", 30, 29]],
      types: { x: "x", y0: "area", y1: "area" },
      names: { y0: "English", y1: "Brazilian Portuguese" },
      percentage: true,
    }),
    granularity: "daily",
    metrics: ["languages.english", "languages.brazilian_portuguese"],
    types: ["area", "area"],
    percentage: true,
  },
  {
    name: "step (mute)",
    graph: "mute_graph",
    json: graph({ columns: [["x", ...days(2)], ["y0", 3, 4]], types: { x: "x", y0: "step" }, names: { y0: "Muted" } }),
    granularity: "daily",
    metrics: ["mute.muted"],
    types: ["step"],
  },
  {
    name: "bar, stacked (views by source)",
    graph: "views_by_source_graph",
    json: graph({
      columns: [["x", ...days(2)], ["y0", 10, 11], ["y1", 4, 5], ["y2", 1, 1]],
      types: { x: "x", y0: "bar", y1: "bar", y2: "bar" },
      names: { y0: "Followers", y1: "Other", y2: "URL" },
      stacked: true,
    }),
    granularity: "daily",
    metrics: ["views_by_source.followers", "views_by_source.other", "views_by_source.url"],
    types: ["bar", "bar", "bar"],
    stacked: true,
  },
  {
    name: "hourly (a zoomed day)",
    graph: "interactions_graph",
    json: graph({
      columns: [["x", ...Array.from({ length: 24 }, (_, i) => D0 + i * HOUR)], ["y0", ...Array(24).fill(2)]],
      types: { x: "x", y0: "line" },
      names: { y0: "Views" },
    }),
    granularity: "hourly",
    metrics: ["interactions.views"],
  },
  {
    name: "empty (no columns)",
    graph: "iv_interactions_graph",
    json: graph({ columns: [], types: {}, names: {} }),
    granularity: "other",
    metrics: [],
  },
  {
    name: "empty (x without points)",
    graph: "story_interactions_graph",
    json: graph({ columns: [["x"], ["y0"]], types: { x: "x", y0: "line" }, names: { y0: "Views" } }),
    granularity: "other",
    metrics: ["story_interactions.views"],
  },
  {
    name: "a name missing: the label stands in",
    graph: "growth_graph",
    json: graph({ columns: [["x", D0], ["y0", 1000]], types: { x: "x", y0: "line" } }),
    granularity: "daily",
    metrics: ["growth.y0"],
  },
]

for (const row of TABLE) {
  Deno.test(`StatsGraph: ${row.name}`, () => {
    const parsed = parseGraph(row.graph, row.json)
    assertEquals(parsed.granularity, row.granularity)
    assertEquals(parsed.series.map((s) => s.metric), row.metrics)
    if (row.types) assertEquals(parsed.series.map((s) => s.type), row.types)
    assertEquals(parsed.percentage, row.percentage ?? false)
    assertEquals(parsed.stacked, row.stacked ?? false)
    if (row.firstValues) assertEquals(parsed.series.map((s) => s.points[0]!.value), row.firstValues)
    const xs = JSON.parse(row.json).columns.find((c: unknown[]) => c[0] === "x")?.slice(1) ?? []
    for (const s of parsed.series) assertEquals(s.points.map((p) => p.x), xs)
  })
}

const MALFORMED: ReadonlyArray<readonly [string, string, RegExp]> = [
  ["not JSON", "{columns:", /not JSON/],
  ["not an object", "[1,2]", /not a JSON object/],
  ["no columns", graph({ types: {} }), /no "columns" array/],
  ["no x column", graph({ columns: [["y0", 1]], types: { y0: "line" } }), /no x column/],
  [
    "a short column",
    graph({ columns: [["x", D0, D0 + DAY], ["y0", 1]], types: { x: "x", y0: "line" } }),
    /1 values for 2/,
  ],
  ["a string value", graph({ columns: [["x", D0], ["y0", "7"]], types: { x: "x", y0: "line" } }), /value 1 is "7"/],
  ["an unknown type", graph({ columns: [["x", D0], ["y0", 1]], types: { x: "x", y0: "pie" } }), /unknown type "pie"/],
  ["a column without label", graph({ columns: [[1, 2]] }), /without its label/],
]

for (const [name, json, pattern] of MALFORMED) {
  Deno.test(`StatsGraph: malformed (${name}) says why`, () => {
    try {
      parseGraph("followers_graph", json)
    } catch (e) {
      assert(e instanceof MalformedGraph, String(e))
      assert(pattern.test(e.message), e.message)
      assert(e.message.startsWith("followers_graph: "), e.message)
      return
    }
    throw new Error("no error")
  })
}

Deno.test("StatsGraph: metric names and days", () => {
  assertEquals(
    metricName("new_followers_by_source_graph", "  Channels  Search "),
    "new_followers_by_source.channels_search",
  )
  assertEquals(metricName("reactions_by_emotion_graph", "Positive"), "reactions_by_emotion.positive")
  assertEquals(dayOf(D0 + 2 * DAY), "2026-11-03")
  // Irregular x (not whole days or hours) is kept raw only.
  assertEquals(
    parseGraph("top_hours_graph", graph({ columns: [["x", 0, 1, 2], ["y0", 1, 2, 3]], types: { x: "x" } }))
      .granularity,
    "other",
  )
})
