/**
 * Each sandbox channel's official statistics as pure, deterministic data: which graphs Telegram serves and how
 * (inline, async, error), their points, the scalar values, message statistics and public forwards. It keeps no
 * state: tokens, operator switches and TL rendering live elsewhere.
 *
 * Stability: a daily point depends only on (seed, channel, graph, series, day) and an hourly one only on (seed,
 * channel, graph, series, hour), never on the clock, so a later fetch agrees with an earlier one on the days both
 * cover. Graphs hold complete UTC days (the current day appears once it is over) and complete hours, up to `asOf`: the
 * world's reckoning instant (`WorldApi.asOf`, the start plus the clock's moves), which stands still between moves.
 */
import { hash } from "../world/Hash.ts"
import { historyQuery } from "../world/History.ts"
import type { ChannelInfo, Post, WorldApi } from "../world/Model.ts"
import { DAY_MS, type GraphData, graphsOf, type GraphSpec, HOUR_MS, metricName } from "./GraphSpecs.ts"
import type {
  AbsValue,
  BroadcastValues,
  DailyRow,
  HourlyRow,
  MegagroupValues,
  PercentValue,
  PostCounters,
  PublicForward,
  TopAdmin,
  TopInviter,
  TopPoster,
  ValueRow,
} from "./StatsModel.ts"
import { hourShape, split, StatsSeries } from "./StatsSeries.ts"

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
/** Placeholder users (not test accounts) of megagroup top lists: `PLACEHOLDER_USER_BASE + i * 1e6 + hash`. */
export const PLACEHOLDER_USER_BASE = 700_000_000

// Salts of the decisions that are not about a graph's series.
const S_FORWARD = 0xf0d1
const S_FORWARD_ID = 0xf0d2
const S_TOP = 0x7007
const S_PLACEHOLDER = 0x7001

const dayString = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10)
const hourString = (hour: number): string => new Date(hour * HOUR_MS).toISOString()
const average = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? 0 : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
const reactionTotal = (p: Post): number => p.reactions.reduce((a, r) => a + r.count, 0)

/** The statistics of one channel of a world; cheap to build, so build one per request. */
export class ChannelStats {
  readonly graphs: ReadonlyArray<GraphSpec>
  private readonly series: StatsSeries

  constructor(private readonly world: WorldApi, readonly info: ChannelInfo) {
    this.graphs = graphsOf(info)
    this.series = new StatsSeries(world.seed, info)
  }

  graph(name: string): GraphSpec | undefined {
    return this.graphs.find((g) => g.name === name)
  }

  /** The last complete UTC day (day number) at `asOf`. */
  static lastDay(asOf: number): number {
    return Math.floor(asOf / DAY) - 1
  }

  /** stats period: the 30 days ending at `asOf`. */
  static period(asOf: number): { readonly minDate: number; readonly maxDate: number } {
    return { minDate: asOf - PERIOD_DAYS * DAY, maxDate: asOf }
  }

  /** The graph's points as served at `asOf` (unix seconds); error graphs have none. */
  data(spec: GraphSpec, asOf: number): GraphData {
    switch (spec.served === "error" ? "error" : spec.granularity) {
      case "error":
        return { spec, xs: [], values: [] }
      case "daily": {
        const last = ChannelStats.lastDay(asOf)
        const days = Array.from({ length: PERIOD_DAYS }, (_, i) => last - PERIOD_DAYS + 1 + i)
        return {
          spec,
          xs: days.map((d) => d * DAY_MS),
          values: spec.series.map((_, s) => days.map((d) => this.series.daily(spec.name, s, d))),
        }
      }
      case "hourly": {
        const last = Math.floor(asOf / HOUR) - 1
        const hours = Array.from({ length: TOP_HOURS }, (_, i) => last - TOP_HOURS + 1 + i)
        return {
          spec,
          xs: hours.map((h) => h * HOUR_MS),
          values: spec.series.map((series) => hours.map((h) => this.series.topHour(spec.name, series, h))),
        }
      }
      case "other": {
        const weekdays = [0, 1, 2, 3, 4, 5, 6]
        return {
          spec,
          xs: weekdays,
          values: spec.series.map((series) => weekdays.map((w) => this.series.weekday(spec.name, series, w))),
        }
      }
    }
  }

  /**
   * The 24 hours of day `dayMs` (a UTC midnight) of a zoomable graph, summing to that day's values; undefined when
   * the graph has no zoom or the day is not a complete day at `asOf`.
   */
  zoom(spec: GraphSpec, dayMs: number, asOf: number): GraphData | undefined {
    if (!spec.zoom || !Number.isSafeInteger(dayMs) || dayMs % DAY_MS !== 0) return undefined
    const day = dayMs / DAY_MS
    if (day > ChannelStats.lastDay(asOf) || day < 0) return undefined
    const hours = Array.from({ length: 24 }, (_, k) => k)
    return {
      spec: { ...spec, granularity: "hourly", zoom: false },
      xs: hours.map((k) => dayMs + k * HOUR_MS),
      values: spec.series.map((series, s) =>
        split(
          this.series.daily(spec.name, s, day),
          hours.map((k) => hourShape(k) * (0.7 + 0.6 * this.series.u(spec.name, `${series}@zoom`, day * 24 + k))),
        )
      ),
    }
  }

  /** Every point of the served graphs of this granularity, as metric rows sorted by metric then time. */
  rows(granularity: "daily", asOf: number, skip: (graph: string) => boolean): Array<DailyRow>
  rows(granularity: "hourly", asOf: number, skip: (graph: string) => boolean): Array<HourlyRow>
  rows(granularity: "daily" | "hourly", asOf: number, skip: (graph: string) => boolean): Array<DailyRow | HourlyRow> {
    const out: Array<{ readonly t: number; readonly metric: string; readonly value: number }> = []
    for (const spec of this.graphs) {
      if (spec.served === "error" || spec.granularity !== granularity || skip(spec.name)) continue
      const data = this.data(spec, asOf)
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

  broadcastValues(asOf: number): BroadcastValues {
    const last = ChannelStats.lastDay(asOf)
    const current = this.postsBetween(asOf - PERIOD_DAYS * DAY, asOf + 1)
    const previous = this.postsBetween(asOf - 2 * PERIOD_DAYS * DAY, asOf - PERIOD_DAYS * DAY)
    const per = (f: (p: Post) => number): AbsValue => ({
      current: average(current.map(f)),
      previous: average(previous.map(f)),
    })
    const followers = { current: this.series.total(last), previous: this.series.total(last - PERIOD_DAYS) }
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
        part: Math.floor(followers.current * (0.25 + 0.5 * this.series.u("enabled_notifications", "", 0))),
        total: followers.current,
      },
    }
  }

  megagroupValues(asOf: number): MegagroupValues {
    const last = ChannelStats.lastDay(asOf)
    const messages = (end: number) => {
      let sum = 0
      for (let d = end - PERIOD_DAYS + 1; d <= end; d++) sum += this.series.daily("messages_graph", 0, d)
      return sum
    }
    const viewers = (end: number) => Math.floor(this.series.base * (0.25 + 0.35 * this.series.u("viewers", "", end)))
    const posters = (end: number) => Math.floor(viewers(end) * (0.03 + 0.1 * this.series.u("posters", "", end)))
    const abs = (f: (end: number) => number): AbsValue => ({ current: f(last), previous: f(last - PERIOD_DAYS) })
    return {
      members: abs((end) => this.series.total(end)),
      messages: abs(messages),
      viewers: abs(viewers),
      posters: abs(posters),
    }
  }

  /** The newest posts (up to 20), newest first, with their counters now. */
  recentPosts(): ReadonlyArray<PostCounters> {
    const page = this.world.history(this.info.id, historyQuery({ limit: RECENT_POSTS }))
    return page.posts.map((p) => ({ msgId: p.id, views: p.views, forwards: p.forwards, reactions: reactionTotal(p) }))
  }

  /** Top posters of a megagroup: the test accounts and two placeholder users, most messages first. */
  topPosters(): ReadonlyArray<TopPoster> {
    return this.members(2).map((userId) => {
      const h = hash(this.series.key, S_TOP, userId)
      return { userId, messages: 5 + (h % 400), avgChars: 20 + ((h >>> 9) % 180) }
    }).sort((a, b) => b.messages - a.messages || a.userId - b.userId)
  }

  /** Top admins of a megagroup: its admins among the test accounts. */
  topAdmins(): ReadonlyArray<TopAdmin> {
    return this.info.adminUserIds.map((userId) => {
      const h = hash(this.series.key, S_TOP + 1, userId)
      return { userId, deleted: h % 60, kicked: (h >>> 6) % 12, banned: (h >>> 10) % 8 }
    })
  }

  /** Top inviters of a megagroup: the test accounts and one placeholder user, most invitations first. */
  topInviters(): ReadonlyArray<TopInviter> {
    return this.members(1).map((userId) => ({
      userId,
      invitations: 1 + (hash(this.series.key, S_TOP + 2, userId) % 50),
    }))
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
   * A post's views graph: hourly views and shares over its first 48 hours (those begun by `asOf`); undefined while
   * fewer than two hours have begun (Telegram answers "not enough data", and one point has no spacing to read).
   */
  messageViews(post: Post, asOf: number): GraphData | undefined {
    const spec: GraphSpec = {
      name: "views_graph",
      served: "inline",
      granularity: "hourly",
      type: "line",
      series: ["Views", "Shares"],
      yScaled: true,
    }
    const hours = this.postHours(post, asOf)
    if (hours.length < 2) return undefined
    const reach = this.series.base * (0.05 + 0.6 * this.series.u("views_graph", "reach", post.id))
    const views = hours.map((k) =>
      Math.floor(
        reach * (Math.exp(-k / 8) - Math.exp(-(k + 1) / 8)) *
          (0.7 + 0.6 * this.series.u("views_graph", `${post.id}`, k)),
      )
    )
    const shares = views.map((v, k) => Math.floor(v * (0.005 + 0.02 * this.series.u("views_graph", `${post.id}s`, k))))
    const first = Math.floor(post.date / HOUR)
    return { spec, xs: hours.map((k) => (first + k) * HOUR_MS), values: [views, shares] }
  }

  /** A post's reactions by emotion, hourly stacked bars over the same hours; undefined without reactions or hours. */
  messageReactions(post: Post, asOf: number): GraphData | undefined {
    const hours = this.postHours(post, asOf)
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
          hours.map((k) => Math.exp(-k / 6) * (0.7 + 0.6 * this.series.u("reactions", `${post.id}${r.emoji}`, k))),
        )
      ),
    }
  }

  /** Public forwards of a post visible at `asOf`: newest first (then by channel id and message id). */
  publicForwards(post: Post, asOf: number): ReadonlyArray<PublicForward> {
    const targets = this.world.channels.filter((c) => !c.isPrivate && c.kind === "broadcast" && c.id !== this.info.id)
    const roll = hash(this.series.key, S_FORWARD, post.id)
    const potential = targets.length === 0 || roll % 100 < 35 ? 0 : 1 + ((roll >>> 8) % 30)
    const idBase = 100_000 + (hash(this.series.key, S_FORWARD_ID, post.id) % 60_000) * 32
    const out: Array<PublicForward> = []
    for (let i = 0; i < potential; i++) {
      const h = hash(roll, S_FORWARD, i)
      const target = targets[h % targets.length]!
      const lag = hash(roll, S_FORWARD + 1, i) / U32
      const date = post.date + 60 + Math.floor(3 * DAY * lag * lag)
      if (date > asOf) continue
      const views = 1 + Math.floor(target.participantsCount * (0.02 + 0.3 * (hash(roll, S_FORWARD + 2, i) / U32)))
      out.push({ channelId: target.id, msgId: idBase + i, date, views })
    }
    return out.sort((a, b) => b.date - a.date || a.channelId - b.channelId || a.msgId - b.msgId)
  }

  /** Posts dated in [from, to), newest first, at most 100. */
  private postsBetween(from: number, to: number): ReadonlyArray<Post> {
    if (to <= 0) return []
    const page = this.world.history(this.info.id, historyQuery({ offsetDate: to, limit: AVERAGED_POSTS }))
    return page.posts.filter((p) => p.date >= from)
  }

  /** Hour offsets 0.. of a post's graph: its first 48 hours, those begun by `asOf`. */
  private postHours(post: Post, asOf: number): ReadonlyArray<number> {
    const first = Math.floor(post.date / HOUR)
    const count = Math.max(1, Math.min(MESSAGE_HOURS, Math.floor(asOf / HOUR) - first + 1))
    return Array.from({ length: count }, (_, k) => k)
  }

  /** The test accounts and `placeholders` other users. */
  private members(placeholders: number): ReadonlyArray<number> {
    const ids = this.world.accounts.map((a) => a.userId)
    for (let i = 0; i < placeholders; i++) {
      ids.push(PLACEHOLDER_USER_BASE + i * 1_000_000 + (hash(this.series.key, S_PLACEHOLDER, i) % 1_000_000))
    }
    return ids
  }
}
