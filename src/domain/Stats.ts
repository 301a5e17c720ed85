/**
 * Telegram's official statistics as plain data: what the Telegram adapter makes of stats.getBroadcastStats,
 * stats.getMegagroupStats, stats.getMessageStats and stats.getMessagePublicForwards. No GramJS here.
 */

/** One statsGraph field as Telegram sent it. */
export type RawGraph =
  /** `json` is the DataJSON text exactly as sent (it may be malformed: it is stored raw all the same). */
  | { readonly _tag: "Graph"; readonly json: string; readonly zoomToken: string | undefined }
  /** Loadable with stats.loadAsyncGraph on the stats DC, for a while. */
  | { readonly _tag: "Async"; readonly token: string }
  /** Telegram's (localized) reason for not drawing it, e.g. "Not enough data to display". */
  | { readonly _tag: "Error"; readonly error: string }

/** A scalar: StatsAbsValueAndPrev (current, previous) or StatsPercentValue (part as current, total). */
export interface StatsValue {
  /** The field in snake case, e.g. "views_per_post", "enabled_notifications". */
  readonly name: string
  readonly current: number
  readonly previous: number | null
  readonly total: number | null
}

export interface ChannelStats {
  readonly kind: "broadcast" | "megagroup"
  /** The period the values describe, UNIX seconds. */
  readonly period: { readonly minDate: number; readonly maxDate: number }
  readonly values: ReadonlyArray<StatsValue>
  /** Every `*_graph` field, named in snake case (e.g. "followers_graph"), in the order Telegram sent them. */
  readonly graphs: ReadonlyArray<{ readonly name: string; readonly graph: RawGraph }>
  /** Everything else (recent posts' interactions, top posters, admins, inviters), JSON-safe, for `stats_raw`. */
  readonly extra: Readonly<Record<string, unknown>>
  /** recent_posts_interactions of a broadcast channel: the posts Telegram itself counts as recent. */
  readonly recentPosts: ReadonlyArray<{ readonly msgId: number; readonly views: number; readonly forwards: number }>
}

/** stats.getMessageStats: one post's graphs. */
export interface MessageStats {
  readonly graphs: ReadonlyArray<{ readonly name: string; readonly graph: RawGraph }>
}

/** A message in a public channel that forwarded a post. */
export interface PublicForward {
  readonly channelId: number
  readonly channelUsername: string | null
  readonly channelTitle: string | null
  readonly msgId: number
  /** UNIX seconds. */
  readonly date: number
  readonly views: number | null
}

export interface PublicForwardsPage {
  /** All forwards, over every page. */
  readonly count: number
  readonly forwards: ReadonlyArray<PublicForward>
  /** Absent on the last page. */
  readonly nextOffset: string | undefined
}

/** "followersGraph" → "followers_graph" (GramJS names fields in camel case; Telegram's schema in snake case). */
export const snakeCase = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

// --- what is stored ------------------------------------------------------------------------------------------------

export interface RawEntry {
  readonly key: string
  readonly kind: "graph" | "error" | "summary"
  readonly data: string | null
  readonly error: string | null
}

export interface DailyPoint {
  /** YYYY-MM-DD (UTC). */
  readonly day: string
  readonly metric: string
  readonly value: number
}

export interface TimedPoint {
  /** UNIX milliseconds. */
  readonly x: number
  readonly metric: string
  readonly value: number
}

/** One channel's statistics as fetched at once: written in one transaction. */
export interface ChannelStatsWrite {
  readonly channelId: number
  readonly raw: ReadonlyArray<RawEntry>
  readonly daily: ReadonlyArray<DailyPoint>
  readonly hourly: ReadonlyArray<TimedPoint>
  /** The period's first and last day (YYYY-MM-DD); values are kept per last day. */
  readonly period: { readonly start: string; readonly end: string }
  readonly values: ReadonlyArray<StatsValue>
}

/** One post's statistics: written in one transaction. */
export interface PostStatsWrite {
  readonly channelId: number
  readonly msgId: number
  readonly raw: ReadonlyArray<RawEntry>
  readonly series: ReadonlyArray<TimedPoint & { readonly granularity: "daily" | "hourly" }>
  /** Every public forward found (all pages); undefined when they were not fetched. */
  readonly forwards: ReadonlyArray<PublicForward> | undefined
}
