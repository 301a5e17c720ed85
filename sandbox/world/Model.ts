/** Plain data shapes of the sandbox world, shared by the world, its method handlers and its admin API. */

export type ChannelKind = "broadcast" | "megagroup"

export interface ChannelInfo {
  /** Bare channel id (positive, as in PeerChannel). */
  readonly id: number
  readonly accessHash: bigint
  /** Empty for a private channel (private channels have no username, as on Telegram). */
  readonly username: string
  readonly title: string
  readonly about: string
  readonly kind: ChannelKind
  /** Unix seconds. */
  readonly createdAt: number
  readonly participantsCount: number
  /** DC that serves this channel's statistics. */
  readonly statsDc: number
  /** User ids (test accounts) that are admins of this channel. */
  readonly adminUserIds: ReadonlyArray<number>
  /**
   * User ids (test accounts) that joined this channel (they receive pushed updates); grows when an account joins
   * (`WorldApi.join`, an invite link).
   */
  readonly memberUserIds: ReadonlyArray<number>
  /** Private channels answer CHANNEL_PRIVATE to non-members. */
  readonly isPrivate: boolean
  /** The hash of the channel's invite link (`https://t.me/+HASH`); private channels have one. */
  readonly inviteHash?: string
  /** A broadcast channel's linked discussion group (a megagroup of the world, see Comments.ts), if it has one. */
  readonly discussionGroupId?: number
  /** A discussion group's broadcast channel. */
  readonly linkedChannelId?: number
}

export type MediaKind = "none" | "photo" | "video" | "document" | "poll" | "webpage"

export type EntityKind = "url" | "textUrl" | "mention" | "hashtag" | "bold"

export interface TextEntity {
  readonly kind: EntityKind
  /** UTF-16 offset and length, as Telegram counts them. */
  readonly offset: number
  readonly length: number
  /** Target of a textUrl entity. */
  readonly url?: string
}

export interface ForwardSource {
  readonly channelId: number
  readonly messageId: number
  /** Unix seconds. */
  readonly date: number
  /** A discussion message: the automatic forward also names the post as `saved_from_peer` / `saved_from_msg_id`. */
  readonly saved?: boolean
}

/** What a comment (a message of a discussion group) replies to. */
export interface ReplyTo {
  /** The discussion message, or the comment replied to. */
  readonly msgId: number
  /** The thread's discussion message, when `msgId` is a comment. */
  readonly topId?: number
}

export interface Reaction {
  readonly emoji: string
  readonly count: number
}

/** One post as it exists now (after edits and view growth). */
export interface Post {
  readonly channelId: number
  readonly id: number
  /** Unix seconds; non-decreasing with id. */
  readonly date: number
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
  readonly media: MediaKind
  readonly groupedId: bigint | undefined
  readonly postAuthor: string | undefined
  readonly forward: ForwardSource | undefined
  readonly replies: number
  readonly views: number
  readonly forwards: number
  readonly reactions: ReadonlyArray<Reaction>
  /** Unix seconds of the last edit, if any. */
  readonly editDate: number | undefined
  /** For megagroups: the author user id (posts in megagroups come from users). */
  readonly fromUserId: number | undefined
  /** Broadcast posts of a channel with a discussion group: the group (`replies` counts its comments there). */
  readonly commentsGroupId?: number | undefined
  /** Highest comment id of a post or discussion message with comments (`replies.max_id`). */
  readonly repliesMaxId?: number | undefined
  /** A discussion message: the channel it is sent as (`from_id`). */
  readonly fromChannelId?: number | undefined
  /** A comment: what it replies to. */
  readonly replyTo?: ReplyTo | undefined
}

/** Ground truth over the posts that exist now. */
export interface ChannelTruth {
  readonly count: number
  readonly minId: number
  readonly maxId: number
  readonly views: number
  readonly forwards: number
  readonly replies: number
  readonly reactions: number
  /** Ids in [1, maxId] that do not exist (deleted ranges and deletions), ascending. */
  readonly deletedIds: ReadonlyArray<number>
}

/** Parameters of messages.getHistory, already decoded to numbers. */
export interface HistoryQuery {
  readonly offsetId: number
  readonly offsetDate: number
  readonly addOffset: number
  readonly limit: number
  readonly maxId: number
  readonly minId: number
  readonly hash: bigint
}

export interface HistoryPage {
  /** Newest first, exactly as Telegram orders them. */
  readonly posts: ReadonlyArray<Post>
  /** Total number of posts in the channel. */
  readonly count: number
  /** offset_id_offset: the position of the first post sent, counted from the newest post (0 for the newest). */
  readonly offsetIdOffset: number
  /** True when the query's hash equals the hash of the result ids (answer messagesNotModified). */
  readonly notModified: boolean
}

/** A change that moved a channel's pts: what updates.getChannelDifference replays (the posts as they are now). */
export interface PtsChange {
  /** The channel's pts after the change. */
  readonly pts: number
  /** 1 for a new post or an edit, the number of ids for a deletion. */
  readonly ptsCount: number
  readonly kind: "new" | "edit" | "delete"
  readonly ids: ReadonlyArray<number>
}

/** A test account. */
export interface Account {
  readonly userId: number
  readonly accessHash: bigint
  readonly phone: string
  readonly firstName: string
  readonly username: string
  /** The 2FA password, if the account has one. */
  readonly password: string | undefined
  /** Server-provisioned 256-byte auth key for the main DC (what the ready session string carries). */
  readonly authKey: Uint8Array
}

/** A change to a channel that clients following it should see (Pushes.ts turns these into pushed updates). */
export type WorldEvent =
  | { readonly _tag: "NewPost"; readonly channelId: number; readonly post: Post; readonly pts: number }
  | { readonly _tag: "EditPost"; readonly channelId: number; readonly post: Post; readonly pts: number }
  | {
    readonly _tag: "DeletePosts"
    readonly channelId: number
    readonly ids: ReadonlyArray<number>
    readonly pts: number
  }
  | { readonly _tag: "Views"; readonly channelId: number; readonly id: number; readonly views: number }
  | { readonly _tag: "Forwards"; readonly channelId: number; readonly id: number; readonly forwards: number }
  | {
    readonly _tag: "Reactions"
    readonly channelId: number
    readonly id: number
    readonly reactions: ReadonlyArray<Reaction>
  }

/** The world's public surface (implemented by `World` in World.ts). Every method is synchronous and cheap. */
export interface WorldApi {
  readonly seed: number
  readonly accounts: ReadonlyArray<Account>
  /** Every channel, the private one included. */
  readonly channels: ReadonlyArray<ChannelInfo>
  /** The world's start, unix seconds: its history (channels, posts) lies behind it. */
  readonly start: number
  /**
   * The sandbox's clock, unix seconds: the wall clock plus every `advance`, never going back. Everything the sandbox
   * says is dated by it (new posts, edits, pts changes, pushed updates, update states, the config's expiry).
   */
  now(): number
  /** `now()` in milliseconds, not held back (msg_ids, salts, budgets and tokens run on it). */
  nowMs(): number
  /**
   * The instant views, forwards and statistics are reckoned at, unix seconds: `start` plus every `advance`. It stands
   * still between moves, so the truth is stable and deterministic for a seed whenever the sandbox runs.
   */
  asOf(): number
  /** Moves the clock forward (`now` and `asOf`); views and forwards grow with the posts' age at `asOf`. */
  advance(seconds: number): void
  channel(id: number): ChannelInfo | undefined
  channelByUsername(username: string): ChannelInfo | undefined
  /** The channel whose invite link has this hash. */
  channelByInvite(hash: string): ChannelInfo | undefined
  /** True when the account is a member or an admin of the channel. */
  isMember(channelId: number, userId: number): boolean
  /** Makes the account a member of the channel (it sees it in its dialogs, reads it, gets its pushes); false if it was. */
  join(channelId: number, userId: number): boolean
  /** The channels the account is a member or an admin of (its dialogs), in the world's order. */
  channelsOf(userId: number): ReadonlyArray<ChannelInfo>
  account(userId: number): Account | undefined
  accountByPhone(phone: string): Account | undefined
  /** messages.getHistory semantics, exactly as Telegram (see World.ts). */
  history(channelId: number, query: HistoryQuery): HistoryPage
  /** Posts by id; `undefined` where the id does not exist (never existed or deleted). */
  posts(channelId: number, ids: ReadonlyArray<number>): ReadonlyArray<Post | undefined>
  truth(channelId: number): ChannelTruth
  /** Publishes `count` new posts with ids above the current max; returns them. */
  publish(channelId: number, count: number): ReadonlyArray<Post>
  /** Edits a post's text (content changes, edit_date set to now). */
  edit(channelId: number, id: number, text?: string): Post
  /** Deletes posts; returns the ids that existed. */
  delete(channelId: number, ids: ReadonlyArray<number>): ReadonlyArray<number>
  /** Adds `delta` views to the given posts (all posts when `ids` is undefined); returns how many changed. */
  bumpViews(channelId: number, delta: number, ids?: ReadonlyArray<number>): number
  /**
   * Adds `delta` forwards to the given posts (all posts when `ids` is undefined, without events, as for views); returns
   * how many changed. Forwards never go below 0.
   */
  bumpForwards(channelId: number, delta: number, ids?: ReadonlyArray<number>): number
  /**
   * Adds `delta` (may be negative) to the post's count of the `emoji` reaction (never below 0; a count of 0 drops the
   * reaction); returns the post's reactions after, sorted by count descending. Throws MESSAGE_ID_INVALID.
   */
  react(channelId: number, id: number, emoji: string, delta: number): ReadonlyArray<Reaction>
  /** Number of posts that exist now (cheap; `truth` walks every post). */
  postCount(channelId: number): number
  /** The id of the post `n` places below the newest (0 = the newest), or undefined past the oldest. */
  nthNewest(channelId: number, n: number): number | undefined
  /** The channel's current pts (grows by one for every new post, edit and deleted id). */
  pts(channelId: number): number
  /** The date (`now()`) of the channel's latest change that moved pts; undefined when none since the start. */
  lastChangeDate(channelId: number): number | undefined
  /**
   * Changes with pts above `pts`, oldest first, or undefined when `pts` is older than the log (difference too long;
   * the posts that existed at the start are history, not changes).
   */
  changesSince(channelId: number, pts: number): ReadonlyArray<PtsChange> | undefined
  /** Changes every time anything in the channel changes (including the clock); a cache key. */
  version(channelId: number): number
  /** Subscribes to world changes; returns the unsubscribe function. */
  subscribe(listener: (event: WorldEvent) => void): () => void
  /**
   * The discussion groups linked to broadcast channels (megagroups reached by `channel(id)` like any channel, but not
   * listed in `channels`), in the order of their channels.
   */
  readonly groups: ReadonlyArray<ChannelInfo>
  /** messages.getReplies: a post's comments paged as getHistory pages posts (newest first). Throws MSG_ID_INVALID. */
  replies(channelId: number, postId: number, query: HistoryQuery): HistoryPage
  /** messages.getDiscussionMessage: the post's discussion message in its group. Throws MSG_ID_INVALID. */
  discussionMessage(channelId: number, postId: number): Post
  /** The comments that exist under the channel's existing posts. */
  commentTruth(channelId: number): CommentTruth
  /** Adds comments to a post, dated now, with ids above every message of the group; returns them. */
  addComments(channelId: number, postId: number, options: AddComments): ReadonlyArray<Post>
}

/** Ground truth of a channel's comments: all of them, and per post (posts with comments only). */
export interface CommentTruth {
  readonly count: number
  readonly groupId: number | undefined
  readonly posts: ReadonlyMap<number, number>
}

export interface AddComments {
  readonly count: number
  readonly text?: string
  /** The author. @default a commenter of the world's own */
  readonly fromUserId?: number
}
