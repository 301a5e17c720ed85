/**
 * The state of a discussion group (a megagroup of the world linked to a broadcast channel): its generated messages in
 * blocks per post of the channel (Threads.ts), ranked and dated without being listed, then the messages appended since
 * the start (discussion messages of new posts, added comments).
 */
import { ChannelState } from "./ChannelState.ts"
import { hash, S_COMMENT, S_GROUP } from "./Hash.ts"
import type { ChannelInfo, ChannelTruth, Post, Reaction, ReplyTo } from "./Model.ts"
import { REACTION_EMOJI } from "./Posts.ts"
import { lastAtMost } from "./Search.ts"
import { detectEntities } from "./Text.ts"
import { baseComments, COMMENT_SLOTS, discussionSlot, lastCommentId } from "./Threads.ts"

/** Posts per entry of a group's running count of generated messages. */
const CHUNK = 64
const NONE = new Int32Array(0)
/** Comments come from users COMMENTER_BASE ... COMMENTER_BASE + COMMENTERS - 1 (none is a test account). */
export const COMMENTER_BASE = 600_000_001
export const COMMENTERS = 997
const PHRASES: ReadonlyArray<string> = [
  "Great post, thanks!",
  "Interesting, any sources?",
  "I disagree with the second point.",
  "More on this: https://example.com/thread",
  "Finally someone said it #news",
  "Can you share the full report?",
  "This aged well.",
  "@sandbox_user_0 have a look",
]

export type Appended =
  | { readonly kind: "discussion"; readonly postId: number }
  | {
    readonly kind: "comment"
    readonly postId: number
    readonly text: string
    readonly fromUserId: number
    readonly replyTo: ReplyTo
  }

/** One generated comment in five has a reaction (`h`: the comment's hash), of 1-9. */
const reacted = (h: number) => (h >>> 20) % 5 === 0
const reactionCount = (h: number) => 1 + ((h >>> 24) % 9)

/** Slots of generated post `p` in its group: its discussion message and its comments (none if it never existed). */
function slotsOf(channel: ChannelState, p: number): number {
  return channel.inDeletedRange(p) ? 0 : 1 + baseComments(channel, p)
}

/** The state of a discussion group: its generated blocks, then what was appended since the start. */
export class GroupState extends ChannelState {
  /** Messages appended since the start (discussion messages of new posts, added comments), by id. */
  readonly appended = new Map<number, Appended>()
  /** Discussion messages of posts published since the start, by post id (made with their first comment). */
  readonly threads = new Map<number, number>()

  private constructor(
    info: ChannelInfo,
    key: number,
    readonly channel: ChannelState,
    /** cum[k]: generated messages of posts 1 ... k * CHUNK. */
    private readonly cum: Int32Array,
    count: number,
    /** The channel's post as it is now (a discussion message copies it). */
    private readonly post: (id: number) => Post,
  ) {
    super(
      info,
      key,
      channel.baseMaxId * COMMENT_SLOTS,
      NONE,
      NONE,
      NONE,
      channel.span,
      channel.epoch,
      count,
      channel.ptsLogSize,
    )
  }

  static create(info: ChannelInfo, channel: ChannelState, post: (id: number) => Post): GroupState {
    const posts = channel.baseMaxId
    const cum = new Int32Array(Math.floor(posts / CHUNK) + 1)
    let total = 0
    for (let p = 1; p <= posts; p++) {
      total += slotsOf(channel, p)
      if (p % CHUNK === 0) cum[p / CHUNK] = total
    }
    return new GroupState(info, hash(channel.key, S_GROUP, 1), channel, cum, total, post)
  }

  /** A group shows its channel's posts (discussion messages copy them): it changes with them too. */
  override cacheVersion(): number {
    return this.version + this.channel.version
  }

  /** True for the ids of a generated block that hold no message (and those of posts that never existed). */
  override inDeletedRange(id: number): boolean {
    if (id > this.baseMaxId) return false
    const p = Math.floor((id - 1) / COMMENT_SLOTS) + 1
    return (id - 1) % COMMENT_SLOTS >= slotsOf(this.channel, p)
  }

  override rankAtMost(x: number): number {
    if (x < 1) return 0
    if (x > this.maxId) x = this.maxId
    x = Math.floor(x)
    const base = this.generatedAtMost(Math.min(x, this.baseMaxId)) + Math.max(0, x - this.baseMaxId)
    return base - (lastAtMost(this.deleted, x) + 1)
  }

  /** Generated messages with ids <= x (x <= baseMaxId). */
  private generatedAtMost(x: number): number {
    const full = Math.floor(x / COMMENT_SLOTS)
    const k = Math.floor(full / CHUNK)
    let rank = this.cum[k]!
    for (let p = k * CHUNK + 1; p <= full; p++) rank += slotsOf(this.channel, p)
    const rest = x - full * COMMENT_SLOTS
    if (rest > 0) rank += Math.min(rest, slotsOf(this.channel, full + 1))
    return rank
  }

  /** Generated messages follow their post, spread over the time to the next one (dates never go down with ids). */
  override dateOf(id: number): number {
    if (id > this.baseMaxId) return this.publishedDates[id - this.baseMaxId - 1] ?? Number.POSITIVE_INFINITY
    const p = Math.floor((id - 1) / COMMENT_SLOTS) + 1
    const slot = (id - 1) % COMMENT_SLOTS
    const date = this.channel.dateOf(p)
    if (slot === 0) return date
    const next = p < this.channel.baseMaxId ? this.channel.dateOf(p + 1) : date + 60
    return date + Math.floor((slot * Math.max(0, next - date)) / COMMENT_SLOTS)
  }

  override addDeleted(ids: ReadonlyArray<number>): void {
    super.addDeleted(ids)
    for (const id of ids) {
      const postId = this.commentOf(id)
      if (postId === undefined) continue
      this.channel.deletedComments.set(postId, (this.channel.deletedComments.get(postId) ?? 0) + 1)
      this.channel.version++
    }
  }

  /** The post a comment id belongs to (undefined for discussion messages and other ids). */
  private commentOf(id: number): number | undefined {
    if (id > this.baseMaxId) {
      const a = this.appended.get(id)
      return a?.kind === "comment" ? a.postId : undefined
    }
    return (id - 1) % COMMENT_SLOTS === 0 ? undefined : Math.floor((id - 1) / COMMENT_SLOTS) + 1
  }

  /** The comments of post `p` that exist, ascending. */
  commentIds(p: number): Array<number> {
    const out: Array<number> = []
    const top = discussionSlot(p)
    for (let j = 1, n = baseComments(this.channel, p); j <= n; j++) {
      if (!this.deletedSet.has(top + j)) out.push(top + j)
    }
    for (const id of this.channel.addedComments.get(p) ?? []) if (!this.deletedSet.has(id)) out.push(id)
    return out
  }

  /** The id of post `p`'s discussion message, or undefined when it has none yet (a post published since the start). */
  discussionId(p: number): number | undefined {
    return p <= this.channel.baseMaxId ? discussionSlot(p) : this.threads.get(p)
  }

  override message(id: number): Post | undefined {
    if (id > this.baseMaxId) {
      const a = this.appended.get(id)
      if (a === undefined) return undefined
      if (a.kind === "discussion") return this.discussion(a.postId, id)
      return this.comment(id, a.text, a.fromUserId, a.replyTo, [])
    }
    const p = Math.floor((id - 1) / COMMENT_SLOTS) + 1
    const slot = (id - 1) % COMMENT_SLOTS
    if (slot === 0) return this.discussion(p, id)
    const h = hash(this.key, S_COMMENT, id)
    const top = discussionSlot(p)
    // One comment in four after the first answers an earlier comment of the thread.
    const replyTo = slot > 1 && (h >>> 28) % 4 === 0 ? { msgId: top + 1 + ((h >>> 12) % (slot - 1)), topId: top } : {
      msgId: top,
    }
    const reactions: Array<Reaction> = reacted(h)
      ? [{ emoji: REACTION_EMOJI[(h >>> 4) % REACTION_EMOJI.length]!, count: reactionCount(h) }]
      : []
    const text = PHRASES[h % PHRASES.length]!
    return this.comment(id, text, COMMENTER_BASE + ((h >>> 8) % COMMENTERS), replyTo, reactions)
  }

  /**
   * The group's truth: its messages (views and forwards 0, as comments have none), `replies` = its comments, `reactions`
   * theirs; `deletedIds` lists the ids deleted in the group, not the unused ids of the generated blocks.
   */
  override ownTruth(): ChannelTruth {
    let minId = 0
    let maxId = 0
    let comments = 0
    let reactions = 0
    for (let p = 1; p <= this.channel.baseMaxId; p++) {
      const top = discussionSlot(p)
      for (let slot = 0, slots = slotsOf(this.channel, p); slot < slots; slot++) {
        const id = top + slot
        if (this.deletedSet.has(id)) continue
        if (minId === 0) minId = id
        maxId = id
        if (slot === 0) continue
        comments++
        const h = hash(this.key, S_COMMENT, id)
        if (reacted(h)) reactions += reactionCount(h)
      }
    }
    for (let id = this.baseMaxId + 1; id <= this.maxId; id++) {
      if (this.deletedSet.has(id)) continue
      if (minId === 0) minId = id
      maxId = id
      if (this.appended.get(id)?.kind === "comment") comments++
    }
    return {
      count: this.count,
      minId,
      maxId,
      views: 0,
      forwards: 0,
      replies: comments,
      reactions,
      deletedIds: this.deleted.filter((id) => id <= maxId),
    }
  }

  private comment(
    id: number,
    text: string,
    fromUserId: number,
    replyTo: ReplyTo,
    reactions: ReadonlyArray<Reaction>,
  ): Post {
    const edit = this.edits.get(id)
    return {
      channelId: this.info.id,
      id,
      date: this.dateOf(id),
      text: edit?.text ?? text,
      entities: edit?.entities ?? detectEntities(text),
      media: "none",
      groupedId: undefined,
      postAuthor: undefined,
      forward: undefined,
      replies: 0,
      views: 0,
      forwards: 0,
      reactions,
      editDate: edit?.editDate,
      fromUserId,
      commentsGroupId: undefined,
      repliesMaxId: undefined,
      fromChannelId: undefined,
      replyTo,
    }
  }

  /** Post `p`'s discussion message: the post as it is now, forwarded from the channel, with its comment count. */
  private discussion(p: number, id: number): Post {
    const post = this.post(p)
    const channelId = this.channel.info.id
    return {
      channelId: this.info.id,
      id,
      date: this.dateOf(id),
      text: post.text,
      entities: post.entities,
      media: post.media,
      groupedId: undefined,
      postAuthor: undefined,
      forward: { channelId, messageId: p, date: post.date, saved: true },
      replies: post.replies,
      views: 0,
      forwards: 0,
      reactions: [],
      editDate: undefined,
      fromUserId: undefined,
      commentsGroupId: undefined,
      repliesMaxId: lastCommentId(this.channel, p),
      fromChannelId: channelId,
      replyTo: undefined,
    }
  }
}
