/** Test support for statistics: stats requests on a DC, clients per account, an independent reader of graph JSON. */
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import type { Sandbox } from "../../Sandbox.ts"
import { DAY_MS, HOUR_MS } from "../../stats/GraphSpecs.ts"
import { assert, assertEquals, assertRejects } from "./assert.ts"
import { gramClient } from "./sandbox.ts"

// Default sandbox: DCs [2, 4] (2 is main); channel i has stats on DC [2, 4][i % 2]; channel 3 is a megagroup;
// account 0 admins channel 0 but not channel 1, account 1 every public channel, account 2 none.
export const MAIN = 2

export const OTHER = 4

export const DAY = 86_400

export type Channel = Sandbox["descriptor"]["channels"][number]

export const inputChannel = (c: Channel) =>
  new Api.InputChannel({ channelId: bigInt(c.id), accessHash: bigInt(c.accessHash) })

/** Sends through the main sender, or through an exported sender to another DC (as Telegram's clients do). */
export const on = <R extends Api.AnyRequest>(client: TelegramClient, dc: number, request: R) =>
  dc === MAIN ? client.invoke(request) : client.invoke(request, dc)

export const broadcastStats = (client: TelegramClient, dc: number, c: Channel, dark = false) =>
  on(client, dc, new Api.stats.GetBroadcastStats({ channel: inputChannel(c), dark }))

export const megagroupStats = (client: TelegramClient, dc: number, c: Channel) =>
  on(client, dc, new Api.stats.GetMegagroupStats({ channel: inputChannel(c) }))

export const loadGraph = (client: TelegramClient, dc: number, token: string, x?: number) =>
  on(client, dc, new Api.stats.LoadAsyncGraph({ token, ...(x === undefined ? {} : { x: bigInt(x) }) }))

export async function rpcFails(code: number, message: string, fn: () => Promise<unknown>): Promise<void> {
  await assertRejects(fn, (e: any) => assertEquals([e?.code, e?.errorMessage], [code, message], String(e)))
}

/** Runs `fn` with connected clients of the given accounts, destroyed afterwards. */
export async function withClients(
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
export async function adminRaw(sandbox: Sandbox, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.descriptor.admin}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  })
  return { status: res.status, json: await res.json() }
}

// --- an independent reader of Telegram's graph JSON ----------------------------------------------------------------

export interface Point {
  readonly x: number
  readonly metric: string
  readonly value: number
}

export interface ReadGraph {
  readonly granularity: "daily" | "hourly" | "other"
  readonly xs: ReadonlyArray<number>
  readonly types: ReadonlyArray<string>
  readonly data: any
  readonly points: ReadonlyArray<Point>
}

/** Reads a graph the way a collector must: label-first columns, x in ms, names → metrics, spacing → granularity. */
export function readGraph(graph: string, text: string): ReadGraph {
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

export const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export interface Served {
  /** Graph name → how it was served. */
  readonly kinds: Record<string, string>
  /** Graph name → its JSON read (async ones loaded). */
  readonly graphs: Record<string, ReadGraph>
  readonly daily: Array<{ day: string; metric: string; value: number }>
  readonly hourly: Array<{ hour: string; metric: string; value: number }>
}

export const byMetricThen = <T extends { metric: string }>(key: (r: T) => string) => (a: T, b: T) =>
  a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0

/** Every graph field of a stats answer, async ones loaded through `load`, read into daily and hourly rows. */
export async function readServed(stats: object, load: (token: string) => Promise<Api.TypeStatsGraph>): Promise<Served> {
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

export const BROADCAST_KINDS = {
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

export const MEGAGROUP_KINDS = {
  growth_graph: "StatsGraph",
  members_graph: "StatsGraph",
  new_members_by_source_graph: "StatsGraphAsync",
  languages_graph: "StatsGraphAsync",
  messages_graph: "StatsGraph",
  actions_graph: "StatsGraph",
  top_hours_graph: "StatsGraph",
  weekdays_graph: "StatsGraph",
}

export const abs = (v: Api.TypeStatsAbsValueAndPrev) => [v.current, v.previous]
