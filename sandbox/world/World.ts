/** The sandbox's deterministic world: channels, accounts and lazily generated posts, with mutations and getHistory. */
import type { Bumps } from "./Bumps.ts"
import type { ChannelState } from "./ChannelState.ts"
import { Discussions } from "./Comments.ts"
import { genesis, type WorldOptions } from "./Genesis.ts"
import { historyIds } from "./History.ts"
import type {
  Account,
  AddComments,
  ChannelInfo,
  ChannelTruth,
  CommentTruth,
  HistoryPage,
  HistoryQuery,
  Post,
  PtsChange,
  Reaction,
  WorldApi,
  WorldEvent,
} from "./Model.ts"
import { Posts, reactionsOf, reactionTotal, repliesOf } from "./Posts.ts"
import { detectEntities } from "./Text.ts"

/** What `World.create` takes: the world's options and the wall clock it tells "now" by. */
export interface WorldCreateOptions extends WorldOptions {
  /** The wall clock, milliseconds. @default Date.now */
  readonly clock?: () => number
}

/**
 * The world: channels, accounts and posts, all derived from the seed; posts are generated per (channel, id).
 *
 * One clock: `now()` is the wall clock plus every move of `advance`, and dates everything the world says (new posts,
 * edits, pts changes). Its history lies behind `start`. Views and forwards age on `asOf()` (the start plus the moves),
 * which stands still between moves, so the truth the tests compare with never depends on when they ran.
 */
export class World implements WorldApi {
  /** Seconds the clock was moved forward in all (`advance`). */
  private moved = 0
  /** The latest `now()` told (dates never go back, even if the wall clock does). */
  private told = 0
  private readonly listeners = new Set<(event: WorldEvent) => void>()
  private readonly states: ReadonlyMap<number, ChannelState>
  private readonly byUsername: ReadonlyMap<string, ChannelInfo>
  private readonly byUserId: ReadonlyMap<number, Account>
  private readonly byPhone: ReadonlyMap<string, Account>
  /** Ids of the public channels, ascending (forward sources). */
  private readonly publicIds: ReadonlyArray<number>
  /** Builds the posts and counts their views and forwards (aged at `asOf`). */
  private readonly builder: Posts
  /** The discussion groups of broadcast channels and their comments (Comments.ts). */
  private readonly discussions: Discussions
  readonly groups: ReadonlyArray<ChannelInfo>

  private constructor(
    readonly seed: number,
    readonly accounts: ReadonlyArray<Account>,
    readonly channels: ReadonlyArray<ChannelInfo>,
    states: ReadonlyArray<ChannelState>,
    readonly start: number,
    private readonly wallMs: () => number,
  ) {
    this.told = start
    this.states = new Map(states.map((s) => [s.info.id, s]))
    this.byUsername = new Map(channels.filter((c) => c.username !== "").map((c) => [c.username.toLowerCase(), c]))
    this.byUserId = new Map(accounts.map((a) => [a.userId, a]))
    this.byPhone = new Map(accounts.map((a) => [a.phone, a]))
    this.publicIds = channels.filter((c) => !c.isPrivate).map((c) => c.id)
    this.builder = new Posts({ publicIds: this.publicIds, accounts, asOf: () => this.asOf() })
    this.discussions = new Discussions(states, {
      now: () => this.now(),
      asOf: () => this.asOf(),
      build: (s, id) => this.builder.build(s, id),
      emit: (event) => this.emit(event),
    })
    this.groups = this.discussions.groups
  }

  static create(options: WorldCreateOptions): World {
    const clock = options.clock ?? Date.now
    const start = genesis(options, options.start ?? Math.floor(clock() / 1000))
    return new World(options.seed, start.accounts, start.channels, start.states, start.start, clock)
  }

  now(): number {
    const now = Math.floor(this.wallMs() / 1000) + this.moved
    if (now > this.told) this.told = now
    return this.told
  }

  nowMs(): number {
    return this.wallMs() + this.moved * 1000
  }

  asOf(): number {
    return this.start + this.moved
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError("the clock only moves forward")
    this.moved += Math.floor(seconds)
    for (const s of this.states.values()) s.version++
  }

  channel(id: number): ChannelInfo | undefined {
    return this.states.get(id)?.info ?? this.discussions.info(id)
  }

  channelByUsername(username: string): ChannelInfo | undefined {
    return this.byUsername.get(username.replace(/^@/, "").toLowerCase())
  }

  channelByInvite(hash: string): ChannelInfo | undefined {
    return hash === "" ? undefined : this.channels.find((c) => c.inviteHash === hash)
  }

  isMember(channelId: number, userId: number): boolean {
    const info = this.state(channelId).info
    return info.memberUserIds.includes(userId) || info.adminUserIds.includes(userId)
  }

  join(channelId: number, userId: number): boolean {
    const s = this.state(channelId)
    if (this.account(userId) === undefined) throw new RangeError(`no test account ${userId}`)
    if (this.isMember(channelId, userId)) return false
    // Genesis gives every channel an array of its own: the members grow in place, so everyone holding the channel
    // (pushes, access checks) sees the new member.
    const members = s.info.memberUserIds as Array<number>
    members.push(userId)
    s.version++
    return true
  }

  channelsOf(userId: number): ReadonlyArray<ChannelInfo> {
    return this.channels.filter((c) => c.memberUserIds.includes(userId) || c.adminUserIds.includes(userId))
  }

  account(userId: number): Account | undefined {
    return this.byUserId.get(userId)
  }

  accountByPhone(phone: string): Account | undefined {
    return this.byPhone.get(phone.replace(/[\s+]/g, ""))
  }

  history(channelId: number, query: HistoryQuery): HistoryPage {
    const s = this.state(channelId)
    const { ids, offsetIdOffset, notModified } = historyIds(s, query)
    return {
      posts: notModified ? [] : ids.map((id) => this.builder.build(s, id)),
      count: s.count,
      offsetIdOffset,
      notModified,
    }
  }

  posts(channelId: number, ids: ReadonlyArray<number>): ReadonlyArray<Post | undefined> {
    const s = this.state(channelId)
    return ids.map((id) => (s.exists(id) ? this.builder.build(s, id) : undefined))
  }

  truth(channelId: number): ChannelTruth {
    const s = this.state(channelId)
    const own = s.ownTruth()
    if (own !== undefined) return own
    const deletedIds: Array<number> = []
    let views = 0
    let forwards = 0
    let replies = 0
    let reactions = 0
    let minId = 0
    let maxId = 0
    let r = 0
    let d = 0
    const ranges = s.rangeStart.length
    for (let id = 1; id <= s.maxId; id++) {
      while (r < ranges && s.rangeEnd[r]! <= id) r++
      if (r < ranges && s.rangeStart[r]! <= id) {
        deletedIds.push(id)
        continue
      }
      while (d < s.deleted.length && s.deleted[d]! < id) d++
      if (s.deleted[d] === id) {
        deletedIds.push(id)
        continue
      }
      if (minId === 0) minId = id
      maxId = id
      views += this.builder.views(s, id)
      forwards += this.builder.forwards(s, id)
      replies += repliesOf(s, id)
      reactions += reactionTotal(s, id)
    }
    while (deletedIds.length > 0 && deletedIds[deletedIds.length - 1]! > maxId) deletedIds.pop()
    return { count: s.count, minId, maxId, views, forwards, replies, reactions, deletedIds }
  }

  publish(channelId: number, count: number): ReadonlyArray<Post> {
    const s = this.state(channelId)
    if (!Number.isInteger(count) || count < 0) throw new RangeError("count must be a non-negative integer")
    const out: Array<Post> = []
    const date = this.now()
    const asOf = this.asOf()
    for (let i = 0; i < count; i++) {
      const id = s.publish(date, asOf)
      s.count++
      const pts = s.recordChange("new", [id], date)
      const post = this.builder.build(s, id)
      out.push(post)
      this.emit({ _tag: "NewPost", channelId, post, pts })
    }
    return out
  }

  edit(channelId: number, id: number, text?: string): Post {
    const s = this.state(channelId)
    if (!s.exists(id)) throw new Error("MESSAGE_ID_INVALID")
    const current = this.builder.build(s, id)
    const next = text ?? `${current.text} (edited)`
    const entities = next.startsWith(current.text) ? current.entities : detectEntities(next)
    const date = this.now()
    s.edits.set(id, { text: next, entities, editDate: date })
    const pts = s.recordChange("edit", [id], date)
    const post = this.builder.build(s, id)
    this.emit({ _tag: "EditPost", channelId, post, pts })
    return post
  }

  delete(channelId: number, ids: ReadonlyArray<number>): ReadonlyArray<number> {
    const s = this.state(channelId)
    const removed: Array<number> = []
    const seen = new Set<number>()
    for (const id of ids) {
      if (seen.has(id) || !s.exists(id)) continue
      seen.add(id)
      removed.push(id)
    }
    if (removed.length === 0) return removed
    s.addDeleted(removed)
    for (const id of removed) {
      s.edits.delete(id)
      s.views.forget(id)
      s.forwards.forget(id)
      s.reactionDeltas.delete(id)
    }
    s.count -= removed.length
    const pts = s.recordChange("delete", removed, this.now())
    this.emit({ _tag: "DeletePosts", channelId, ids: removed, pts })
    return removed
  }

  bumpViews(channelId: number, delta: number, ids?: ReadonlyArray<number>): number {
    const s = this.state(channelId)
    if (ids === undefined) return this.bumpAll(s, s.views, delta)
    const changed = this.bumpSome(s, s.views, delta, ids)
    for (const id of changed) {
      this.emit({ _tag: "Views", channelId, id, views: this.builder.views(s, id) })
    }
    return changed.length
  }

  bumpForwards(channelId: number, delta: number, ids?: ReadonlyArray<number>): number {
    const s = this.state(channelId)
    if (ids === undefined) return this.bumpAll(s, s.forwards, delta)
    const changed = this.bumpSome(s, s.forwards, delta, ids)
    for (const id of changed) {
      this.emit({ _tag: "Forwards", channelId, id, forwards: this.builder.forwards(s, id) })
    }
    return changed.length
  }

  react(channelId: number, id: number, emoji: string, delta: number): ReadonlyArray<Reaction> {
    const s = this.state(channelId)
    if (!Number.isInteger(delta)) throw new RangeError("delta must be an integer")
    if (typeof emoji !== "string" || emoji === "") throw new RangeError("emoji must be a non-empty string")
    if (!s.exists(id)) throw new Error("MESSAGE_ID_INVALID")
    const before = reactionsOf(s, id)
    const current = before.find((r) => r.emoji === emoji)?.count ?? 0
    const applied = Math.max(-current, delta)
    if (applied === 0) return before
    let deltas = s.reactionDeltas.get(id)
    if (deltas === undefined) s.reactionDeltas.set(id, deltas = new Map())
    deltas.set(emoji, (deltas.get(emoji) ?? 0) + applied)
    s.version++
    const reactions = reactionsOf(s, id)
    this.emit({ _tag: "Reactions", channelId, id, reactions })
    return reactions
  }

  postCount(channelId: number): number {
    return this.state(channelId).count
  }

  nthNewest(channelId: number, n: number): number | undefined {
    const s = this.state(channelId)
    if (!Number.isInteger(n) || n < 0 || n >= s.count) return undefined
    return s.select(s.count - n)
  }

  pts(channelId: number): number {
    return this.state(channelId).pts
  }

  lastChangeDate(channelId: number): number | undefined {
    return this.state(channelId).lastChangeDate
  }

  changesSince(channelId: number, pts: number): ReadonlyArray<PtsChange> | undefined {
    return this.state(channelId).changesSince(pts)
  }

  version(channelId: number): number {
    return this.state(channelId).cacheVersion()
  }

  replies(channelId: number, postId: number, query: HistoryQuery): HistoryPage {
    return this.discussions.replies(this.state(channelId), postId, query)
  }

  discussionMessage(channelId: number, postId: number): Post {
    return this.discussions.discussionMessage(this.state(channelId), postId)
  }

  commentTruth(channelId: number): CommentTruth {
    return this.discussions.truth(this.state(channelId))
  }

  addComments(channelId: number, postId: number, options: AddComments): ReadonlyArray<Post> {
    return this.discussions.add(this.state(channelId), postId, options)
  }

  subscribe(listener: (event: WorldEvent) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private emit(event: WorldEvent): void {
    for (const listener of [...this.listeners]) listener(event)
  }

  private state(channelId: number): ChannelState {
    const s = this.states.get(channelId) ?? this.discussions.state(channelId)
    if (!s) throw new Error("CHANNEL_INVALID")
    return s
  }

  /** Adds `delta` to `counter` for every post (no events, as for a clock move); returns how many posts. */
  private bumpAll(s: ChannelState, counter: Bumps, delta: number): number {
    if (!Number.isInteger(delta)) throw new RangeError("delta must be an integer")
    if (s.count === 0) return 0
    counter.addAll(s.maxId, delta)
    s.version++
    return s.count
  }

  /** Adds `delta` to `counter` for the `ids` that exist; returns them (each once). */
  private bumpSome(s: ChannelState, counter: Bumps, delta: number, ids: ReadonlyArray<number>): Array<number> {
    if (!Number.isInteger(delta)) throw new RangeError("delta must be an integer")
    const changed = [...new Set(ids)].filter((id) => s.exists(id))
    for (const id of changed) counter.add(id, delta)
    if (changed.length > 0) s.version++
    return changed
  }
}
