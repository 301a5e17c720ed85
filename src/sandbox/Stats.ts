/**
 * Each sandbox channel's official statistics as pure, deterministic data: which graphs Telegram serves and how
 * (inline, async, error), their points, their JSON exactly as Telegram sends it, the scalar values, message
 * statistics and public forwards. It keeps no state: tokens, operator switches and TL rendering live elsewhere.
 *
 * Stability: a daily point depends only on (seed, channel, graph, series, day) and an hourly one only on (seed,
 * channel, graph, series, hour), never on the clock, so a later fetch agrees with an earlier one on the days both
 * cover. Graphs hold complete UTC days (the current day appears once it is over) and complete hours.
 */
import type { ChannelInfo, Post, WorldApi } from "./Model.ts"
import { hash } from "./World.ts"

export type SeriesType = "line" | "area" | "step" | "bar"

/** Daily: x one UTC day apart (midnights); hourly: one hour apart; other: neither (weekdays). */
export type Granularity = "daily" | "hourly" | "other"

export const DAY_MS = 86_400_000
export const HOUR_MS = 3_600_000
const DAY = 86_400
const HOUR = 3_600
const U32 = 4_294_967_296

/** Days of a statistics period (Telegram's "last 30 days"). */
export const PERIOD_DAYS = 30
/** Hours of a `top_hours_graph`: the last 48 complete hours. */
export const TOP_HOURS = 48
/** Hours of a message's views graph: the post's first 48 hours (those already begun). */
export const MESSAGE_HOURS = 48
/** Posts in `recentPostsInteractions`. */
export const RECENT_POSTS = 20
/** Posts averaged for the `*_per_post` values (the newest of each period). */
const AVERAGED_POSTS = 100
/** The text of every statsGraphError the sandbox serves. */
export const NOT_ENOUGH_DATA = "Not enough data to display"
/** Placeholder users (not test accounts) of megagroup top lists: `PLACEHOLDER_USER_BASE + i * 1e6 + hash`. */
export const PLACEHOLDER_USER_BASE = 700_000_000

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

/** Base shares of the series of the graphs that split a total (scaled per channel and per day). */
const SHARES: Readonly<Record<string, ReadonlyArray<number>>> = {
  views_by_source_graph: [55, 12, 8, 10, 6, 5, 4],
  new_followers_by_source_graph: [30, 25, 20, 12, 8, 5],
  new_members_by_source_graph: [35, 40, 15, 10],
  languages_graph: [45, 25, 10, 8, 6, 6],
  reactions_by_emotion_graph: [40, 25, 15, 8, 5, 3, 4],
}

/** Activity by day of week, Sunday first. */
const WEEK: ReadonlyArray<number> = [0.85, 1.05, 1.08, 1.06, 1.04, 1, 0.88]

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

export interface AbsValue {
  readonly current: number
  readonly previous: number
}

export interface PercentValue {
  readonly part: number
  readonly total: number
}

/** stats.broadcastStats scalars; the *_per_post ones average the newest 100 posts of each 30-day period. */
export interface BroadcastValues {
  readonly followers: AbsValue
  readonly viewsPerPost: AbsValue
  readonly sharesPerPost: AbsValue
  readonly reactionsPerPost: AbsValue
  readonly viewsPerStory: AbsValue
  readonly sharesPerStory: AbsValue
  readonly reactionsPerStory: AbsValue
  readonly enabledNotifications: PercentValue
}

export interface MegagroupValues {
  readonly members: AbsValue
  readonly messages: AbsValue
  readonly viewers: AbsValue
  readonly posters: AbsValue
}

/** One scalar as the admin API lists it. */
export type ValueRow =
  | { readonly name: string; readonly current: number; readonly previous: number }
  | { readonly name: string; readonly part: number; readonly total: number }

export interface PostCounters {
  readonly msgId: number
  readonly views: number
  readonly forwards: number
  readonly reactions: number
}

export interface TopPoster {
  readonly userId: number
  readonly messages: number
  readonly avgChars: number
}

export interface TopAdmin {
  readonly userId: number
  readonly deleted: number
  readonly kicked: number
  readonly banned: number
}

export interface TopInviter {
  readonly userId: number
  readonly invitations: number
}

/** A synthetic forward of a post into another public broadcast channel of the world. */
export interface PublicForward {
  readonly channelId: number
  readonly msgId: number
  /** Unix seconds. */
  readonly date: number
  readonly views: number
}

export interface DailyRow {
  /** "YYYY-MM-DD" (UTC). */
  readonly day: string
  readonly metric: string
  readonly value: number
}

export interface HourlyRow {
  /** ISO timestamp of the hour's start. */
  readonly hour: string
  readonly metric: string
  readonly value: number
}

// Salts of the decisions that are not about a graph's series.
const S_STATS = 0x57a7
const S_POINT = 0x9017
const S_FORWARD = 0xf0d1
const S_FORWARD_ID = 0xf0d2
const S_TOP = 0x7007
const S_PLACEHOLDER = 0x7001

/** FNV-1a over UTF-16 units: a salt per graph and series name (adding a graph shifts no other values). */
function nameSalt(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Splits `total` by `weights` into integers summing to `total` (largest remainders, ties to the first). */
function split(total: number, weights: ReadonlyArray<number>): Array<number> {
  const sum = weights.reduce((a, b) => a + b, 0)
  if (total <= 0 || sum <= 0) return weights.map(() => 0)
  const exact = weights.map((w) => (total * w) / sum)
  const out = exact.map(Math.floor)
  let left = total - out.reduce((a, b) => a + b, 0)
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++
  return out
}

/** Relative activity by hour of day (UTC): a morning and an evening peak. */
function hourShape(hourOfDay: number): number {
  return 0.35 + 1.3 * Math.exp(-((hourOfDay - 19) ** 2) / 18) + 0.7 * Math.exp(-((hourOfDay - 9) ** 2) / 10)
}

const dayString = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10)
const hourString = (hour: number): string => new Date(hour * HOUR_MS).toISOString()
const average = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? 0 : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
const reactionTotal = (p: Post): number => p.reactions.reduce((a, r) => a + r.count, 0)

/** The statistics of one channel of a world; cheap to build, so build one per request. */
export class ChannelStats {
  readonly graphs: ReadonlyArray<GraphSpec>
  private readonly key: number
  /** Followers (members) at the end of the channel's creation day, the anchor of the growth graph. */
  private readonly base: number
  private readonly origin: number
  private readonly growthSource: string

  constructor(private readonly world: WorldApi, readonly info: ChannelInfo) {
    const seedKey = hash(world.seed >>> 0, S_STATS, Math.floor(world.seed / U32) >>> 0)
    this.key = hash(seedKey, S_STATS, info.id)
    this.graphs = graphsOf(info)
    this.base = info.participantsCount
    this.origin = Math.floor(info.createdAt / DAY)
    this.growthSource = info.kind === "broadcast" ? "followers_graph" : "members_graph"
  }

  graph(name: string): GraphSpec | undefined {
    return this.graphs.find((g) => g.name === name)
  }

  /** The last complete UTC day (day number) at world time `now`. */
  static lastDay(now: number): number {
    return Math.floor(now / DAY) - 1
  }

  /** stats period: the 30 days ending at `now`. */
  static period(now: number): { readonly minDate: number; readonly maxDate: number } {
    return { minDate: now - PERIOD_DAYS * DAY, maxDate: now }
  }

  /** The graph's points as served at world time `now` (unix seconds); error graphs have none. */
  data(spec: GraphSpec, now: number): GraphData {
    switch (spec.served === "error" ? "error" : spec.granularity) {
      case "error":
        return { spec, xs: [], values: [] }
      case "daily": {
        const last = ChannelStats.lastDay(now)
        const days = Array.from({ length: PERIOD_DAYS }, (_, i) => last - PERIOD_DAYS + 1 + i)
        return {
          spec,
          xs: days.map((d) => d * DAY_MS),
          values: spec.series.map((_, s) => days.map((d) => this.daily(spec.name, s, d))),
        }
      }
      case "hourly": {
        const last = Math.floor(now / HOUR) - 1
        const hours = Array.from({ length: TOP_HOURS }, (_, i) => last - TOP_HOURS + 1 + i)
        return {
          spec,
          xs: hours.map((h) => h * HOUR_MS),
          values: spec.series.map((series) => hours.map((h) => this.topHour(spec.name, series, h))),
        }
      }
      case "other": {
        const weekdays = [0, 1, 2, 3, 4, 5, 6]
        return {
          spec,
          xs: weekdays,
          values: spec.series.map((series) =>
            weekdays.map((w) => Math.floor(this.base * 0.03 * WEEK[w]! * (0.8 + 0.4 * this.u(spec.name, series, w))))
          ),
        }
      }
    }
  }

  /**
   * The 24 hours of day `dayMs` (a UTC midnight) of a zoomable graph, summing to that day's values; undefined when
   * the graph has no zoom or the day is not a complete day at `now`.
   */
  zoom(spec: GraphSpec, dayMs: number, now: number): GraphData | undefined {
    if (!spec.zoom || !Number.isSafeInteger(dayMs) || dayMs % DAY_MS !== 0) return undefined
    const day = dayMs / DAY_MS
    if (day > ChannelStats.lastDay(now) || day < 0) return undefined
    const hours = Array.from({ length: 24 }, (_, k) => k)
    return {
      spec: { ...spec, granularity: "hourly", zoom: false },
      xs: hours.map((k) => dayMs + k * HOUR_MS),
      values: spec.series.map((series, s) =>
        split(
          this.daily(spec.name, s, day),
          hours.map((k) => hourShape(k) * (0.7 + 0.6 * this.u(spec.name, `${series}@zoom`, day * 24 + k))),
        )
      ),
    }
  }

  /** Every point of the served graphs of this granularity, as metric rows sorted by metric then time. */
  rows(granularity: "daily", now: number, skip: (graph: string) => boolean): Array<DailyRow>
  rows(granularity: "hourly", now: number, skip: (graph: string) => boolean): Array<HourlyRow>
  rows(granularity: "daily" | "hourly", now: number, skip: (graph: string) => boolean): Array<DailyRow | HourlyRow> {
    const out: Array<{ readonly t: number; readonly metric: string; readonly value: number }> = []
    for (const spec of this.graphs) {
      if (spec.served === "error" || spec.granularity !== granularity || skip(spec.name)) continue
      const data = this.data(spec, now)
      spec.series.forEach((series, s) => {
        const metric = metricName(spec.name, series)
        data.xs.forEach((x, i) => out.push({ t: x, metric, value: data.values[s]![i]! }))
      })
    }
    out.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : a.t - b.t))
    return granularity === "daily"
      ? out.map((r) => ({ day: dayString(r.t / DAY_MS), metric: r.metric, value: r.value }))
      : out.map((r) => ({ hour: hourString(r.t / HOUR_MS), metric: r.metric, value: r.value }))
  }

  // --- scalars --------------------------------------------------------------------------------------------------

  broadcastValues(now: number): BroadcastValues {
    const last = ChannelStats.lastDay(now)
    const current = this.postsBetween(now - PERIOD_DAYS * DAY, now + 1)
    const previous = this.postsBetween(now - 2 * PERIOD_DAYS * DAY, now - PERIOD_DAYS * DAY)
    const per = (f: (p: Post) => number): AbsValue => ({
      current: average(current.map(f)),
      previous: average(previous.map(f)),
    })
    const followers = { current: this.total(last), previous: this.total(last - PERIOD_DAYS) }
    const none = { current: 0, previous: 0 }
    return {
      followers,
      viewsPerPost: per((p) => p.views),
      sharesPerPost: per((p) => p.forwards),
      reactionsPerPost: per(reactionTotal),
      // The sandbox's channels post no stories.
      viewsPerStory: none,
      sharesPerStory: none,
      reactionsPerStory: none,
      enabledNotifications: {
        part: Math.floor(followers.current * (0.25 + 0.5 * this.u("enabled_notifications", "", 0))),
        total: followers.current,
      },
    }
  }

  megagroupValues(now: number): MegagroupValues {
    const last = ChannelStats.lastDay(now)
    const messages = (end: number) => {
      let sum = 0
      for (let d = end - PERIOD_DAYS + 1; d <= end; d++) sum += this.daily("messages_graph", 0, d)
      return sum
    }
    const viewers = (end: number) => Math.floor(this.base * (0.25 + 0.35 * this.u("viewers", "", end)))
    const posters = (end: number) => Math.floor(viewers(end) * (0.03 + 0.1 * this.u("posters", "", end)))
    const abs = (f: (end: number) => number): AbsValue => ({ current: f(last), previous: f(last - PERIOD_DAYS) })
    return {
      members: abs((end) => this.total(end)),
      messages: abs(messages),
      viewers: abs(viewers),
      posters: abs(posters),
    }
  }

  /** The newest posts (up to 20), newest first, with their counters now. */
  recentPosts(): ReadonlyArray<PostCounters> {
    const page = this.world.history(this.info.id, {
      offsetId: 0,
      offsetDate: 0,
      addOffset: 0,
      limit: RECENT_POSTS,
      maxId: 0,
      minId: 0,
      hash: 0n,
    })
    return page.posts.map((p) => ({ msgId: p.id, views: p.views, forwards: p.forwards, reactions: reactionTotal(p) }))
  }

  /** Top posters of a megagroup: the test accounts and two placeholder users, most messages first. */
  topPosters(): ReadonlyArray<TopPoster> {
    return this.members(2).map((userId) => {
      const h = hash(this.key, S_TOP, userId)
      return { userId, messages: 5 + (h % 400), avgChars: 20 + ((h >>> 9) % 180) }
    }).sort((a, b) => b.messages - a.messages || a.userId - b.userId)
  }

  /** Top admins of a megagroup: its admins among the test accounts. */
  topAdmins(): ReadonlyArray<TopAdmin> {
    return this.info.adminUserIds.map((userId) => {
      const h = hash(this.key, S_TOP + 1, userId)
      return { userId, deleted: h % 60, kicked: (h >>> 6) % 12, banned: (h >>> 10) % 8 }
    })
  }

  /** Top inviters of a megagroup: the test accounts and one placeholder user, most invitations first. */
  topInviters(): ReadonlyArray<TopInviter> {
    return this.members(1).map((userId) => ({ userId, invitations: 1 + (hash(this.key, S_TOP + 2, userId) % 50) }))
      .sort((a, b) => b.invitations - a.invitations || a.userId - b.userId)
  }

  /** Values as the admin API lists them (snake-case TL names). */
  static valueRows(values: BroadcastValues | MegagroupValues): Array<ValueRow> {
    return Object.entries(values).map(([key, v]: [string, AbsValue | PercentValue]) => {
      const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
      return "part" in v ? { name, part: v.part, total: v.total } : { name, current: v.current, previous: v.previous }
    })
  }

  // --- messages -------------------------------------------------------------------------------------------------

  /**
   * A post's views graph: hourly views and shares over its first 48 hours (those begun by `now`); undefined while
   * fewer than two hours have begun (Telegram answers "not enough data", and one point has no spacing to read).
   */
  messageViews(post: Post, now: number): GraphData | undefined {
    const spec: GraphSpec = {
      name: "views_graph",
      served: "inline",
      granularity: "hourly",
      type: "line",
      series: ["Views", "Shares"],
      yScaled: true,
    }
    const hours = this.postHours(post, now)
    if (hours.length < 2) return undefined
    const reach = this.base * (0.05 + 0.6 * this.u("views_graph", "reach", post.id))
    const views = hours.map((k) =>
      Math.floor(
        reach * (Math.exp(-k / 8) - Math.exp(-(k + 1) / 8)) * (0.7 + 0.6 * this.u("views_graph", `${post.id}`, k)),
      )
    )
    const shares = views.map((v, k) => Math.floor(v * (0.005 + 0.02 * this.u("views_graph", `${post.id}s`, k))))
    const first = Math.floor(post.date / HOUR)
    return { spec, xs: hours.map((k) => (first + k) * HOUR_MS), values: [views, shares] }
  }

  /** A post's reactions by emotion, hourly stacked bars over the same hours; undefined without reactions or hours. */
  messageReactions(post: Post, now: number): GraphData | undefined {
    const hours = this.postHours(post, now)
    if (post.reactions.length === 0 || hours.length < 2) return undefined
    const spec: GraphSpec = {
      name: "reactions_by_emotion_graph",
      served: "inline",
      granularity: "hourly",
      type: "bar",
      series: post.reactions.map((r) => r.emoji),
      stacked: true,
    }
    const first = Math.floor(post.date / HOUR)
    return {
      spec,
      xs: hours.map((k) => (first + k) * HOUR_MS),
      values: post.reactions.map((r) =>
        split(
          r.count,
          hours.map((k) => Math.exp(-k / 6) * (0.7 + 0.6 * this.u("reactions", `${post.id}${r.emoji}`, k))),
        )
      ),
    }
  }

  /** Public forwards of a post visible at `now`: newest first (then by channel id and message id). */
  publicForwards(post: Post, now: number): ReadonlyArray<PublicForward> {
    const targets = this.world.channels.filter((c) => !c.isPrivate && c.kind === "broadcast" && c.id !== this.info.id)
    const roll = hash(this.key, S_FORWARD, post.id)
    const potential = targets.length === 0 || roll % 100 < 35 ? 0 : 1 + ((roll >>> 8) % 30)
    const idBase = 100_000 + (hash(this.key, S_FORWARD_ID, post.id) % 60_000) * 32
    const out: Array<PublicForward> = []
    for (let i = 0; i < potential; i++) {
      const h = hash(roll, S_FORWARD, i)
      const target = targets[h % targets.length]!
      const lag = hash(roll, S_FORWARD + 1, i) / U32
      const date = post.date + 60 + Math.floor(3 * DAY * lag * lag)
      if (date > now) continue
      const views = 1 + Math.floor(target.participantsCount * (0.02 + 0.3 * (hash(roll, S_FORWARD + 2, i) / U32)))
      out.push({ channelId: target.id, msgId: idBase + i, date, views })
    }
    return out.sort((a, b) => b.date - a.date || a.channelId - b.channelId || a.msgId - b.msgId)
  }

  // --- values ---------------------------------------------------------------------------------------------------

  /** A uniform [0, 1) draw for (graph, series, n). */
  private u(graph: string, series: string, n: number): number {
    return hash(hash(this.key, nameSalt(graph), nameSalt(series)), S_POINT, n) / U32
  }

  private week(day: number): number {
    return WEEK[(((day + 4) % 7) + 7) % 7]!
  }

  private joined(day: number): number {
    return 1 + Math.floor(this.base * 0.004 * this.week(day) * (0.5 + this.u(this.growthSource, "Joined", day)))
  }

  private left(day: number): number {
    return Math.floor(this.joined(day) * (0.25 + 0.5 * this.u(this.growthSource, "Left", day)))
  }

  /** Followers (members) at the end of `day`: the base at the creation day, plus or minus the daily net changes. */
  private total(day: number): number {
    let total = this.base
    for (let d = this.origin + 1; d <= day; d++) total += this.joined(d) - this.left(d)
    for (let d = this.origin; d > day; d--) total -= this.joined(d) - this.left(d)
    return Math.max(0, total)
  }

  private views(day: number): number {
    return Math.floor(this.base * 0.35 * this.week(day) * (0.6 + 0.8 * this.u("interactions_graph", "Views", day)))
  }

  private messages(day: number): number {
    return 1 + Math.floor(this.base * 0.03 * this.week(day) * (0.4 + 1.2 * this.u("messages_graph", "Messages", day)))
  }

  /** The part of series `s` when graph `graph` splits `total` on `day`. */
  private share(graph: string, s: number, day: number, total: number): number {
    const spec = this.graph(graph)!
    const weights = SHARES[graph]!.map((w, i) => {
      const series = spec.series[i]!
      return w * (0.6 + 0.8 * this.u(graph, `${series}#base`, 0)) * (0.85 + 0.3 * this.u(graph, series, day))
    })
    return split(total, weights)[s]!
  }

  /** Value of series `s` of daily graph `graph` on `day` (a day number). */
  private daily(graph: string, s: number, day: number): number {
    const series = this.graph(graph)?.series[s] ?? ""
    const u = (salt = "") => this.u(graph, series + salt, day)
    switch (graph) {
      case "growth_graph":
        return this.total(day)
      case "followers_graph":
      case "members_graph":
        return s === 0 ? this.joined(day) : this.left(day)
      case "mute_graph": {
        const muted = Math.floor(this.joined(day) * (0.05 + 0.25 * this.u(graph, "Muted", day))) +
          Math.floor(this.base * 0.0003 * this.u(graph, "Muted+", day))
        return s === 0 ? muted : Math.floor(muted * (0.2 + 0.5 * u()))
      }
      case "interactions_graph":
        return s === 0 ? this.views(day) : Math.floor(this.views(day) * (0.004 + 0.012 * u()))
      case "views_by_source_graph":
        return this.share(graph, s, day, this.views(day))
      case "new_followers_by_source_graph":
      case "new_members_by_source_graph":
        return this.share(graph, s, day, this.joined(day))
      case "languages_graph":
        return this.share(graph, s, day, this.total(day))
      case "reactions_by_emotion_graph": {
        const total = Math.floor(this.views(day) * (0.01 + 0.03 * this.u(graph, "total", day)))
        return this.share(graph, s, day, total)
      }
      case "messages_graph":
        return this.messages(day)
      case "actions_graph": {
        const deleted = Math.floor(this.messages(day) * 0.02 * (0.5 + this.u(graph, "Deleted messages", day)))
        const kicked = Math.floor(this.base * 0.0002 * this.u(graph, "Kicked members", day))
        return s === 0 ? deleted : s === 1 ? kicked : Math.floor(kicked * this.u(graph, "Banned members", day))
      }
      default:
        return 0
    }
  }

  /** Value of a top-hours series at `hour` (an hour number): that day's activity spread by hour of day. */
  private topHour(graph: string, series: string, hour: number): number {
    const day = Math.floor(hour / 24)
    const daily = this.info.kind === "broadcast" ? this.views(day) : this.messages(day)
    return Math.floor((daily / 24) * hourShape(hour % 24) * (0.7 + 0.6 * this.u(graph, series, hour)))
  }

  /** Posts dated in [from, to), newest first, at most 100. */
  private postsBetween(from: number, to: number): ReadonlyArray<Post> {
    if (to <= 0) return []
    const page = this.world.history(this.info.id, {
      offsetId: 0,
      offsetDate: to,
      addOffset: 0,
      limit: AVERAGED_POSTS,
      maxId: 0,
      minId: 0,
      hash: 0n,
    })
    return page.posts.filter((p) => p.date >= from)
  }

  /** Hour offsets 0.. of a post's graph: its first 48 hours, those begun by `now`. */
  private postHours(post: Post, now: number): ReadonlyArray<number> {
    const first = Math.floor(post.date / HOUR)
    const count = Math.max(1, Math.min(MESSAGE_HOURS, Math.floor(now / HOUR) - first + 1))
    return Array.from({ length: count }, (_, k) => k)
  }

  /** The test accounts and `placeholders` other users. */
  private members(placeholders: number): ReadonlyArray<number> {
    const ids = this.world.accounts.map((a) => a.userId)
    for (let i = 0; i < placeholders; i++) {
      ids.push(PLACEHOLDER_USER_BASE + i * 1_000_000 + (hash(this.key, S_PLACEHOLDER, i) % 1_000_000))
    }
    return ids
  }
}

const COLORS: ReadonlyArray<readonly [string, string, string]> = [
  ["green", "3cb64f", "4ed162"],
  ["red", "e05356", "f0616b"],
  ["blue", "3497ed", "4ea7f5"],
  ["golden", "eba52d", "f2b33e"],
  ["lightblue", "58a8ed", "6cb6f2"],
  ["lightgreen", "7ccd74", "8dd985"],
  ["orange", "f7a73a", "faaf4a"],
  ["indigo", "5b6ee2", "6d7ff0"],
  ["violet", "8e6dc0", "a081d0"],
  ["cyan", "44bcc1", "55cbd0"],
]

/**
 * The graph's `statsGraph.json.data`, as Telegram writes it: label-first `columns` (`x` first, in UNIX ms), `types`,
 * `names`, `colors` ("green#3cb64f" style; `dark` picks the dark-theme shades), `hidden`, `subchart` and the
 * `percentage` / `stacked` / `y_scaled` flags where they apply.
 */
export function graphJson(data: GraphData, dark: boolean): string {
  const { spec, xs } = data
  const labels = spec.series.map((_, i) => `y${i}`)
  const types: Record<string, string> = { x: "x" }
  const names: Record<string, string> = {}
  const colors: Record<string, string> = {}
  labels.forEach((label, i) => {
    const [color, light, night] = COLORS[i % COLORS.length]!
    types[label] = spec.type
    names[label] = spec.series[i]!
    colors[label] = `${color}#${dark ? night : light}`
  })
  const out: Record<string, unknown> = {
    columns: [["x", ...xs], ...labels.map((label, i) => [label, ...data.values[i]!])],
    types,
    names,
    colors,
    hidden: [],
    subchart: { show: true, defaultZoom: [xs[Math.max(0, xs.length - 7)] ?? 0, xs[xs.length - 1] ?? 0] },
  }
  if (spec.percentage) out["percentage"] = true
  if (spec.stacked) out["stacked"] = true
  if (spec.yScaled) out["y_scaled"] = true
  return JSON.stringify(out)
}

/** What a malformed graph serves instead: its JSON cut in the middle of `columns` (never parseable). */
export function malformedJson(json: string): string {
  return json.slice(0, Math.max(12, Math.floor(json.length / 3)))
}
