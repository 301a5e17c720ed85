/**
 * Discussion groups and comments, as Telegram has them: a broadcast channel may be linked to a megagroup that holds,
 * for each post, a discussion message (the post forwarded automatically) and the comments replying to it. The groups
 * are channels of the world (history, pts, difference, pushes); their generated messages are laid out in blocks per
 * post (Threads.ts) and their states built on first use, so a world whose groups nobody reads costs nothing more.
 */
import type { ChannelState } from "./ChannelState.ts"
import { type Appended, COMMENTER_BASE, COMMENTERS, GroupState } from "./GroupState.ts"
import { hash, hash63, S_COMMENT, S_GROUP } from "./Hash.ts"
import { historyIds, type Ranked } from "./History.ts"
import type { AddComments, ChannelInfo, CommentTruth, HistoryPage, HistoryQuery, Post, WorldEvent } from "./Model.ts"
import { repliesOf } from "./Posts.ts"
import { firstAtLeast, lastAtMost } from "./Search.ts"

/** A thread's comment ids ranked for `historyIds`. */
class Thread implements Ranked {
  readonly count: number
  constructor(private readonly ids: ReadonlyArray<number>, private readonly date: (id: number) => number) {
    this.count = ids.length
  }
  rankAtMost(x: number): number {
    return lastAtMost(this.ids, x) + 1
  }
  select(r: number): number {
    return this.ids[r - 1]!
  }
  previous(id: number): number {
    return this.ids[firstAtLeast(this.ids, id) - 1] ?? 0
  }
  firstIdDatedAtLeast(date: number): number {
    const at = this.ids.findIndex((id) => this.date(id) >= date)
    return at >= 0 ? this.ids[at]! : (this.ids[this.ids.length - 1] ?? 0) + 1
  }
}

/** What the discussion groups need of their world. */
export interface CommentWorld {
  now(): number
  asOf(): number
  /** A post (or group message) as it is now. */
  build(s: ChannelState, id: number): Post
  emit(event: WorldEvent): void
}

/** The world's discussion groups: their channel infos from the start, their states on first use. */
export class Discussions {
  readonly groups: ReadonlyArray<ChannelInfo>
  private readonly byId = new Map<number, { readonly info: ChannelInfo; readonly channel: ChannelState }>()
  private readonly states = new Map<number, GroupState>()

  constructor(channels: Iterable<ChannelState>, private readonly world: CommentWorld) {
    const groups: Array<ChannelInfo> = []
    for (const channel of channels) {
      const c = channel.info
      if (c.discussionGroupId === undefined) continue
      const info: ChannelInfo = {
        id: c.discussionGroupId,
        accessHash: hash63(channel.key, S_GROUP, 2),
        username: "",
        title: `${c.title} Chat`,
        about: `Comments of ${c.title}.`,
        kind: "megagroup",
        createdAt: c.createdAt,
        participantsCount: 10 + Math.floor(c.participantsCount / 20),
        statsDc: c.statsDc,
        adminUserIds: c.adminUserIds,
        // The same array: an account joining the channel joins its group (it gets the group's pushes).
        memberUserIds: c.memberUserIds,
        isPrivate: false,
        linkedChannelId: c.id,
      }
      groups.push(info)
      this.byId.set(info.id, { info, channel })
    }
    this.groups = groups
  }

  info(groupId: number): ChannelInfo | undefined {
    return this.byId.get(groupId)?.info
  }

  /** The group's state, built on first use. */
  state(groupId: number): GroupState | undefined {
    let s = this.states.get(groupId)
    if (s === undefined) {
      const entry = this.byId.get(groupId)
      if (entry === undefined) return undefined
      s = GroupState.create(entry.info, entry.channel, (id) => this.world.build(entry.channel, id))
      this.states.set(groupId, s)
    }
    return s
  }

  /** messages.getReplies over post `postId`'s comments. */
  replies(channel: ChannelState, postId: number, query: HistoryQuery): HistoryPage {
    const g = this.threadOf(channel, postId)
    const ids = g.commentIds(postId)
    const page = historyIds(new Thread(ids, (id) => g.dateOf(id)), query)
    return {
      posts: page.notModified ? [] : page.ids.map((id) => this.world.build(g, id)),
      count: ids.length,
      offsetIdOffset: page.offsetIdOffset,
      notModified: page.notModified,
    }
  }

  discussionMessage(channel: ChannelState, postId: number): Post {
    const g = this.threadOf(channel, postId)
    return this.world.build(g, this.discussionOf(g, postId))
  }

  truth(channel: ChannelState): CommentTruth {
    const posts = new Map<number, number>()
    let count = 0
    if (channel.info.discussionGroupId !== undefined) {
      for (let id = 1; id <= channel.maxId; id++) {
        if (!channel.exists(id)) continue
        const n = repliesOf(channel, id)
        if (n > 0) posts.set(id, n)
        count += n
      }
    }
    return { count, groupId: channel.info.discussionGroupId, posts }
  }

  add(channel: ChannelState, postId: number, options: AddComments): ReadonlyArray<Post> {
    const { count } = options
    if (!Number.isInteger(count) || count < 1) throw new RangeError("count must be a positive integer")
    const g = this.threadOf(channel, postId)
    const top = this.discussionOf(g, postId)
    let added = channel.addedComments.get(postId)
    if (added === undefined) channel.addedComments.set(postId, added = [])
    const out: Array<Post> = []
    for (let i = 0; i < count; i++) {
      const id = this.append(g, () => ({
        kind: "comment",
        postId,
        text: options.text ?? `Comment on post ${postId}`,
        fromUserId: options.fromUserId ?? COMMENTER_BASE + (hash(g.key, S_COMMENT, g.maxId + 1) % COMMENTERS),
        replyTo: { msgId: top },
      }))
      added.push(id)
      // The post's replies changed: its cached pages are stale.
      channel.version++
      out.push(this.world.build(g, id))
    }
    return out
  }

  /** The group of the channel, and post `postId` exists; MSG_ID_INVALID if not. */
  private threadOf(channel: ChannelState, postId: number): GroupState {
    const groupId = channel.info.discussionGroupId
    if (groupId === undefined || !channel.exists(postId)) throw new Error("MSG_ID_INVALID")
    return this.state(groupId)!
  }

  /** Post `postId`'s discussion message id, made now for a post published since the start that has none yet. */
  private discussionOf(g: GroupState, postId: number): number {
    return g.discussionId(postId) ??
      this.append(g, () => ({ kind: "discussion", postId }), (id) => g.threads.set(postId, id))
  }

  /** Appends a message to the group, dated now, moves its pts and pushes it; returns its id. */
  private append(g: GroupState, make: () => Appended, before?: (id: number) => void): number {
    const a = make()
    const date = this.world.now()
    const id = g.publish(date, this.world.asOf())
    g.appended.set(id, a)
    before?.(id)
    g.count++
    const pts = g.recordChange("new", [id], date)
    this.world.emit({ _tag: "NewPost", channelId: g.info.id, post: this.world.build(g, id), pts })
    return id
  }
}
