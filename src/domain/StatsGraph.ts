/**
 * Telegram's statistics graphs (statsGraph.json.data) read into series, generically: every column after `x` is a
 * series named by `names`, drawn as `types` says (line, area, step, bar), with `x` in UNIX milliseconds. Daily graphs
 * (x one day apart) become daily pivots, hourly ones (x one hour apart, as zoomed graphs are) hourly pivots; anything
 * else is kept raw only. Pure: no I/O, no Effect.
 */

export type SeriesType = "line" | "area" | "step" | "bar"
const SERIES_TYPES: ReadonlySet<string> = new Set(["line", "area", "step", "bar"])

export type Granularity = "daily" | "hourly" | "other"

export interface GraphPoint {
  /** UNIX milliseconds, as Telegram sends them. */
  readonly x: number
  readonly value: number
}

export interface GraphSeries {
  /** The column label, e.g. "y0". */
  readonly key: string
  /** The display name, e.g. "Joined". */
  readonly name: string
  /** `<graph without _graph>.<name lowercased, spaces as _>`, e.g. "followers.joined". */
  readonly metric: string
  readonly type: SeriesType
  readonly color: string | undefined
  readonly points: ReadonlyArray<GraphPoint>
}

export interface ParsedGraph {
  readonly granularity: Granularity
  /** Parts of a whole (area graphs of shares). */
  readonly percentage: boolean
  /** Bars stacked on each other. */
  readonly stacked: boolean
  readonly series: ReadonlyArray<GraphSeries>
}

/** Why a graph's JSON could not be read (it is still stored raw). */
export class MalformedGraph extends Error {
  override readonly name = "MalformedGraph"
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

/** The metric name of a series: "followers_graph" + "Joined" -> "followers.joined". */
export function metricName(graph: string, seriesName: string): string {
  const base = graph.replace(/_graph$/, "")
  return `${base}.${seriesName.trim().toLowerCase().replace(/\s+/g, "_")}`
}

/** Daily when every x step is a whole number of days, hourly when of hours (and under a day), else other. */
function granularityOf(xs: ReadonlyArray<number>): Granularity {
  if (xs.length === 0) return "other"
  if (xs.length === 1) return xs[0]! % DAY_MS === 0 ? "daily" : "other"
  let daily = true
  let hourly = true
  for (let i = 1; i < xs.length; i++) {
    const step = xs[i]! - xs[i - 1]!
    if (step <= 0) return "other"
    if (step % DAY_MS !== 0) daily = false
    if (step % HOUR_MS !== 0 || step >= DAY_MS) hourly = false
  }
  return daily ? "daily" : hourly ? "hourly" : "other"
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * Reads the JSON of graph `graph` (e.g. "followers_graph"). Throws MalformedGraph saying what is wrong: not JSON, no
 * columns, no x column, a column of another length than x, a value that is not a finite number, a series of unknown
 * type. An empty graph (no points) is not malformed.
 */
export function parseGraph(graph: string, json: string): ParsedGraph {
  let data: unknown
  try {
    data = JSON.parse(json)
  } catch {
    throw new MalformedGraph(`${graph}: not JSON`)
  }
  if (!isRecord(data)) throw new MalformedGraph(`${graph}: not a JSON object`)
  const columns = data["columns"]
  if (!Array.isArray(columns)) throw new MalformedGraph(`${graph}: no "columns" array`)
  const types = isRecord(data["types"]) ? data["types"] : {}
  const names = isRecord(data["names"]) ? data["names"] : {}
  const colors = isRecord(data["colors"]) ? data["colors"] : {}
  const byLabel = new Map<string, ReadonlyArray<unknown>>()
  for (const column of columns) {
    if (!Array.isArray(column) || typeof column[0] !== "string") {
      throw new MalformedGraph(`${graph}: a column without its label first`)
    }
    if (byLabel.has(column[0])) throw new MalformedGraph(`${graph}: column "${column[0]}" twice`)
    byLabel.set(column[0], column.slice(1))
  }
  const xLabel = [...byLabel.keys()].find((label) => types[label] === "x") ?? (byLabel.has("x") ? "x" : undefined)
  if (xLabel === undefined) {
    if (byLabel.size === 0) return { granularity: "other", percentage: false, stacked: false, series: [] }
    throw new MalformedGraph(`${graph}: no x column`)
  }
  const xs = byLabel.get(xLabel)!.map((v, i) => finite(graph, xLabel, i, v))
  const series: Array<GraphSeries> = []
  for (const [label, values] of byLabel) {
    if (label === xLabel) continue
    const type = types[label] ?? "line"
    if (typeof type !== "string" || !SERIES_TYPES.has(type)) {
      throw new MalformedGraph(`${graph}: column "${label}" has unknown type ${JSON.stringify(type)}`)
    }
    if (values.length !== xs.length) {
      throw new MalformedGraph(`${graph}: column "${label}" has ${values.length} values for ${xs.length} x values`)
    }
    const name = typeof names[label] === "string" && names[label] !== "" ? names[label] as string : label
    const color = typeof colors[label] === "string" ? colors[label] as string : undefined
    series.push({
      key: label,
      name,
      metric: metricName(graph, name),
      type: type as SeriesType,
      color,
      points: values.map((v, i) => ({ x: xs[i]!, value: finite(graph, label, i, v) })),
    })
  }
  return {
    granularity: granularityOf(xs),
    percentage: data["percentage"] === true,
    stacked: data["stacked"] === true,
    series,
  }
}

function finite(graph: string, label: string, index: number, v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v)) return v
  throw new MalformedGraph(`${graph}: column "${label}" value ${index + 1} is ${JSON.stringify(v)}, not a number`)
}

/** A daily point's day, "YYYY-MM-DD" in UTC. */
export const dayOf = (x: number): string => new Date(x).toISOString().slice(0, 10)
