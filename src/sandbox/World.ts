/** The sandbox's deterministic world: channels, accounts and lazily generated posts, with mutations and getHistory. */
import { createHash } from "node:crypto"
import type {
  Account,
  ChannelInfo,
  ChannelTruth,
  HistoryPage,
  HistoryQuery,
  MediaKind,
  Post,
  PtsChange,
  Reaction,
  TextEntity,
  WorldApi,
  WorldEvent,
} from "./Model.ts"

export interface WorldOptions {
  readonly seed: number
  /** Public channels (a private one is added after them). */
  readonly channels: number
  /** Existing posts in every public channel at the start. */
  readonly posts: number
  /** Test accounts. @default 3 */
  readonly accounts?: number
  /** DC ids available; channel i's statistics live on `statsDcs[i % length]`. @default [2, 4] */
  readonly statsDcs?: ReadonlyArray<number>
  /** Changes kept in each channel's pts log. @default PTS_LOG_SIZE */
  readonly ptsLogSize?: number
  /** Unix seconds of the world's start (channels' creation). @default 1_767_225_600 (2026-01-01) */
  readonly epoch?: number
}

/** First public channel id; channel i is `CHANNEL_ID_BASE + i`, the private one follows the public ones. */
export const CHANNEL_ID_BASE = 1_000_000
/** First account's user id; account i is `USER_ID_BASE + i`. */
export const USER_ID_BASE = 777_000_001
/** Changes kept in a channel's pts log by default (Telegram keeps "usually" 100,000 pts of channel difference). */
export const PTS_LOG_SIZE = 100_000
/** Posts of the private channel. */
export const PRIVATE_POSTS = 100
/** The 2FA password of the second account. */
export const SANDBOX_PASSWORD = "sandbox-2fa"

const DEFAULT_EPOCH = 1_767_225_600
const DAY = 86_400
const U32 = 4_294_967_296
const MASK64 = (1n << 64n) - 1n

/** The emoji reactions posts get. */
export const REACTION_EMOJI: ReadonlyArray<string> = ["👍", "❤️", "🔥", "😂", "😮", "😢", "🎉"]
const WORDS: ReadonlyArray<string> = [
  "market",
  "update",
  "release",
  "weather",
  "coffee",
  "city",
  "report",
  "team",
  "launch",
  "server",
  "metrics",
  "channel",
  "today",
  "analysis",
  "growth",
  "signal",
  "results",
  "morning",
  "evening",
  "story",
  "data",
  "price",
  "night",
  "music",
  "travel",
  "science",
  "sports",
  "local",
  "global",
  "review",
]
const NON_ASCII: ReadonlyArray<string> = ["café", "naïve", "Zürich", "日本", "crème", "façade", "Ελλάδα", "привет"]
const EMOJI: ReadonlyArray<string> = ["🔥", "🚀", "👍🏽", "🎉", "📈", "❤️", "✨"]
const HASHTAGS: ReadonlyArray<string> = ["news", "update", "breaking", "tech", "daily", "café", "sandbox"]
const SIGNATURES: ReadonlyArray<string> = ["Alice Editor", "Bob Writer", "Chloé Martin", "Dmitri K."]
const TOPICS: ReadonlyArray<string> = ["News", "Tech", "Markets", "Travel", "Science", "Sports", "Music", "Food"]

// Hash salts: one per independent decision about a post.
const S_TEXT = 1
const S_MEDIA = 2
const S_ALBUM = 3
const S_ALBUM_ID = 4
const S_AUTHOR = 5
const S_FORWARD = 6
const S_REPLIES = 7
const S_VIEWS = 8
const S_FORWARDS = 9
const S_REACTIONS = 10
const S_EDIT = 11
const S_FROM = 12
const S_RANGES = 13
const S_CHANNEL = 14
const S_REACTION_COUNT = 32

/** lowbias32: a fast 32-bit integer mixer (bijective). */
function mix32(x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** A uint32 hash of (key, salt, n). */
export function hash(key: number, salt: number, n: number): number {
  return mix32((mix32((key ^ Math.imul(salt, 0x9e3779b9)) >>> 0) ^ n) >>> 0)
}

/** A positive 63-bit value from a key. */
function hash63(key: number, salt: number, n: number): bigint {
  const hi = hash(key, salt, n) & 0x7fffffff
  const lo = hash(key, salt + 1, n)
  const value = (BigInt(hi) << 32n) | BigInt(lo)
  return value === 0n ? 1n : value
}

/** Tiny sequential generator (splitmix-style counter through mix32). */
class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed | 0
  }
  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0
    return mix32(this.state)
  }
  int(n: number): number {
    return this.next() % n
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[this.int(xs.length)]!
  }
}

/** Index of the last element `<= x` in an ascending array, or -1. */
function lastAtMost(xs: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** Index of the first element `>= x` in an ascending array (length when none). */
function firstAtLeast(xs: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Hash of a list of message ids (core.telegram.org/api/offsets), as a signed 64-bit TL long. */
export function historyHash(ids: ReadonlyArray<number>): bigint {
  let h = 0n
  for (const id of ids) {
    h ^= h >> 21n
    h ^= (h << 35n) & MASK64
    h ^= h >> 4n
    h = (h + BigInt(id)) & MASK64
  }
  return BigInt.asIntN(64, h)
}

interface Edit {
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
  readonly editDate: number
}

/** Additions to a per-post counter (views, forwards): channel-wide bumps plus per-post deltas. */
class Bumps {
  /** Channel-wide bump k applies to ids <= upTo[k]; prefix[k] = sum of the deltas before k. */
  private readonly upTo: Array<number> = []
  private readonly prefix: Array<number> = [0]
  private readonly deltas = new Map<number, number>()

  /** Adds `delta` to every id up to `maxId`. */
  addAll(maxId: number, delta: number): void {
    this.upTo.push(maxId)
    this.prefix.push(this.prefix[this.prefix.length - 1]! + delta)
  }

  add(id: number, delta: number): void {
    this.deltas.set(id, (this.deltas.get(id) ?? 0) + delta)
  }

  forget(id: number): void {
    this.deltas.delete(id)
  }

  /** The sum of the bumps that apply to `id`. */
  of(id: number): number {
    let total = this.deltas.size === 0 ? 0 : this.deltas.get(id) ?? 0
    if (this.upTo.length > 0) {
      const k = firstAtLeast(this.upTo, id)
      total += this.prefix[this.prefix.length - 1]! - this.prefix[k]!
    }
    return total
  }
}

/** Mutable state of one channel; the generated base (posts, deleted ranges) stays implicit. */
class ChannelState {
  /** Published posts' dates; published id = baseMaxId + 1 + index. */
  readonly publishedDates: Array<number> = []
  /** Ids deleted through `delete`, ascending (never ids of the deleted ranges). */
  deleted: Array<number> = []
  readonly deletedSet = new Set<number>()
  readonly edits = new Map<number, Edit>()
  readonly views = new Bumps()
  readonly forwards = new Bumps()
  /** Reaction count changes per post, by emoji (on top of the generated reactions). */
  readonly reactionDeltas = new Map<number, Map<string, number>>()
  maxId: number
  count: number
  pts: number
  /** World-clock seconds of the latest change that moved pts. */
  lastChangeDate: number | undefined = undefined
  version = 1
  /** Changes that moved pts, oldest first; beyond `ptsLogSize` the oldest fall off (difference too long). */
  changes: Array<PtsChange> = []

  constructor(
    readonly info: ChannelInfo,
    readonly key: number,
    readonly baseMaxId: number,
    /** Deleted ranges [start, end), ascending and disjoint; cum[k] = deleted ids in ranges before k. */
    readonly rangeStart: Int32Array,
    readonly rangeEnd: Int32Array,
    readonly rangeCum: Int32Array,
    /** Seconds from the epoch to the base post with id baseMaxId. */
    readonly span: number,
    readonly epoch: number,
    baseCount: number,
    private readonly ptsLogSize: number,
  ) {
    this.maxId = baseMaxId
    this.count = baseCount
    this.pts = baseCount
  }

  /** True when the id is in one of the generated deleted ranges. */
  inDeletedRange(id: number): boolean {
    const k = lastAtMost(this.rangeStart, id)
    return k >= 0 && id < this.rangeEnd[k]!
  }

  exists(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.maxId && !this.inDeletedRange(id) && !this.deletedSet.has(id)
  }

  /** Number of existing ids `<= x`. */
  rankAtMost(x: number): number {
    if (x < 1) return 0
    if (x > this.maxId) x = this.maxId
    x = Math.floor(x)
    const k = lastAtMost(this.rangeStart, x)
    const inRanges = k < 0 ? 0 : this.rangeCum[k]! + Math.min(x, this.rangeEnd[k]! - 1) - this.rangeStart[k]! + 1
    return x - inRanges - (lastAtMost(this.deleted, x) + 1)
  }

  /** The r-th existing id counted from the oldest (1-based); requires 1 <= r <= count. */
  select(r: number): number {
    let lo = 1
    let hi = this.maxId
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (this.rankAtMost(mid) >= r) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** The largest existing id below `id`, or 0. */
  previous(id: number): number {
    for (let k = id - 1, steps = 0; k >= 1; k--, steps++) {
      if (this.exists(k)) return k
      if (steps >= 16) {
        const r = this.rankAtMost(k)
        return r === 0 ? 0 : this.select(r)
      }
    }
    return 0
  }

  /** Post date of any id in [1, maxId] (non-decreasing with id). */
  dateOf(id: number): number {
    if (id <= this.baseMaxId) return this.epoch + Math.floor((id * this.span) / this.baseMaxId)
    return this.publishedDates[id - this.baseMaxId - 1] ?? Number.POSITIVE_INFINITY
  }

  /** Smallest id in [1, maxId + 1] whose date is >= `date`. */
  firstIdDatedAtLeast(date: number): number {
    let lo = 1
    let hi = this.maxId + 1
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (this.dateOf(mid) >= date) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Moves pts by `ids.length` for a deletion (1 for a new post or an edit) and logs the change made at `date`. */
  recordChange(kind: PtsChange["kind"], ids: ReadonlyArray<number>, date: number): number {
    const ptsCount = kind === "delete" ? ids.length : 1
    this.pts += ptsCount
    this.lastChangeDate = date
    this.version++
    this.changes.push({ pts: this.pts, ptsCount, kind, ids })
    // Trim in blocks, so that a full log costs O(1) per change on average.
    if (this.changes.length >= 2 * this.ptsLogSize) this.changes = this.changes.slice(-this.ptsLogSize)
    return this.pts
  }

  /** Changes with pts above `pts`, oldest first; undefined when the log no longer reaches back to `pts`. */
  changesSince(pts: number): ReadonlyArray<PtsChange> | undefined {
    const first = this.changes[0]
    const logStart = first === undefined ? this.pts : first.pts - first.ptsCount
    if (pts < logStart) return undefined
    let lo = 0
    let hi = this.changes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.changes[mid]!.pts <= pts) lo = mid + 1
      else hi = mid
    }
    return this.changes.slice(lo)
  }

  addDeleted(ids: ReadonlyArray<number>): void {
    for (const id of ids) this.deletedSet.add(id)
    if (ids.length > 16) {
      this.deleted = [...this.deleted, ...ids].sort((a, b) => a - b)
      return
    }
    // A few ids at a time (the activity generator): insert in place, no sort of the whole list per deletion.
    for (const id of ids) this.deleted.splice(firstAtLeast(this.deleted, id), 0, id)
  }
}

/** The generated content of a post's text. */
interface Content {
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
}

interface EntityToken {
  readonly kind: TextEntity["kind"]
  readonly text: string
  readonly url?: string
}

/** The world: channels, accounts and posts, all derived from the seed; posts are generated per (channel, id). */
export class World implements WorldApi {
  private clock: number
  private readonly listeners = new Set<(event: WorldEvent) => void>()
  private readonly states: ReadonlyMap<number, ChannelState>
  private readonly byUsername: ReadonlyMap<string, ChannelInfo>
  private readonly byUserId: ReadonlyMap<number, Account>
  private readonly byPhone: ReadonlyMap<string, Account>
  /** Ids of the public channels, ascending (forward sources). */
  private readonly publicIds: ReadonlyArray<number>

  private constructor(
    readonly seed: number,
    readonly accounts: ReadonlyArray<Account>,
    readonly channels: ReadonlyArray<ChannelInfo>,
    states: ReadonlyArray<ChannelState>,
    now: number,
  ) {
    this.clock = now
    this.states = new Map(states.map((s) => [s.info.id, s]))
    this.byUsername = new Map(channels.map((c) => [c.username.toLowerCase(), c]))
    this.byUserId = new Map(accounts.map((a) => [a.userId, a]))
    this.byPhone = new Map(accounts.map((a) => [a.phone, a]))
    this.publicIds = channels.filter((c) => !c.isPrivate).map((c) => c.id)
  }

  static create(options: WorldOptions): World {
    const { seed, channels: channelCount, posts } = options
    const accountCount = options.accounts ?? 3
    const dcs = options.statsDcs ?? [2, 4]
    const epoch = options.epoch ?? DEFAULT_EPOCH
    if (!Number.isFinite(seed)) throw new RangeError("seed must be a finite number")
    for (const [name, n] of [["channels", channelCount], ["posts", posts], ["accounts", accountCount]] as const) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`)
    }
    if (dcs.length === 0) throw new RangeError("statsDcs must not be empty")
    const worldKey = mix32((mix32(seed >>> 0) ^ mix32(Math.floor(seed / U32) >>> 0)) + 0x5eed)

    const accounts: Array<Account> = Array.from({ length: accountCount }, (_, i) => {
      const userId = USER_ID_BASE + i
      // Telegram test numbers are 99966XYYYY with X the home DC; every third account lives on another DC.
      const home = i % 3 === 2 && dcs.length > 1 ? dcs[1]! : dcs[0]!
      return {
        userId,
        accessHash: hash63(worldKey, 100, userId),
        phone: `99966${home}${String(i + 1).padStart(4, "0")}`,
        firstName: "Test",
        username: `sandbox_user_${i}`,
        password: i === 1 ? SANDBOX_PASSWORD : undefined,
        authKey: authKey(seed, userId),
      }
    })
    const admin0 = accounts[0]?.userId
    const admin1 = accounts[1]?.userId
    const members = accounts.map((a) => a.userId)

    const span = Math.max(posts * 60, DAY)
    const infos: Array<ChannelInfo> = []
    const states: Array<ChannelState> = []
    for (let i = 0; i <= channelCount; i++) {
      const isPrivate = i === channelCount
      const id = CHANNEL_ID_BASE + i
      const key = hash(worldKey, S_CHANNEL, id)
      const topic = TOPICS[hash(key, S_CHANNEL, 1) % TOPICS.length]!
      const admins: Array<number> = []
      // Account 0 administers every public channel but one in four (i % 4 == 1), megagroups included.
      if (!isPrivate && i % 4 !== 1 && admin0 !== undefined) admins.push(admin0)
      if (!isPrivate && admin1 !== undefined) admins.push(admin1)
      const info: ChannelInfo = {
        id,
        accessHash: hash63(key, S_CHANNEL, 2),
        username: isPrivate ? "sandbox_private" : `sandbox_chan_${i}`,
        title: isPrivate ? "Sandbox Private" : `Sandbox ${topic} ${i}`,
        about: isPrivate
          ? "A private sandbox channel: nobody is a member."
          : `Deterministic sandbox channel ${i} about ${topic.toLowerCase()}.`,
        kind: !isPrivate && i % 4 === 3 ? "megagroup" : "broadcast",
        createdAt: epoch,
        participantsCount: 500 + (hash(key, S_CHANNEL, 3) % 199_501),
        statsDc: dcs[i % dcs.length]!,
        adminUserIds: admins,
        memberUserIds: isPrivate ? [] : members,
        isPrivate,
      }
      const count = isPrivate ? PRIVATE_POSTS : posts
      const ranges = deletedRanges(key, count)
      infos.push(info)
      states.push(
        new ChannelState(
          info,
          key,
          ranges.maxId,
          ranges.start,
          ranges.end,
          ranges.cum,
          span,
          epoch,
          count,
          options.ptsLogSize ?? PTS_LOG_SIZE,
        ),
      )
    }
    return new World(seed, accounts, infos, states, epoch + span + DAY)
  }

  now(): number {
    return this.clock
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError("the clock only moves forward")
    this.clock += Math.floor(seconds)
    for (const s of this.states.values()) s.version++
  }

  channel(id: number): ChannelInfo | undefined {
    return this.states.get(id)?.info
  }

  channelByUsername(username: string): ChannelInfo | undefined {
    return this.byUsername.get(username.replace(/^@/, "").toLowerCase())
  }

  account(userId: number): Account | undefined {
    return this.byUserId.get(userId)
  }

  accountByPhone(phone: string): Account | undefined {
    return this.byPhone.get(phone.replace(/[\s+]/g, ""))
  }

  history(channelId: number, query: HistoryQuery): HistoryPage {
    const s = this.state(channelId)
    const count = s.count
    let limit = Math.min(100, Math.max(0, Math.trunc(query.limit)))
    if (limit === 0) limit = 20
    let offset = 0
    if (query.offsetId > 0) offset = count - s.rankAtMost(query.offsetId - 1)
    else if (query.offsetDate > 0) offset = count - s.rankAtMost(s.firstIdDatedAtLeast(query.offsetDate) - 1)
    const start = offset + Math.trunc(query.addOffset)
    const from = Math.max(0, start)
    const to = Math.min(count, start + limit)
    const ids: Array<number> = []
    // offset_id_offset is "the absolute position of messages[0]": how many posts are newer than the first one sent.
    let position = Math.min(from, count)
    if (from < to) {
      let id = s.select(count - from)
      for (let i = from; i < to && id > 0; i++) {
        if ((query.maxId <= 0 || id < query.maxId) && (query.minId <= 0 || id > query.minId)) {
          if (ids.length === 0) position = i
          ids.push(id)
        }
        if (i + 1 < to) id = s.previous(id)
      }
    }
    const asked = BigInt.asIntN(64, query.hash)
    const notModified = asked !== 0n && asked === historyHash(ids)
    return {
      posts: notModified ? [] : ids.map((id) => this.build(s, id)),
      count,
      offsetIdOffset: position,
      notModified,
    }
  }

  posts(channelId: number, ids: ReadonlyArray<number>): ReadonlyArray<Post | undefined> {
    const s = this.state(channelId)
    return ids.map((id) => (s.exists(id) ? this.build(s, id) : undefined))
  }

  truth(channelId: number): ChannelTruth {
    const s = this.state(channelId)
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
      const date = s.dateOf(id)
      views += this.viewsOf(s, id, date)
      forwards += this.forwardsOf(s, id, date)
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
    for (let i = 0; i < count; i++) {
      s.publishedDates.push(this.clock)
      s.maxId++
      s.count++
      const pts = s.recordChange("new", [s.maxId], this.clock)
      const post = this.build(s, s.maxId)
      out.push(post)
      this.emit({ _tag: "NewPost", channelId, post, pts })
    }
    return out
  }

  edit(channelId: number, id: number, text?: string): Post {
    const s = this.state(channelId)
    if (!s.exists(id)) throw new Error("MESSAGE_ID_INVALID")
    const current = this.build(s, id)
    const next = text ?? `${current.text} (edited)`
    const entities = next.startsWith(current.text) ? current.entities : detectEntities(next)
    s.edits.set(id, { text: next, entities, editDate: this.clock })
    const pts = s.recordChange("edit", [id], this.clock)
    const post = this.build(s, id)
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
    const pts = s.recordChange("delete", removed, this.clock)
    this.emit({ _tag: "DeletePosts", channelId, ids: removed, pts })
    return removed
  }

  bumpViews(channelId: number, delta: number, ids?: ReadonlyArray<number>): number {
    const s = this.state(channelId)
    if (ids === undefined) return this.bumpAll(s, s.views, delta)
    const changed = this.bumpSome(s, s.views, delta, ids)
    for (const id of changed) {
      this.emit({ _tag: "Views", channelId, id, views: this.viewsOf(s, id, s.dateOf(id)) })
    }
    return changed.length
  }

  bumpForwards(channelId: number, delta: number, ids?: ReadonlyArray<number>): number {
    const s = this.state(channelId)
    if (ids === undefined) return this.bumpAll(s, s.forwards, delta)
    const changed = this.bumpSome(s, s.forwards, delta, ids)
    for (const id of changed) {
      this.emit({ _tag: "Forwards", channelId, id, forwards: this.forwardsOf(s, id, s.dateOf(id)) })
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
    return this.state(channelId).version
  }

  subscribe(listener: (event: WorldEvent) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private emit(event: WorldEvent): void {
    for (const listener of [...this.listeners]) listener(event)
  }

  private state(channelId: number): ChannelState {
    const s = this.states.get(channelId)
    if (!s) throw new Error("CHANNEL_INVALID")
    return s
  }

  /** Views now: grows with age towards the post's base, plus bumps. */
  private viewsOf(s: ChannelState, id: number, date: number): number {
    const h = hash(s.key, S_VIEWS, id)
    const base = Math.floor(s.info.participantsCount * (0.05 + (0.6 * h) / U32)) + 10
    const age = Math.max(0, this.clock - date)
    const grown = Math.floor(base * (1 - Math.exp(-age / DAY))) + 1 + (h & 3)
    return Math.max(0, grown + s.views.of(id))
  }

  private forwardsOf(s: ChannelState, id: number, date: number): number {
    const base = Math.floor(s.info.participantsCount * 0.02 * (hash(s.key, S_FORWARDS, id) / U32))
    const age = Math.max(0, this.clock - date)
    return Math.max(0, Math.floor(base * (1 - Math.exp(-age / (2 * DAY)))) + s.forwards.of(id))
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

  /** The post as it exists now (the caller checked that it exists). */
  private build(s: ChannelState, id: number): Post {
    const { key, info } = s
    const date = s.dateOf(id)
    const edited = s.edits.get(id)
    const content = edited ?? writeText(new Rng(hash(key, S_TEXT, id)), info.id, id, this.publicIds.length)
    const groupedId = albumOf(s, id)
    const mediaRoll = hash(key, S_MEDIA, id)
    const media: MediaKind = groupedId !== undefined ? (mediaRoll & 1 ? "video" : "photo") : mediaOf(mediaRoll % 100)
    const authorRoll = hash(key, S_AUTHOR, id)
    const forwardRoll = hash(key, S_FORWARD, id)
    let forward: Post["forward"] = undefined
    const others = this.publicIds.length - (info.isPrivate ? 0 : 1)
    if (others > 0 && forwardRoll % 100 < 15) {
      const h2 = hash(key, S_FORWARD + 100, id)
      const pick = this.publicIds[h2 % others]!
      forward = {
        channelId: pick >= info.id && !info.isPrivate ? pick + 1 : pick,
        messageId: 1 + (hash(key, S_FORWARD + 200, id) % Math.max(1, id * 2)),
        date: date - 60 - (h2 % (7 * DAY)),
      }
    }
    const editRoll = hash(key, S_EDIT, id)
    const baseEdit = id <= s.baseMaxId && editRoll % 100 < 30 ? date + 60 + (editRoll % (DAY / 2)) : undefined
    const fromRoll = hash(key, S_FROM, id)
    return {
      channelId: info.id,
      id,
      date,
      text: content.text,
      entities: content.entities,
      media,
      groupedId,
      postAuthor: info.kind === "broadcast" && authorRoll % 2 === 0
        ? SIGNATURES[(authorRoll >>> 1) % SIGNATURES.length]!
        : undefined,
      forward,
      replies: repliesOf(s, id),
      views: this.viewsOf(s, id, date),
      forwards: this.forwardsOf(s, id, date),
      reactions: reactionsOf(s, id),
      editDate: edited?.editDate ?? baseEdit,
      fromUserId: info.kind === "megagroup" && this.accounts.length > 0
        ? this.accounts[fromRoll % this.accounts.length]!.userId
        : undefined,
    }
  }
}

/** 256 bytes from sha256 in counter mode over (seed, userId); never starts with a zero byte. */
function authKey(seed: number, userId: number): Uint8Array {
  const key = new Uint8Array(256)
  for (let block = 0; block < 8; block++) {
    const digest = createHash("sha256").update(`tgpulse-sandbox-auth-key/${seed}/${userId}/${block}`).digest()
    key.set(digest, block * 32)
  }
  if (key[0] === 0) key[0] = 1
  return key
}

/** Sparse deleted ranges (1-5 ids every ~300 ids) laid out so that exactly `count` ids exist. */
function deletedRanges(
  key: number,
  count: number,
): { start: Int32Array; end: Int32Array; cum: Int32Array; maxId: number } {
  const start: Array<number> = []
  const end: Array<number> = []
  const cum: Array<number> = []
  let existing = 0
  let next = 1
  let deleted = 0
  for (let k = 0;; k++) {
    const h = hash(key, S_RANGES, k)
    const run = 1 + (h % 599)
    if (existing + run >= count) {
      next += count - existing
      break
    }
    existing += run
    next += run
    const length = 1 + ((h >>> 16) % 5)
    start.push(next)
    end.push(next + length)
    cum.push(deleted)
    deleted += length
    next += length
  }
  return { start: Int32Array.from(start), end: Int32Array.from(end), cum: Int32Array.from(cum), maxId: next - 1 }
}

function mediaOf(roll: number): MediaKind {
  if (roll < 40) return "none"
  if (roll < 65) return "photo"
  if (roll < 75) return "video"
  if (roll < 83) return "document"
  if (roll < 88) return "poll"
  return "webpage"
}

/** Album block size: each block of ids may hold one album of 2-5 consecutive ids. */
const ALBUM_BLOCK = 20

/** The grouped id of the album holding `id`, if any (albums never touch the generated deleted ranges). */
function albumOf(s: ChannelState, id: number): bigint | undefined {
  const block = Math.floor((id - 1) / ALBUM_BLOCK)
  const h = hash(s.key, S_ALBUM, block)
  if (h % 100 >= 25) return undefined
  const first = block * ALBUM_BLOCK + 1 + ((h >>> 8) % (ALBUM_BLOCK - 5))
  const last = first + 1 + ((h >>> 20) % 4)
  if (id < first || id > last) return undefined
  if (first <= s.baseMaxId && last > s.baseMaxId) return undefined
  for (let k = first; k <= last; k++) if (s.inDeletedRange(k)) return undefined
  return hash63(s.key, S_ALBUM_ID, block)
}

function repliesOf(s: ChannelState, id: number): number {
  const h = hash(s.key, S_REPLIES, id)
  return h % 100 < 30 ? 1 + ((h >>> 8) % 25) : 0
}

function reactionKinds(s: ChannelState, id: number): number {
  const h = hash(s.key, S_REACTIONS, id)
  return h % 100 < 40 ? 0 : 1 + ((h >>> 8) % 4)
}

function reactionCount(s: ChannelState, id: number, i: number): number {
  return 1 + (hash(s.key, S_REACTION_COUNT + i, id) % 300)
}

function reactionTotal(s: ChannelState, id: number): number {
  if (s.reactionDeltas.has(id)) return reactionsOf(s, id).reduce((sum, r) => sum + r.count, 0)
  let total = 0
  for (let i = reactionKinds(s, id) - 1; i >= 0; i--) total += reactionCount(s, id, i)
  return total
}

/** The post's reactions now: the generated ones plus `react` changes, by count descending (ties keep their order). */
function reactionsOf(s: ChannelState, id: number): ReadonlyArray<Reaction> {
  const n = reactionKinds(s, id)
  const deltas = s.reactionDeltas.get(id)
  if (n === 0 && deltas === undefined) return []
  const emoji = [...REACTION_EMOJI]
  const rng = new Rng(hash(s.key, S_REACTIONS + 100, id))
  const out: Array<Reaction> = []
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(emoji.length - i)
    const picked = emoji[j]!
    emoji[j] = emoji[i]!
    out.push({ emoji: picked, count: reactionCount(s, id, i) })
  }
  out.sort((a, b) => b.count - a.count)
  if (deltas === undefined) return out
  const merged = out.map((r) => ({ emoji: r.emoji, count: r.count + (deltas.get(r.emoji) ?? 0) }))
  for (const [e, d] of deltas) if (!out.some((r) => r.emoji === e)) merged.push({ emoji: e, count: d })
  return merged.filter((r) => r.count > 0).sort((a, b) => b.count - a.count)
}

/** A post's text: sentences of words with url, textUrl, mention, hashtag and bold entities (UTF-16 offsets). */
function writeText(rng: Rng, channelId: number, id: number, publicChannels: number): Content {
  const tokens: Array<string | EntityToken> = []
  const words = 8 + rng.int(23)
  for (let i = 0; i < words; i++) {
    const roll = rng.int(100)
    tokens.push(roll < 6 ? rng.pick(NON_ASCII) : roll < 10 ? rng.pick(EMOJI) : rng.pick(WORDS))
  }
  const specials: Array<EntityToken> = []
  if (rng.int(100) < 35) {
    specials.push({ kind: "url", text: `https://example.com/${rng.pick(WORDS)}/${channelId}-${id}` })
  }
  if (rng.int(100) < 20) {
    specials.push({ kind: "textUrl", text: rng.pick(WORDS), url: `https://example.org/read/${channelId}/${id}` })
  }
  if (publicChannels > 0 && rng.int(100) < 20) {
    specials.push({ kind: "mention", text: `@sandbox_chan_${rng.int(publicChannels)}` })
  }
  if (rng.int(100) < 30) specials.push({ kind: "hashtag", text: `#${rng.pick(HASHTAGS)}` })
  if (rng.int(100) < 20) specials.push({ kind: "bold", text: rng.pick(WORDS) })
  for (const token of specials) tokens.splice(rng.int(tokens.length + 1), 0, token)
  if (rng.int(100) < 35) tokens.unshift(rng.int(2) === 0 ? rng.pick(EMOJI) : rng.pick(NON_ASCII))

  let text = ""
  const entities: Array<TextEntity> = []
  let left = 0
  for (const token of tokens) {
    let capital = false
    if (left === 0) {
      if (text.length > 0) text += rng.int(4) === 0 ? "! " : ". "
      left = 4 + rng.int(6)
      capital = true
    } else {
      text += " "
    }
    left--
    if (typeof token === "string") {
      text += capital && /^[a-z]/.test(token) ? token[0]!.toUpperCase() + token.slice(1) : token
    } else {
      const offset = text.length
      text += token.text
      entities.push(
        token.url === undefined
          ? { kind: token.kind, offset, length: token.text.length }
          : { kind: token.kind, offset, length: token.text.length, url: token.url },
      )
    }
  }
  text += "."
  if (text.length < 50) text += " Stay tuned for more updates from the sandbox."
  return { text, entities }
}

/** Entities Telegram would detect in a plain text: urls, mentions and hashtags. */
function detectEntities(text: string): ReadonlyArray<TextEntity> {
  const out: Array<TextEntity> = []
  for (const m of text.matchAll(/https?:\/\/[^\s]+/g)) {
    const url = m[0].replace(/[.,!?;:)]+$/, "")
    if (url.length > 0) out.push({ kind: "url", offset: m.index, length: url.length })
  }
  for (const m of text.matchAll(/(^|[^\w@/])(@[A-Za-z][A-Za-z0-9_]{3,31})/g)) {
    out.push({ kind: "mention", offset: m.index + m[1]!.length, length: m[2]!.length })
  }
  for (const m of text.matchAll(/(^|[^\w#/])(#[\p{L}\p{N}_]+)/gu)) {
    out.push({ kind: "hashtag", offset: m.index + m[1]!.length, length: m[2]!.length })
  }
  return out.sort((a, b) => a.offset - b.offset)
}
