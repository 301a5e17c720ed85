/** Plain data shapes of channel statistics: scalar values, top lists, public forwards, and the admin API's rows. */

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
