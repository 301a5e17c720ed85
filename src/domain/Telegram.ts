/**
 * What tgpulse asks of a Telegram account, in its own terms: the records the calls return (never GramJS objects) and
 * the port one connected account implements (`src/telegram/AccountAdapter.ts` does, over GramJS).
 */
import type { ProbedIds } from "./DeletionPlan.ts"
import type { Effect, Stream } from "effect"
import type { RepliesPage } from "./Comment.ts"
import type { Post } from "./Post.ts"
import type { ChannelStats, MessageStats, PublicForwardsPage, RawGraph } from "./Stats.ts"
import type { TelegramError } from "./TelegramError.ts"
import type { ChannelDifference, LiveEvent, MetricEvent } from "./Updates.ts"

/** A channel as Telegram describes it (access hash as a decimal string). */
export interface ChannelInfo {
  readonly id: number
  readonly accessHash: string
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  readonly participantsCount: number | null
}

/** A channel as the calls need it: id and (this account's) access hash. */
export interface ChannelRef {
  readonly id: number
  readonly accessHash: string
}

/** A channel the facade may re-resolve by username when an account refuses the cached access hash. */
export type NamedChannel = ChannelRef & { readonly username?: string | null }

/** channels.getFullChannel, as far as statistics and live updates go. */
export interface FullChannel {
  readonly canViewStats: boolean
  /** The DC that serves the channel's statistics (null when Telegram did not say). */
  readonly statsDc: number | null
  readonly participantsCount: number | null
  /** The channel's current pts (where live updates start). */
  readonly pts: number | null
  /** A broadcast channel's discussion group (linked_chat_id), as the answer's chats name it; null: none. */
  readonly linkedChat?: ChannelInfo | null
}

/** What an account's connection reports: a channel update, or that it (re)connected (updates may have been missed). */
export type AccountSignal = LiveEvent | { readonly _tag: "Connected" }

/** Counters of one post from messages.getMessagesViews. */
export interface PostViews {
  readonly msgId: number
  readonly views: number | null
  readonly forwards: number | null
  readonly replies: number | null
}

/** The arguments of messages.getHistory the collector uses (hash is always 0). */
export interface HistoryParams {
  readonly offsetId: number
  readonly addOffset: number
  readonly limit: number
  readonly maxId: number
  readonly minId: number
  readonly offsetDate?: number
}

/** One messages.getHistory page, normalized. */
export interface HistoryPage {
  /** The page's posts, newest first (service messages and unknown shapes left out: see `skipped`). */
  readonly posts: ReadonlyArray<Post>
  /** Every message id the page covered, skipped ones included (what the walk's cursor moves over). */
  readonly ids: ReadonlyArray<number>
  /** Messages of a shape tgpulse does not store. */
  readonly skipped: number
  /** Total messages in the channel. */
  readonly count: number
  /** Messages newer than the offset point, when Telegram says. */
  readonly offsetIdOffset: number | undefined
  /** The channel's pts when Telegram answered (the page is the channel as it was at this pts). */
  readonly pts: number | undefined
}

/** The calls of one connected account; every call has a timeout and fails with a TelegramError. */
export interface AccountClient {
  /** The account's label for logs and metrics (never a phone number or a session). */
  readonly account: string
  /** contacts.resolveUsername: a channel or supergroup (anything else is PeerUnavailable). */
  resolveUsername(username: string): Effect.Effect<ChannelInfo, TelegramError>
  /** channels.getChannels for a known id and access hash. */
  getChannel(id: number, accessHash: string): Effect.Effect<ChannelInfo, TelegramError>
  /** messages.getHistory, one page. */
  getHistory(channel: ChannelRef, params: HistoryParams): Effect.Effect<HistoryPage, TelegramError>
  /** messages.getDialogs: one page of `limit` (at most 100) dialogs from `offset`. */
  getDialogs(offset: DialogOffset, limit: number): Effect.Effect<DialogsPage, TelegramError>
  /** messages.checkChatInvite: the channel when the account is a member, else what the link leads to. */
  checkChatInvite(hash: string): Effect.Effect<InviteCheck, TelegramError>
  /** messages.importChatInvite: joins the channel of the link (USER_ALREADY_PARTICIPANT for a member). */
  importChatInvite(hash: string): Effect.Effect<ChannelInfo, TelegramError>
  /**
   * messages.getReplies: one page of the comments under post `postId` of broadcast `channel` (from its discussion
   * group), paginated like getHistory; `groupId` is the group that answered (undefined on an empty page).
   */
  getReplies(
    channel: ChannelRef,
    postId: number,
    params: HistoryParams,
  ): Effect.Effect<RepliesPage & { readonly groupId: number | undefined }, TelegramError>
  /** channels.getFullChannel: whether this account may view the channel's statistics, and on which DC. */
  getFullChannel(channel: ChannelRef): Effect.Effect<FullChannel, TelegramError>
  /**
   * Statistics calls, sent to `dc` (the channel's stats DC) through an exported sender for that DC, or on the main
   * connection when `dc` is the account's own DC or unknown: the main connection never moves. A call that reaches the
   * wrong DC fails with Migrate STATS (the caller follows it).
   */
  broadcastStats(channel: ChannelRef, dc: number | undefined): Effect.Effect<ChannelStats, TelegramError>
  megagroupStats(channel: ChannelRef, dc: number | undefined): Effect.Effect<ChannelStats, TelegramError>
  /** stats.loadAsyncGraph: a statsGraphAsync token (or a zoom token with `x`). */
  loadAsyncGraph(token: string, dc: number | undefined, x?: number): Effect.Effect<RawGraph, TelegramError>
  messageStats(channel: ChannelRef, msgId: number, dc: number | undefined): Effect.Effect<MessageStats, TelegramError>
  publicForwards(
    channel: ChannelRef,
    msgId: number,
    page: { readonly offset: string; readonly limit: number },
    dc: number | undefined,
  ): Effect.Effect<PublicForwardsPage, TelegramError>
  /** updates.getChannelDifference from `pts`, at most `limit` changes. */
  getChannelDifference(channel: ChannelRef, pts: number, limit: number): Effect.Effect<ChannelDifference, TelegramError>
  /** messages.getMessagesViews with increment = false (ids in the order given; missing posts are left out). */
  getMessagesViews(
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Effect.Effect<ReadonlyArray<PostViews>, TelegramError>
  /** messages.getMessagesReactions: the reactions of each post, as Reactions events. */
  getMessagesReactions(
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Effect.Effect<ReadonlyArray<MetricEvent>, TelegramError>
  /** channels.getMessages by ids (up to 100): the ids it returned a message for and those it answered messageEmpty. */
  getMessagesByIds(channel: ChannelRef, ids: ReadonlyArray<number>): Effect.Effect<ProbedIds, TelegramError>
  /**
   * Every channel update this account's connection receives, and Connected when it (re)connects, while the stream
   * runs; it survives reconnections through another proxy. Bounded: when the reader falls behind, the connection's
   * update dispatch waits (nothing is dropped).
   */
  readonly updates: Stream.Stream<AccountSignal>
  /** The DC of the account's main connection (undefined before it connects). */
  readonly homeDc: () => number | undefined
  /** Connects now (calls connect by themselves when needed). */
  readonly connect: Effect.Effect<void, TelegramError>
  /** The proxy of the current connection, masked (null: direct or not connected). */
  readonly proxy: () => string | null
}

// An account's dialogs and invite links: Telegram pages dialogs by the last one's top message date and id and its peer.

/** The peer of a dialog page's offset: its kind, bare id and access hash (as the account knows it). */
export interface DialogPeer {
  readonly kind: "channel" | "user" | "chat"
  readonly id: number
  readonly accessHash: string
}

/** Where a page of dialogs starts: after the dialog whose top message has this date and id and whose peer this is. */
export interface DialogOffset {
  readonly date: number
  readonly id: number
  readonly peer: DialogPeer | null
}

/** The first page's offset. */
export const DIALOGS_START: DialogOffset = { date: 0, id: 0, peer: null }

/** A channel or supergroup in an account's dialogs. */
export interface DialogChannel {
  readonly channel: ChannelInfo
  /** The account administers (or created) it. */
  readonly admin: boolean
}

/** One messages.getDialogs answer. */
export interface DialogsPage {
  /** The channels and supergroups of the page (users, bots and basic groups left out). */
  readonly channels: ReadonlyArray<DialogChannel>
  /** Dialogs of every kind in the page. */
  readonly size: number
  /** The next page's offset, or undefined when this page is the last. */
  readonly next: DialogOffset | undefined
}

/** What an invite link leads to, for the account that checked it. */
export type InviteCheck =
  | { readonly _tag: "Member"; readonly channel: ChannelInfo }
  | {
    readonly _tag: "NotMember"
    readonly title: string
    readonly kind: "broadcast" | "megagroup" | "chat"
    readonly participantsCount: number
  }
