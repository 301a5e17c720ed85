/**
 * Posts as they exist now: generated from the seed (media, albums, authors, forwards, replies, reactions), changed by
 * their channel's state (edits, bumps, reactions) and aged at the world's `asOf` (views and forwards grow).
 */
import type { ChannelState } from "./ChannelState.ts"
import {
  hash,
  hash63,
  Rng,
  S_ALBUM,
  S_ALBUM_ID,
  S_AUTHOR,
  S_EDIT,
  S_FORWARD,
  S_FORWARDS,
  S_FROM,
  S_MEDIA,
  S_REACTION_COUNT,
  S_REACTIONS,
  S_REPLIES,
  S_TEXT,
  S_VIEWS,
} from "./Hash.ts"
import type { Account, MediaKind, Post, Reaction } from "./Model.ts"
import { baseComments, lastCommentId } from "./Threads.ts"
import { writeText } from "./Text.ts"

const DAY = 86_400
const U32 = 4_294_967_296

/** The emoji reactions posts get. */
export const REACTION_EMOJI: ReadonlyArray<string> = ["👍", "❤️", "🔥", "😂", "😮", "😢", "🎉"]
const SIGNATURES: ReadonlyArray<string> = ["Alice Editor", "Bob Writer", "Chloé Martin", "Dmitri K."]

/** What posts depend on beyond their channel. */
export interface PostWorld {
  /** Ids of the public channels, ascending (forward sources). */
  readonly publicIds: ReadonlyArray<number>
  readonly accounts: ReadonlyArray<Account>
  /** The instant counters are reckoned at, unix seconds: it moves only with the clock's moves (`WorldApi.asOf`). */
  asOf(): number
}

/** Builds posts as they are now, and counts what grows with their age. */
export class Posts {
  constructor(private readonly world: PostWorld) {}

  /** Views now: grows with age towards the post's base, plus bumps. */
  views(s: ChannelState, id: number): number {
    const h = hash(s.key, S_VIEWS, id)
    const base = Math.floor(s.info.participantsCount * (0.05 + (0.6 * h) / U32)) + 10
    const age = Math.max(0, this.world.asOf() - s.agedFrom(id))
    const grown = Math.floor(base * (1 - Math.exp(-age / DAY))) + 1 + (h & 3)
    return Math.max(0, grown + s.views.of(id))
  }

  /** Forwards now: grow with age towards the post's base, plus bumps. */
  forwards(s: ChannelState, id: number): number {
    const base = Math.floor(s.info.participantsCount * 0.02 * (hash(s.key, S_FORWARDS, id) / U32))
    const age = Math.max(0, this.world.asOf() - s.agedFrom(id))
    return Math.max(0, Math.floor(base * (1 - Math.exp(-age / (2 * DAY)))) + s.forwards.of(id))
  }

  /** The post as it exists now (the caller checked that it exists). */
  build(s: ChannelState, id: number): Post {
    const own = s.message(id)
    if (own !== undefined) return own
    const { key, info } = s
    const date = s.dateOf(id)
    const edited = s.edits.get(id)
    const content = edited ?? writeText(new Rng(hash(key, S_TEXT, id)), info.id, id, this.world.publicIds.length)
    const groupedId = albumOf(s, id)
    const mediaRoll = hash(key, S_MEDIA, id)
    const media: MediaKind = groupedId !== undefined ? (mediaRoll & 1 ? "video" : "photo") : mediaOf(mediaRoll % 100)
    const authorRoll = hash(key, S_AUTHOR, id)
    const forwardRoll = hash(key, S_FORWARD, id)
    let forward: Post["forward"] = undefined
    const others = this.world.publicIds.length - (info.isPrivate ? 0 : 1)
    if (others > 0 && forwardRoll % 100 < 15) {
      const h2 = hash(key, S_FORWARD + 100, id)
      const pick = this.world.publicIds[h2 % others]!
      forward = {
        channelId: pick >= info.id && !info.isPrivate ? pick + 1 : pick,
        messageId: 1 + (hash(key, S_FORWARD + 200, id) % Math.max(1, id * 2)),
        date: date - 60 - (h2 % (7 * DAY)),
      }
    }
    const editRoll = hash(key, S_EDIT, id)
    const baseEdit = id <= s.baseMaxId && editRoll % 100 < 30 ? date + 60 + (editRoll % (DAY / 2)) : undefined
    const fromRoll = hash(key, S_FROM, id)
    const replies = repliesOf(s, id)
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
      replies,
      commentsGroupId: info.discussionGroupId,
      repliesMaxId: replies === 0 || info.discussionGroupId === undefined ? undefined : lastCommentId(s, id),
      views: this.views(s, id),
      forwards: this.forwards(s, id),
      reactions: reactionsOf(s, id),
      editDate: edited?.editDate ?? baseEdit,
      fromUserId: info.kind === "megagroup" && this.world.accounts.length > 0
        ? this.world.accounts[fromRoll % this.world.accounts.length]!.userId
        : undefined,
    }
  }
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

/**
 * A post's `replies`: a broadcast post's comments in its discussion group (none without a group), a megagroup
 * message's generated thread replies.
 */
export function repliesOf(s: ChannelState, id: number): number {
  if (s.info.discussionGroupId !== undefined) {
    // The maps are empty but where the admin API added or deleted comments: no lookups per post in a large world.
    let n = baseComments(s, id)
    if (s.addedComments.size > 0) n += s.addedComments.get(id)?.length ?? 0
    if (s.deletedComments.size > 0) n -= s.deletedComments.get(id) ?? 0
    return n
  }
  if (s.info.kind === "broadcast") return 0
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

export function reactionTotal(s: ChannelState, id: number): number {
  if (s.reactionDeltas.has(id)) return reactionsOf(s, id).reduce((sum, r) => sum + r.count, 0)
  let total = 0
  for (let i = reactionKinds(s, id) - 1; i >= 0; i--) total += reactionCount(s, id, i)
  return total
}

/** The post's reactions now: the generated ones plus `react` changes, by count descending (ties keep their order). */
export function reactionsOf(s: ChannelState, id: number): ReadonlyArray<Reaction> {
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
