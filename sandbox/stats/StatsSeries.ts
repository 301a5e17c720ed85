/**
 * The deterministic numbers behind a channel's statistics: one uniform draw per (seed, channel, graph, series, point),
 * daily counts that never depend on the clock, their split by source, and hourly activity.
 */
import { hash } from "../world/Hash.ts"
import type { ChannelInfo } from "../world/Model.ts"
import { graphsOf, type GraphSpec } from "./GraphSpecs.ts"

const DAY = 86_400
const U32 = 4_294_967_296

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

// Salts of the decisions that are not about a graph's series.
const S_STATS = 0x57a7
const S_POINT = 0x9017

/** FNV-1a over UTF-16 units: a salt per graph and series name (adding a graph shifts no other values). */
function nameSalt(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Splits `total` by `weights` into integers summing to `total` (largest remainders, ties to the first). */
export function split(total: number, weights: ReadonlyArray<number>): Array<number> {
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
export function hourShape(hourOfDay: number): number {
  return 0.35 + 1.3 * Math.exp(-((hourOfDay - 19) ** 2) / 18) + 0.7 * Math.exp(-((hourOfDay - 9) ** 2) / 10)
}

/** The series of one channel's statistics. */
export class StatsSeries {
  /** The channel's key: every draw of its statistics is hashed from it. */
  readonly key: number
  /** Followers (members) at the end of the channel's creation day, the anchor of the growth graph. */
  readonly base: number
  private readonly graphs: ReadonlyArray<GraphSpec>
  private readonly origin: number
  private readonly growthSource: string

  constructor(seed: number, private readonly info: ChannelInfo) {
    const seedKey = hash(seed >>> 0, S_STATS, Math.floor(seed / U32) >>> 0)
    this.key = hash(seedKey, S_STATS, info.id)
    this.graphs = graphsOf(info)
    this.base = info.participantsCount
    this.origin = Math.floor(info.createdAt / DAY)
    this.growthSource = info.kind === "broadcast" ? "followers_graph" : "members_graph"
  }

  /** A uniform [0, 1) draw for (graph, series, n). */
  u(graph: string, series: string, n: number): number {
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
  total(day: number): number {
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
    const spec = this.graphs.find((g) => g.name === graph)!
    const weights = SHARES[graph]!.map((w, i) => {
      const series = spec.series[i]!
      return w * (0.6 + 0.8 * this.u(graph, `${series}#base`, 0)) * (0.85 + 0.3 * this.u(graph, series, day))
    })
    return split(total, weights)[s]!
  }

  /** Value of series `s` of daily graph `graph` on `day` (a day number). */
  daily(graph: string, s: number, day: number): number {
    const series = this.graphs.find((g) => g.name === graph)?.series[s] ?? ""
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
  topHour(graph: string, series: string, hour: number): number {
    const day = Math.floor(hour / 24)
    const daily = this.info.kind === "broadcast" ? this.views(day) : this.messages(day)
    return Math.floor((daily / 24) * hourShape(hour % 24) * (0.7 + 0.6 * this.u(graph, series, hour)))
  }

  /** Value of series `series` of the weekday graph `graph` on weekday `w` (0-6, Sunday first). */
  weekday(graph: string, series: string, w: number): number {
    return Math.floor(this.base * 0.03 * WEEK[w]! * (0.8 + 0.4 * this.u(graph, series, w)))
  }
}
