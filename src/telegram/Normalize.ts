/**
 * Pure: a message as GramJS decodes it becomes a Post. It reads objects by their TL `className`, so it needs no GramJS
 * import and never does I/O. Unknown shapes give undefined (the caller counts and skips them).
 */
import type { MediaKind, Post } from "../domain/Post.ts"
import type { HistoryPage } from "../domain/Telegram.ts"

type Tl = any

/** A GramJS long (big-integer), a bigint or a number, as a decimal string; null when absent. */
function longString(value: Tl): string | null {
  if (value === undefined || value === null) return null
  return typeof value === "object" ? value.toString() : String(value)
}

function longNumber(value: Tl): number | null {
  const s = longString(value)
  return s === null ? null : Number(s)
}

const intOrNull = (value: unknown): number | null => (typeof value === "number" ? value : null)

/** `user:<id>`, `channel:<id>` or `chat:<id>` for a Peer. */
export function peerRef(peer: Tl): string | null {
  switch (peer?.className) {
    case "PeerUser":
      return `user:${longString(peer.userId)}`
    case "PeerChannel":
      return `channel:${longString(peer.channelId)}`
    case "PeerChat":
      return `chat:${longString(peer.chatId)}`
    default:
      return null
  }
}

const MEDIA: Readonly<Record<string, MediaKind>> = {
  MessageMediaPhoto: "photo",
  MessageMediaPoll: "poll",
  MessageMediaWebPage: "webpage",
  MessageMediaGeo: "geo",
  MessageMediaGeoLive: "geo",
  MessageMediaVenue: "venue",
  MessageMediaContact: "contact",
  MessageMediaDice: "dice",
  MessageMediaGame: "game",
  MessageMediaInvoice: "invoice",
  MessageMediaStory: "story",
  MessageMediaGiveaway: "giveaway",
  MessageMediaGiveawayResults: "giveaway",
  MessageMediaPaidMedia: "paid",
  MessageMediaToDo: "other",
  MessageMediaUnsupported: "other",
}

/** The kind of a document: what its flags and attributes say it is. */
function documentKind(media: Tl): MediaKind {
  if (media.round) return "round_video"
  if (media.voice) return "voice"
  if (media.video) return "video"
  const attributes: ReadonlyArray<Tl> = media.document?.attributes ?? []
  const has = (name: string) => attributes.find((a) => a?.className === name)
  if (has("DocumentAttributeSticker")) return "sticker"
  if (has("DocumentAttributeAnimated")) return "gif"
  const video = has("DocumentAttributeVideo")
  if (video) return video.roundMessage ? "round_video" : "video"
  const audio = has("DocumentAttributeAudio")
  if (audio) return audio.voice ? "voice" : "audio"
  return "document"
}

export function mediaKind(media: Tl): MediaKind {
  if (!media || media.className === "MessageMediaEmpty") return "none"
  if (media.className === "MessageMediaDocument") return documentKind(media)
  return MEDIA[media.className] ?? "other"
}

/**
 * What identifies the attached media for edit detection: the photo or document id, the poll's question and
 * answers, the page URL. Never counters or previews that Telegram refreshes by itself (votes, page previews).
 */
function mediaIdentity(media: Tl): unknown {
  switch (media?.className) {
    case undefined:
    case "MessageMediaEmpty":
      return null
    case "MessageMediaPhoto":
      return ["photo", longString(media.photo?.id)]
    case "MessageMediaDocument":
      return ["document", longString(media.document?.id)]
    case "MessageMediaPoll": {
      const text = (t: Tl) => (typeof t === "string" ? t : t?.text ?? "")
      const poll = media.poll
      return ["poll", longString(poll?.id), text(poll?.question), (poll?.answers ?? []).map((a: Tl) => text(a?.text))]
    }
    case "MessageMediaWebPage":
      return ["webpage", media.webpage?.url ?? longString(media.webpage?.id)]
    case "MessageMediaGeo":
    case "MessageMediaGeoLive":
    case "MessageMediaVenue":
      return [media.className, media.geo?.lat ?? null, media.geo?.long ?? null, media.title ?? null]
    default:
      return [media.className]
  }
}

/** Adds `value` to `list` unless present (first appearance wins the order). */
function addUnique(list: Array<string>, seen: Set<string>, value: string): void {
  if (value === "" || seen.has(value)) return
  seen.add(value)
  list.push(value)
}

export interface Extracted {
  readonly links: Array<string>
  readonly mentions: Array<string>
  readonly hashtags: Array<string>
}

/** Links, mentions and hashtags from the message's entities (offsets are UTF-16, as JavaScript strings are). */
export function extract(text: string, entities: ReadonlyArray<Tl>): Extracted {
  const out: Extracted = { links: [], mentions: [], hashtags: [] }
  const seen = { links: new Set<string>(), mentions: new Set<string>(), hashtags: new Set<string>() }
  for (const e of entities) {
    const slice = () => text.substring(e.offset, e.offset + e.length)
    switch (e?.className) {
      case "MessageEntityUrl":
        addUnique(out.links, seen.links, slice())
        break
      case "MessageEntityTextUrl":
        addUnique(out.links, seen.links, String(e.url ?? ""))
        break
      case "MessageEntityMention":
        addUnique(out.mentions, seen.mentions, slice().toLowerCase())
        break
      case "MessageEntityMentionName":
        addUnique(out.mentions, seen.mentions, `user:${longString(e.userId)}`)
        break
      case "MessageEntityHashtag":
        addUnique(out.hashtags, seen.hashtags, slice())
        break
    }
  }
  return out
}

/** Reaction counts by key: the emoji, `custom:<document id>` or `paid`. */
export function reactionsOf(reactions: Tl): { readonly byKey: Record<string, number>; readonly total: number } {
  const byKey: Record<string, number> = {}
  let total = 0
  for (const r of reactions?.results ?? []) {
    const count = typeof r?.count === "number" ? r.count : 0
    const reaction = r?.reaction
    const key = reaction?.className === "ReactionEmoji"
      ? String(reaction.emoticon)
      : reaction?.className === "ReactionCustomEmoji"
      ? `custom:${longString(reaction.documentId)}`
      : reaction?.className === "ReactionPaid"
      ? "paid"
      : "other"
    byKey[key] = (byKey[key] ?? 0) + count
    total += count
  }
  return { byKey, total }
}

/** The entities that shape what the author wrote (kind, range, target), for the content hash. */
function entityIdentity(entities: ReadonlyArray<Tl>): unknown {
  return entities.map((e) => [e?.className, e?.offset, e?.length, e?.url ?? longString(e?.userId) ?? null])
}

/**
 * A 64-bit hash (16 hex characters) of the text, its entities and the media identity. Not cryptographic: it only
 * tells one version of a post from the next (a collision would need two edits of one post to meet one chance in
 * 2^64), and sha256 per post cost a sixth of the normalize time.
 */
export function contentHash(text: string, entities: ReadonlyArray<Tl>, media: Tl): string {
  return hash64(JSON.stringify([text, entityIdentity(entities), mediaIdentity(media)]))
}

/**
 * What the content hash covers besides the text, as canonical JSON kept with each version of a post (`entities`:
 * `[[class, offset, length, url or user id or null], ...]`; `mediaIdentity`: null without media), and the hash itself
 * (the same as `contentHash`).
 */
export function contentOf(
  text: string,
  entities: ReadonlyArray<Tl>,
  media: Tl,
): { readonly entities: string; readonly mediaIdentity: string | null; readonly contentHash: string } {
  const e = JSON.stringify(entityIdentity(entities))
  const m = JSON.stringify(mediaIdentity(media) ?? null)
  return {
    entities: e,
    mediaIdentity: m === "null" ? null : m,
    contentHash: hash64(`[${JSON.stringify(text)},${e},${m}]`),
  }
}

/** Two independently seeded 32-bit multiply-xorshift hashes over the UTF-16 code units, as 16 hex characters. */
function hash64(payload: string): string {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0")
}

/**
 * A GramJS `Message` (or `MessageService`) of channel `channelId` as a Post; undefined for `MessageEmpty` and
 * anything else that is not a message.
 */
export function normalizeMessage(message: Tl, channelId: number): Post | undefined {
  const className = message?.className
  if ((className !== "Message" && className !== "MessageService") || typeof message.id !== "number") return undefined
  const service = className === "MessageService"
  const text: string = service ? "" : typeof message.message === "string" ? message.message : ""
  const entities: ReadonlyArray<Tl> = service ? [] : message.entities ?? []
  const { links, mentions, hashtags } = extract(text, entities)
  const reactions = reactionsOf(message.reactions)
  const fwd = message.fwdFrom
  const fwdChannel = fwd?.fromId?.className === "PeerChannel" ? longNumber(fwd.fromId.channelId) : null
  return {
    channelId,
    msgId: message.id,
    date: typeof message.date === "number" ? message.date : 0,
    text,
    links,
    mentions,
    hashtags,
    mediaKind: service ? "service" : mediaKind(message.media),
    groupedId: longString(message.groupedId),
    postAuthor: typeof message.postAuthor === "string" ? message.postAuthor : null,
    fromId: peerRef(message.fromId),
    fwdFromChannelId: fwdChannel,
    fwdFromMsgId: fwd ? intOrNull(fwd.channelPost) : null,
    fwdDate: fwd ? intOrNull(fwd.date) : null,
    fwdFromName: fwd && typeof fwd.fromName === "string" ? fwd.fromName : null,
    replyToMsgId: intOrNull(message.replyTo?.replyToMsgId),
    replies: intOrNull(message.replies?.replies),
    views: intOrNull(message.views),
    forwards: intOrNull(message.forwards),
    reactions: reactions.byKey,
    reactionsTotal: reactions.total,
    editDate: intOrNull(message.editDate),
    ...(service ? contentOf(message.action?.className ?? "", [], null) : contentOf(text, entities, message.media)),
    isService: service,
  }
}

/**
 * A messages.getHistory result of channel `channelId` as a page: its posts, every id it covered (a message of a shape
 * tgpulse does not store still moves the walk's cursor) and how many were skipped, the channel's total, the offset
 * Telegram reported and its pts.
 */
export function historyPage(result: Tl, channelId: number): HistoryPage {
  const messages: ReadonlyArray<Tl> = Array.isArray(result?.messages) ? result.messages : []
  const posts: Array<Post> = []
  const ids: Array<number> = []
  let skipped = 0
  for (const m of messages) {
    const post = normalizeMessage(m, channelId)
    if (post) {
      posts.push(post)
      ids.push(post.msgId)
    } else {
      if (typeof m?.id === "number") ids.push(m.id)
      skipped++
    }
  }
  return {
    posts,
    ids,
    skipped,
    count: typeof result?.count === "number" ? result.count : messages.length,
    offsetIdOffset: typeof result?.offsetIdOffset === "number" ? result.offsetIdOffset : undefined,
    pts: typeof result?.pts === "number" ? result.pts : undefined,
  }
}
