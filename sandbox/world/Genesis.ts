/** The world at its start, from the seed: test accounts, channels (the private ones last), their starting state. */
import { createHash } from "node:crypto"
import { ChannelState } from "./ChannelState.ts"
import { hash, hash63, mix32, S_CHANNEL, S_RANGES } from "./Hash.ts"
import type { Account, ChannelInfo } from "./Model.ts"
import { groupIdOf, hasDiscussionGroup } from "./Threads.ts"

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
  /**
   * The world's start, unix seconds: the sandbox's "now" at that instant. Its history (channels' creation, posts, their
   * edits) is laid out behind it, at offsets that depend only on the other options. @default the clock's now
   */
  readonly start?: number
}

/**
 * First public channel id; channel i is `CHANNEL_ID_BASE + i`, the private ones follow the public ones: first one no
 * test account belongs to (joined by its invite link), then one the first account is a member of.
 */
export const CHANNEL_ID_BASE = 1_000_000
/** First account's user id; account i is `USER_ID_BASE + i`. */
export const USER_ID_BASE = 777_000_001
/** Changes kept in a channel's pts log by default (Telegram keeps "usually" 100,000 pts of channel difference). */
export const PTS_LOG_SIZE = 100_000
/** Posts of each private channel. */
export const PRIVATE_POSTS = 100
/** The 2FA password of the second account. */
export const SANDBOX_PASSWORD = "sandbox-2fa"

const DAY = 86_400
const U32 = 4_294_967_296
const TOPICS: ReadonlyArray<string> = ["News", "Tech", "Markets", "Travel", "Science", "Sports", "Music", "Food"]

/** What `World.create` starts from. */
export interface Genesis {
  readonly accounts: ReadonlyArray<Account>
  /** Every channel, the private ones last. */
  readonly channels: ReadonlyArray<ChannelInfo>
  /** Each channel's state, in the order of `channels`. */
  readonly states: ReadonlyArray<ChannelState>
  /** The world's start, unix seconds (`WorldOptions.start`). */
  readonly start: number
}

/**
 * Accounts and channels derived from the options' seed, their history behind `start` (unix seconds); throws a
 * RangeError naming a bad option.
 */
export function genesis(options: WorldOptions, start: number): Genesis {
  const { seed, channels: channelCount, posts } = options
  const accountCount = options.accounts ?? 3
  const dcs = options.statsDcs ?? [2, 4]
  if (!Number.isFinite(seed)) throw new RangeError("seed must be a finite number")
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError("start must be a non-negative integer")
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

  // The base posts are spread over `span` seconds up to a day before the start; channels were created before them.
  const span = Math.max(posts * 60, DAY)
  const epoch = start - span - DAY
  const infos: Array<ChannelInfo> = []
  const states: Array<ChannelState> = []
  for (let i = 0; i <= channelCount + 1; i++) {
    const isPrivate = i >= channelCount
    // The first private channel has no members (it is joined by its invite link), the second one the first account.
    const privateMembers = i === channelCount || admin0 === undefined ? [] : [admin0]
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
      username: isPrivate ? "" : `sandbox_chan_${i}`,
      title: i === channelCount ? "Sandbox Private" : isPrivate ? "Sandbox Members" : `Sandbox ${topic} ${i}`,
      about: i === channelCount
        ? "A private sandbox channel: nobody is a member until they join by its invite link."
        : isPrivate
        ? "A private sandbox channel the first test account is a member of."
        : `Deterministic sandbox channel ${i} about ${topic.toLowerCase()}.`,
      kind: !isPrivate && i % 4 === 3 ? "megagroup" : "broadcast",
      createdAt: epoch,
      participantsCount: 500 + (hash(key, S_CHANNEL, 3) % 199_501),
      statsDc: dcs[i % dcs.length]!,
      adminUserIds: admins,
      // A fresh array per channel: it grows when an account joins (World.join).
      memberUserIds: isPrivate ? privateMembers : [...members],
      isPrivate,
      ...(isPrivate ? { inviteHash: inviteHash(key) } : {}),
      ...(hasDiscussionGroup(i, isPrivate) ? { discussionGroupId: groupIdOf(id) } : {}),
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
  return { accounts, channels: infos, states, start }
}

const INVITE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/** A private channel's invite hash: 16 characters of base64url from the channel's key (as `t.me/+HASH` has them). */
function inviteHash(key: number): string {
  let out = ""
  for (let k = 0; k < 16; k++) out += INVITE_ALPHABET[hash(key, S_CHANNEL, 100 + k) % 64]
  return out
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
