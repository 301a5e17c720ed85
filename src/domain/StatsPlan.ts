/**
 * The statistics load plan (pure): what a peer's statistics become in the database (each graph raw and, when it reads
 * as daily or hourly, pivoted; the summary; the period), which posts get their own statistics, which refusals mean
 * "get the statistics again", and the per-peer outcome the summary line shows. StatsLoader runs it against Telegram.
 */
import type {
  ChannelStats,
  ChannelStatsWrite,
  PostStatsWrite,
  PublicForward,
  RawEntry,
  RawGraph,
  TimedPoint,
} from "./Stats.ts"
import { dayOf, MalformedGraph, parseGraph } from "./StatsGraph.ts"

/** Public forwards asked per page (Telegram's usual maximum). */
export const FORWARDS_PAGE = 100
/** Pages of public forwards per post at most (10,000 forwards). */
export const FORWARDS_MAX_PAGES = 100
const DAY_SECONDS = 86_400

/** Errors of stats.loadAsyncGraph that mean: get the statistics again for a fresh token. */
export const RELOAD: ReadonlyArray<string> = ["GRAPH_EXPIRED_RELOAD", "GRAPH_INVALID_RELOAD", "GRAPH_OUTDATED_RELOAD"]
/** Errors of the statistics calls that mean: the channel is of the other kind (try that one once). */
export const OTHER_KIND: ReadonlyArray<string> = ["BROADCAST_REQUIRED", "MEGAGROUP_REQUIRED"]

/** One peer's outcome (also the end-of-run summary). */
export interface PeerStats {
  readonly channel: string
  readonly channelId: number | undefined
  readonly status: "pending" | "running" | "ok" | "skipped" | "failed"
  /** The account that loaded them (an admin of the channel). */
  readonly account: string | undefined
  readonly kind: "broadcast" | "megagroup" | undefined
  /** The DC the statistics came from. */
  readonly statsDc: number | undefined
  /** Graphs received (each stored raw). */
  readonly graphs: number
  /** Graphs Telegram drew no data for (statsGraphError). */
  readonly unavailable: number
  /** Graphs that could not be read or loaded: kept raw, not pivoted. */
  readonly graphErrors: number
  /** Async graphs loaded with stats.loadAsyncGraph, and how many needed the statistics again (expired tokens). */
  readonly asyncLoaded: number
  readonly reloads: number
  /** Rows added or changed (a re-run with the same data changes none). */
  readonly rowsChanged: number
  readonly posts: number
  readonly postErrors: number
  readonly forwards: number
  readonly requests: number
  readonly floodWaits: number
  readonly seconds: number
  /** Why it was skipped or failed. */
  readonly error: string | undefined
}

export const pendingPeer = (channel: string): PeerStats => ({
  channel,
  channelId: undefined,
  status: "pending",
  account: undefined,
  kind: undefined,
  statsDc: undefined,
  graphs: 0,
  unavailable: 0,
  graphErrors: 0,
  asyncLoaded: 0,
  reloads: 0,
  rowsChanged: 0,
  posts: 0,
  postErrors: 0,
  forwards: 0,
  requests: 0,
  floodWaits: 0,
  seconds: 0,
  error: undefined,
})

/** What a graph became: its raw row and, when it could be read as daily or hourly, its points. */
export interface Pivot {
  readonly raw: RawEntry
  readonly granularity: "daily" | "hourly" | "other" | undefined
  readonly points: ReadonlyArray<TimedPoint>
  /** Why it could not be read or loaded (counted as an error). */
  readonly problem: string | undefined
}

/** Reads a loaded graph's JSON: raw always, points for daily and hourly graphs, the reason when malformed. */
export function pivotGraph(key: string, name: string, graph: RawGraph): Pivot {
  if (graph._tag === "Error") {
    return {
      raw: { key, kind: "error", data: null, error: graph.error },
      granularity: undefined,
      points: [],
      problem: undefined,
    }
  }
  if (graph._tag === "Async") {
    const problem = "an async graph token was not loaded"
    return { raw: { key, kind: "error", data: null, error: problem }, granularity: undefined, points: [], problem }
  }
  try {
    const parsed = parseGraph(name, graph.json)
    const points = parsed.granularity === "other"
      ? []
      : parsed.series.flatMap((s) => s.points.map((p) => ({ x: p.x, metric: s.metric, value: p.value })))
    return {
      raw: { key, kind: "graph", data: graph.json, error: null },
      granularity: parsed.granularity,
      points,
      problem: undefined,
    }
  } catch (e) {
    if (!(e instanceof MalformedGraph)) throw e
    return {
      raw: { key, kind: "graph", data: graph.json, error: e.message },
      granularity: undefined,
      points: [],
      problem: e.message,
    }
  }
}

/**
 * A graph as loaded: its pivot, with the load's failure as the problem when an async graph could not be loaded
 * (`loaded` is then the Error it became).
 */
export const pivotLoaded = (key: string, name: string, sent: RawGraph, loaded: RawGraph): Pivot => {
  const pivot = pivotGraph(key, name, loaded)
  return sent._tag === "Async" && loaded._tag === "Error" ? { ...pivot, problem: loaded.error } : pivot
}

/** A channel's statistics as one write: every graph raw, the summary, the daily and hourly pivots, the values. */
export function channelWrite(
  channelId: number,
  kind: "broadcast" | "megagroup",
  stats: ChannelStats,
  pivots: ReadonlyArray<Pivot>,
): ChannelStatsWrite {
  return {
    channelId,
    raw: [
      ...pivots.map((p) => p.raw),
      {
        key: "summary",
        kind: "summary",
        data: JSON.stringify({ kind, period: stats.period, ...stats.extra }),
        error: null,
      },
    ],
    daily: pivots.filter((p) => p.granularity === "daily").flatMap((p) =>
      p.points.map((pt) => ({ day: dayOf(pt.x), metric: pt.metric, value: pt.value }))
    ),
    hourly: pivots.filter((p) => p.granularity === "hourly").flatMap((p) => p.points),
    period: { start: dayOf(stats.period.minDate * 1000), end: dayOf(stats.period.maxDate * 1000) },
    values: stats.values,
  }
}

/** The graph counts of a peer's outcome. */
export const graphCounts = (
  pivots: ReadonlyArray<Pivot>,
): Pick<PeerStats, "graphs" | "unavailable" | "graphErrors"> => ({
  graphs: pivots.length,
  unavailable: pivots.filter((x) => x.raw.kind === "error" && x.problem === undefined).length,
  graphErrors: pivots.filter((x) => x.problem !== undefined).length,
})

/** A post's statistics as one write: its graphs raw (keyed `post:<id>:<graph>`), its series, its public forwards. */
export function postWrite(
  channelId: number,
  msgId: number,
  pivots: ReadonlyArray<Pivot>,
  forwards: ReadonlyArray<PublicForward>,
): PostStatsWrite {
  return {
    channelId,
    msgId,
    raw: pivots.map((p) => p.raw),
    series: pivots.flatMap((p) =>
      p.granularity === "daily" || p.granularity === "hourly"
        ? p.points.map((pt) => ({ ...pt, granularity: p.granularity as "daily" | "hourly" }))
        : []
    ),
    forwards,
  }
}

/**
 * Since when (UNIX seconds) posts get their own statistics: `periodDays` before where Telegram's statistics period
 * ends (`nowSec`, the clock, when it does not say).
 */
export const postsSince = (stats: ChannelStats, periodDays: number, nowSec: number): number =>
  (stats.period.maxDate > 0 ? stats.period.maxDate : nowSec) - periodDays * DAY_SECONDS

/**
 * The posts that get their own statistics, newest first: the ones Telegram counts as recent and the stored ones of the
 * period, `postsLimit` at most (0: all).
 */
export const postsToLoad = (
  stats: ChannelStats,
  stored: ReadonlyArray<number>,
  postsLimit: number,
): ReadonlyArray<number> =>
  [...new Set([...stats.recentPosts.map((p) => p.msgId), ...stored])].sort((a, b) => b - a)
    .slice(0, postsLimit > 0 ? postsLimit : undefined)
