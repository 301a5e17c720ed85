/** The graphs of channel statistics as Telegram serves them: their specs (TL field order), metric names, points. */
import type { ChannelInfo } from "../world/Model.ts"

export type SeriesType = "line" | "area" | "step" | "bar"

/** Daily: x one UTC day apart (midnights); hourly: one hour apart; other: neither (weekdays). */
export type Granularity = "daily" | "hourly" | "other"

export const DAY_MS = 86_400_000
export const HOUR_MS = 3_600_000

/** The text of every statsGraphError the sandbox serves. */
export const NOT_ENOUGH_DATA = "Not enough data to display"

export interface GraphSpec {
  /** The TL field in snake case, e.g. "followers_graph"; metrics are named after it. */
  readonly name: string
  /** statsGraph (inline), statsGraphAsync (a token for stats.loadAsyncGraph) or statsGraphError. */
  readonly served: "inline" | "async" | "error"
  readonly granularity: Granularity
  readonly type: SeriesType
  /** Display names (`names` of the JSON), in column order y0, y1, … */
  readonly series: ReadonlyArray<string>
  readonly percentage?: boolean
  readonly stacked?: boolean
  readonly yScaled?: boolean
  /** Daily graphs of per-day counts carry a zoom token: stats.loadAsyncGraph(token, x = day) gives its 24 hours. */
  readonly zoom?: boolean
}

const error = (name: string): GraphSpec => ({ name, served: "error", granularity: "daily", type: "line", series: [] })

const LANGUAGES = ["English", "Russian", "Spanish", "German", "Portuguese", "Other"]
const EMOTIONS = ["👍", "❤️", "🔥", "😂", "😮", "😢", "🎉"]

/** stats.broadcastStats graphs in TL field order. */
export const BROADCAST_GRAPHS: ReadonlyArray<GraphSpec> = [
  { name: "growth_graph", served: "inline", granularity: "daily", type: "line", series: ["Total followers"] },
  {
    name: "followers_graph",
    served: "inline",
    granularity: "daily",
    type: "line",
    series: ["Joined", "Left"],
    zoom: true,
  },
  {
    name: "mute_graph",
    served: "inline",
    granularity: "daily",
    type: "step",
    series: ["Muted", "Unmuted"],
    zoom: true,
  },
  { name: "top_hours_graph", served: "inline", granularity: "hourly", type: "line", series: ["Views"] },
  {
    name: "interactions_graph",
    served: "inline",
    granularity: "daily",
    type: "line",
    series: ["Views", "Shares"],
    yScaled: true,
    zoom: true,
  },
  error("iv_interactions_graph"),
  {
    name: "views_by_source_graph",
    served: "async",
    granularity: "daily",
    type: "bar",
    series: ["Followers", "Other channels", "Search", "URL", "PM", "Groups", "Other"],
    stacked: true,
    zoom: true,
  },
  {
    name: "new_followers_by_source_graph",
    served: "async",
    granularity: "daily",
    type: "bar",
    series: ["URL", "Search", "Channels", "Groups", "PM", "Other"],
    stacked: true,
    zoom: true,
  },
  { name: "languages_graph", served: "async", granularity: "daily", type: "area", series: LANGUAGES, percentage: true },
  {
    name: "reactions_by_emotion_graph",
    served: "async",
    granularity: "daily",
    type: "bar",
    series: EMOTIONS,
    stacked: true,
    zoom: true,
  },
  error("story_interactions_graph"),
  error("story_reactions_by_emotion_graph"),
]

/** stats.megagroupStats graphs in TL field order. */
export const MEGAGROUP_GRAPHS: ReadonlyArray<GraphSpec> = [
  { name: "growth_graph", served: "inline", granularity: "daily", type: "line", series: ["Total members"] },
  {
    name: "members_graph",
    served: "inline",
    granularity: "daily",
    type: "line",
    series: ["Joined", "Left"],
    zoom: true,
  },
  {
    name: "new_members_by_source_graph",
    served: "async",
    granularity: "daily",
    type: "bar",
    series: ["Invites", "Links", "Search", "Other"],
    stacked: true,
    zoom: true,
  },
  { name: "languages_graph", served: "async", granularity: "daily", type: "area", series: LANGUAGES, percentage: true },
  { name: "messages_graph", served: "inline", granularity: "daily", type: "step", series: ["Messages"], zoom: true },
  {
    name: "actions_graph",
    served: "inline",
    granularity: "daily",
    type: "line",
    series: ["Deleted messages", "Kicked members", "Banned members"],
    zoom: true,
  },
  { name: "top_hours_graph", served: "inline", granularity: "hourly", type: "line", series: ["Messages"] },
  { name: "weekdays_graph", served: "inline", granularity: "other", type: "bar", series: ["Messages"], stacked: true },
]

/** The metric of a series: `followers_graph` + "Joined" → `followers.joined` (whitespace runs become `_`). */
export function metricName(graph: string, series: string): string {
  return `${graph.replace(/_graph$/, "")}.${series.trim().toLowerCase().replace(/\s+/g, "_")}`
}

/** The graphs a channel of this kind serves. */
export function graphsOf(info: ChannelInfo): ReadonlyArray<GraphSpec> {
  return info.kind === "broadcast" ? BROADCAST_GRAPHS : MEGAGROUP_GRAPHS
}

/** Points of one graph: x values and one row of values per series (non-negative integers). */
export interface GraphData {
  readonly spec: GraphSpec
  /** UNIX milliseconds (daily: UTC midnights; hourly: hour starts); weekday numbers 0-6 (Sunday first) for other. */
  readonly xs: ReadonlyArray<number>
  readonly values: ReadonlyArray<ReadonlyArray<number>>
}
