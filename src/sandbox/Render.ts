/** Pure renderers of sandbox world data as GramJS layer-198 `Api` objects, and fast encoders of posts and updates. */
import { Buffer } from "node:buffer"
import { type Pair, Writer } from "./Bytes.ts"
import type { Account, ChannelInfo, Post, Reaction, TextEntity, WorldEvent } from "./Model.ts"
import { Api, bigInt, type BigInteger, toLong } from "./Tl.ts"

/** DC that stores every sandbox file (photos, documents). */
export const MEDIA_DC = 2

// ---------------------------------------------------------------------------------------------------------------
// Deterministic values shared by the object renderers and the byte encoder (both must produce identical bytes).

/** 32-bit mix of a few integers (deterministic ids, hashes and sizes of fake media). */
export function mix32(...parts: ReadonlyArray<number>): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x01000193)
    h = Math.imul(h ^ Math.floor(p / 0x100000000), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

function mixPair(a: number, b: number, salt: number): Pair {
  return [mix32(a, b, salt, 1) & 0x7fffffff, mix32(a, b, salt, 2)]
}

function pairLong([hi, lo]: Pair): BigInteger {
  return bigInt(hi).shiftLeft(32).add(lo)
}

const SALT_PHOTO = 0x70686f74
const SALT_PHOTO_HASH = 0x61636365
const SALT_DOC = 0x646f6375
const SALT_DOC_HASH = 0x61636364
const SALT_POLL = 0x706f6c6c
const SALT_WEB = 0x77656270
const SALT_USER = 0x75736572

function fileReference(post: Post, salt: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt32LE(mix32(post.channelId, post.id, salt, 3), 0)
  b.writeUInt32LE(mix32(post.channelId, post.id, salt, 4), 4)
  return b
}

interface SizeSpec {
  readonly type: string
  readonly w: number
  readonly h: number
  readonly size: number
}

function photoSizes(post: Post): ReadonlyArray<SizeSpec> {
  const h = mix32(post.channelId, post.id, SALT_PHOTO)
  return [
    { type: "m", w: 320, h: 240, size: 8_000 + (h % 8_000) },
    { type: "x", w: 800, h: 600, size: 40_000 + (h % 40_000) },
  ]
}

interface DocSpec {
  readonly mimeType: string
  readonly size: number
  readonly duration: number
  readonly fileName: string
}

function docSpec(post: Post, video: boolean): DocSpec {
  const h = mix32(post.channelId, post.id, SALT_DOC)
  return video ? { mimeType: "video/mp4", size: 1_000_000 + (h % 9_000_000), duration: 5 + (h % 300), fileName: "" } : {
    mimeType: "application/pdf",
    size: 20_000 + (h % 500_000),
    duration: 0,
    fileName: `document-${post.channelId}-${post.id}.pdf`,
  }
}

const VIDEO_W = 1280
const VIDEO_H = 720

function pollAnswerCount(post: Post): number {
  return 2 + (mix32(post.channelId, post.id, SALT_POLL) % 3)
}

function pollQuestion(post: Post): string {
  return `Poll ${post.id}?`
}

function pollOption(i: number): string {
  return `Option ${i + 1}`
}

function pollVoters(post: Post): number {
  return Math.floor(post.views / 10)
}

function webPath(post: Post): string {
  return `example.com/${post.channelId}/${post.id}`
}

const WEB_TYPE = "article"
const WEB_SITE = "Example"

function webTitle(post: Post): string {
  return `Article ${post.id}`
}

/** Id of the (fictional) discussion group whose comments a broadcast post's `replies` count. */
export function discussionGroupId(channelId: number): number {
  return channelId + 1_000_000_000
}

// ---------------------------------------------------------------------------------------------------------------
// GramJS objects.

const longs = new Map<number, BigInteger>()
/** A cached GramJS long for a non-negative integer id (ids repeat on every page). */
function idLong(id: number): BigInteger {
  let v = longs.get(id)
  if (v === undefined) {
    v = bigInt(id)
    if (longs.size < 100_000) longs.set(id, v)
  }
  return v
}

/** PeerChannel for a channel id. */
export function peerChannel(channelId: number): Api.PeerChannel {
  return new Api.PeerChannel({ channelId: idLong(channelId) })
}

/** PeerUser for a user id. */
export function peerUser(userId: number): Api.PeerUser {
  return new Api.PeerUser({ userId: idLong(userId) })
}

/** Admin rights every sandbox admin holds. */
function adminRights(): Api.ChatAdminRights {
  return new Api.ChatAdminRights({
    changeInfo: true,
    postMessages: true,
    editMessages: true,
    deleteMessages: true,
    banUsers: true,
    inviteUsers: true,
    pinMessages: true,
    addAdmins: true,
    manageCall: true,
    other: true,
    postStories: true,
    editStories: true,
    deleteStories: true,
  })
}

/** A channel as `viewerUserId` sees it (admins get their rights; the first admin is the creator). */
export function renderChannel(info: ChannelInfo, viewerUserId: number | undefined): Api.Channel {
  const adminIndex = viewerUserId === undefined ? -1 : info.adminUserIds.indexOf(viewerUserId)
  return new Api.Channel({
    ...(info.kind === "broadcast" ? { broadcast: true } : { megagroup: true }),
    ...(adminIndex === 0 ? { creator: true } : {}),
    id: idLong(info.id),
    accessHash: toLong(info.accessHash),
    title: info.title,
    username: info.username,
    photo: new Api.ChatPhotoEmpty(),
    date: info.createdAt,
    participantsCount: info.participantsCount,
    ...(adminIndex >= 0 ? { adminRights: adminRights() } : {}),
  })
}

/** A post's reactions as `messageReactions` (emoji reactions with their counts, no recent reactors). */
export function renderReactions(reactions: ReadonlyArray<Reaction>): Api.MessageReactions {
  return new Api.MessageReactions({
    results: reactions.map((r) =>
      new Api.ReactionCount({ reaction: new Api.ReactionEmoji({ emoticon: r.emoji }), count: r.count })
    ),
  })
}

/** A test account; `self` when it is the caller. */
export function renderUser(account: Account, self: boolean): Api.User {
  return new Api.User({
    ...(self ? { self: true } : {}),
    id: idLong(account.userId),
    accessHash: toLong(account.accessHash),
    firstName: account.firstName,
    username: account.username,
    phone: account.phone,
    status: new Api.UserStatusRecently({}),
  })
}

/** A user that is not a test account (e.g. an author of megagroup posts): a plain, deterministic stand-in. */
export function renderPlaceholderUser(userId: number): Api.User {
  return new Api.User({
    id: idLong(userId),
    accessHash: pairLong(mixPair(userId, 0, SALT_USER)),
    firstName: `User ${userId}`,
    status: new Api.UserStatusRecently({}),
  })
}

function renderEntity(e: TextEntity): Api.TypeMessageEntity {
  const at = { offset: e.offset, length: e.length }
  switch (e.kind) {
    case "url":
      return new Api.MessageEntityUrl(at)
    case "textUrl":
      return new Api.MessageEntityTextUrl({ ...at, url: e.url ?? "" })
    case "mention":
      return new Api.MessageEntityMention(at)
    case "hashtag":
      return new Api.MessageEntityHashtag(at)
    case "bold":
      return new Api.MessageEntityBold(at)
  }
}

function renderPhoto(post: Post): Api.Photo {
  return new Api.Photo({
    id: pairLong(mixPair(post.channelId, post.id, SALT_PHOTO)),
    accessHash: pairLong(mixPair(post.channelId, post.id, SALT_PHOTO_HASH)),
    fileReference: fileReference(post, SALT_PHOTO),
    date: post.date,
    sizes: photoSizes(post).map((s) => new Api.PhotoSize({ ...s })),
    dcId: MEDIA_DC,
  })
}

function renderDocument(post: Post, video: boolean): Api.Document {
  const d = docSpec(post, video)
  return new Api.Document({
    id: pairLong(mixPair(post.channelId, post.id, SALT_DOC)),
    accessHash: pairLong(mixPair(post.channelId, post.id, SALT_DOC_HASH)),
    fileReference: fileReference(post, SALT_DOC),
    date: post.date,
    mimeType: d.mimeType,
    size: bigInt(d.size),
    dcId: MEDIA_DC,
    attributes: video
      ? [new Api.DocumentAttributeVideo({ supportsStreaming: true, duration: d.duration, w: VIDEO_W, h: VIDEO_H })]
      : [new Api.DocumentAttributeFilename({ fileName: d.fileName })],
  })
}

function renderPoll(post: Post): Api.MessageMediaPoll {
  const text = (t: string) => new Api.TextWithEntities({ text: t, entities: [] })
  return new Api.MessageMediaPoll({
    poll: new Api.Poll({
      id: pairLong(mixPair(post.channelId, post.id, SALT_POLL)),
      question: text(pollQuestion(post)),
      answers: Array.from(
        { length: pollAnswerCount(post) },
        (_, i) => new Api.PollAnswer({ text: text(pollOption(i)), option: Buffer.from([0x30 + i]) }),
      ),
    }),
    results: new Api.PollResults({ totalVoters: pollVoters(post) }),
  })
}

function renderWebPage(post: Post): Api.MessageMediaWebPage {
  const path = webPath(post)
  return new Api.MessageMediaWebPage({
    webpage: new Api.WebPage({
      id: pairLong(mixPair(post.channelId, post.id, SALT_WEB)),
      url: `https://${path}`,
      displayUrl: path,
      hash: 0,
      type: WEB_TYPE,
      siteName: WEB_SITE,
      title: webTitle(post),
    }),
  })
}

function renderMedia(post: Post): Api.TypeMessageMedia | undefined {
  switch (post.media) {
    case "none":
      return undefined
    case "photo":
      return new Api.MessageMediaPhoto({ photo: renderPhoto(post) })
    case "video":
      return new Api.MessageMediaDocument({ video: true, document: renderDocument(post, true) })
    case "document":
      return new Api.MessageMediaDocument({ document: renderDocument(post, false) })
    case "poll":
      return renderPoll(post)
    case "webpage":
      return renderWebPage(post)
  }
}

/**
 * A post as a GramJS `Message`. Posts with `fromUserId` are megagroup messages (from a user); the others are
 * broadcast posts (`post: true`, replies counted as comments in a discussion group).
 */
export function renderMessage(post: Post): Api.Message {
  const broadcast = post.fromUserId === undefined
  const args: ConstructorParameters<typeof Api.Message>[0] = {
    id: post.id,
    peerId: peerChannel(post.channelId),
    date: post.date,
    message: post.text,
    views: post.views,
    forwards: post.forwards,
    replies: new Api.MessageReplies(
      broadcast
        ? {
          comments: true,
          channelId: idLong(discussionGroupId(post.channelId)),
          replies: post.replies,
          repliesPts: post.id,
        }
        : { replies: post.replies, repliesPts: post.id },
    ),
  }
  if (broadcast) args.post = true
  else args.fromId = peerUser(post.fromUserId!)
  if (post.entities.length > 0) args.entities = post.entities.map(renderEntity)
  const media = renderMedia(post)
  if (media) args.media = media
  if (post.groupedId !== undefined) args.groupedId = toLong(post.groupedId)
  if (post.postAuthor !== undefined) args.postAuthor = post.postAuthor
  if (post.forward) {
    args.fwdFrom = new Api.MessageFwdHeader({
      fromId: peerChannel(post.forward.channelId),
      channelPost: post.forward.messageId,
      date: post.forward.date,
    })
  }
  if (post.reactions.length > 0) args.reactions = renderReactions(post.reactions)
  if (post.editDate !== undefined) args.editDate = post.editDate
  return new Api.Message(args)
}

// ---------------------------------------------------------------------------------------------------------------
// Fast TL encoding (GramJS's generic getBytes costs ~100 µs per media post; this writes the same bytes directly).

const ID = {
  message: Api.Message.CONSTRUCTOR_ID,
  peerChannel: Api.PeerChannel.CONSTRUCTOR_ID,
  peerUser: Api.PeerUser.CONSTRUCTOR_ID,
  fwdHeader: Api.MessageFwdHeader.CONSTRUCTOR_ID,
  replies: Api.MessageReplies.CONSTRUCTOR_ID,
  reactions: Api.MessageReactions.CONSTRUCTOR_ID,
  updateNewChannelMessage: Api.UpdateNewChannelMessage.CONSTRUCTOR_ID,
  updateEditChannelMessage: Api.UpdateEditChannelMessage.CONSTRUCTOR_ID,
  updateDeleteChannelMessages: Api.UpdateDeleteChannelMessages.CONSTRUCTOR_ID,
  updateChannelMessageViews: Api.UpdateChannelMessageViews.CONSTRUCTOR_ID,
  updateChannelMessageForwards: Api.UpdateChannelMessageForwards.CONSTRUCTOR_ID,
  updateMessageReactions: Api.UpdateMessageReactions.CONSTRUCTOR_ID,
  reactionCount: Api.ReactionCount.CONSTRUCTOR_ID,
  reactionEmoji: Api.ReactionEmoji.CONSTRUCTOR_ID,
  entityUrl: Api.MessageEntityUrl.CONSTRUCTOR_ID,
  entityTextUrl: Api.MessageEntityTextUrl.CONSTRUCTOR_ID,
  entityMention: Api.MessageEntityMention.CONSTRUCTOR_ID,
  entityHashtag: Api.MessageEntityHashtag.CONSTRUCTOR_ID,
  entityBold: Api.MessageEntityBold.CONSTRUCTOR_ID,
  mediaPhoto: Api.MessageMediaPhoto.CONSTRUCTOR_ID,
  photo: Api.Photo.CONSTRUCTOR_ID,
  photoSize: Api.PhotoSize.CONSTRUCTOR_ID,
  mediaDocument: Api.MessageMediaDocument.CONSTRUCTOR_ID,
  document: Api.Document.CONSTRUCTOR_ID,
  attrVideo: Api.DocumentAttributeVideo.CONSTRUCTOR_ID,
  attrFilename: Api.DocumentAttributeFilename.CONSTRUCTOR_ID,
  mediaPoll: Api.MessageMediaPoll.CONSTRUCTOR_ID,
  poll: Api.Poll.CONSTRUCTOR_ID,
  pollAnswer: Api.PollAnswer.CONSTRUCTOR_ID,
  pollResults: Api.PollResults.CONSTRUCTOR_ID,
  textWithEntities: Api.TextWithEntities.CONSTRUCTOR_ID,
  mediaWebPage: Api.MessageMediaWebPage.CONSTRUCTOR_ID,
  webPage: Api.WebPage.CONSTRUCTOR_ID,
} as const

const ENTITY_IDS: Readonly<Record<TextEntity["kind"], number>> = {
  url: ID.entityUrl,
  textUrl: ID.entityTextUrl,
  mention: ID.entityMention,
  hashtag: ID.entityHashtag,
  bold: ID.entityBold,
}

// message#96fdbbe9 flag bits (layer 198).
const F_FWD_FROM = 1 << 2
const F_ENTITIES = 1 << 7
const F_FROM_ID = 1 << 8
const F_MEDIA = 1 << 9
const F_VIEWS = 1 << 10
const F_POST = 1 << 14
const F_EDIT_DATE = 1 << 15
const F_POST_AUTHOR = 1 << 16
const F_GROUPED_ID = 1 << 17
const F_REACTIONS = 1 << 20
const F_REPLIES = 1 << 23

/** Writes `renderMessage(post).getBytes()` without building GramJS objects (same bytes, ~20x faster). */
export function writeMessage(w: Writer, post: Post): void {
  const broadcast = post.fromUserId === undefined
  let flags = F_VIEWS | F_REPLIES
  if (broadcast) flags |= F_POST
  else flags |= F_FROM_ID
  if (post.forward) flags |= F_FWD_FROM
  if (post.entities.length > 0) flags |= F_ENTITIES
  if (post.media !== "none") flags |= F_MEDIA
  if (post.editDate !== undefined) flags |= F_EDIT_DATE
  if (post.postAuthor !== undefined) flags |= F_POST_AUTHOR
  if (post.groupedId !== undefined) flags |= F_GROUPED_ID
  if (post.reactions.length > 0) flags |= F_REACTIONS
  w.uint32(ID.message).uint32(flags).uint32(0).int32(post.id)
  if (!broadcast) w.uint32(ID.peerUser).longNumber(post.fromUserId!)
  w.uint32(ID.peerChannel).longNumber(post.channelId)
  if (post.forward) {
    // flags: from_id (0), channel_post (2)
    w.uint32(ID.fwdHeader).uint32(0b101).uint32(ID.peerChannel).longNumber(post.forward.channelId)
    w.int32(post.forward.date).int32(post.forward.messageId)
  }
  w.int32(post.date).string(post.text)
  if (post.media !== "none") writeMedia(w, post)
  if (post.entities.length > 0) {
    w.vector(post.entities.length)
    for (const e of post.entities) {
      w.uint32(ENTITY_IDS[e.kind]).int32(e.offset).int32(e.length)
      if (e.kind === "textUrl") w.string(e.url ?? "")
    }
  }
  w.int32(post.views).int32(post.forwards)
  if (broadcast) {
    // flags: comments + channel_id (0)
    w.uint32(ID.replies).uint32(1).int32(post.replies).int32(post.id).longNumber(discussionGroupId(post.channelId))
  } else {
    w.uint32(ID.replies).uint32(0).int32(post.replies).int32(post.id)
  }
  if (post.editDate !== undefined) w.int32(post.editDate)
  if (post.postAuthor !== undefined) w.string(post.postAuthor)
  if (post.groupedId !== undefined) w.int64(post.groupedId)
  if (post.reactions.length > 0) writeReactions(w, post.reactions)
}

/** Writes `renderReactions(reactions).getBytes()`. */
export function writeReactions(w: Writer, reactions: ReadonlyArray<Reaction>): void {
  w.uint32(ID.reactions).uint32(0).vector(reactions.length)
  for (const r of reactions) {
    w.uint32(ID.reactionCount).uint32(0).uint32(ID.reactionEmoji).string(r.emoji).int32(r.count)
  }
}

/**
 * Writes the Update a world event is pushed as: updateNewChannelMessage / updateEditChannelMessage (pts_count 1),
 * updateDeleteChannelMessages (pts_count = ids), updateChannelMessageViews, updateChannelMessageForwards,
 * updateMessageReactions. The same bytes as GramJS's `getBytes()` of those objects.
 */
export function writeUpdate(w: Writer, event: WorldEvent): void {
  switch (event._tag) {
    case "NewPost":
    case "EditPost":
      w.uint32(event._tag === "NewPost" ? ID.updateNewChannelMessage : ID.updateEditChannelMessage)
      writeMessage(w, event.post)
      w.int32(event.pts).int32(1)
      return
    case "DeletePosts":
      w.uint32(ID.updateDeleteChannelMessages).longNumber(event.channelId).vector(event.ids.length)
      for (const id of event.ids) w.int32(id)
      w.int32(event.pts).int32(event.ids.length)
      return
    case "Views":
      w.uint32(ID.updateChannelMessageViews).longNumber(event.channelId).int32(event.id).int32(event.views)
      return
    case "Forwards":
      w.uint32(ID.updateChannelMessageForwards).longNumber(event.channelId).int32(event.id).int32(event.forwards)
      return
    case "Reactions":
      // flags 0: no top_msg_id, no saved_peer_id
      w.uint32(ID.updateMessageReactions).uint32(0).uint32(ID.peerChannel).longNumber(event.channelId)
      w.int32(event.id)
      writeReactions(w, event.reactions)
      return
  }
}

/** `writeUpdate` into fresh bytes. */
export function encodeUpdate(event: WorldEvent): Uint8Array {
  const w = new Writer(event._tag === "NewPost" || event._tag === "EditPost" ? 512 + event.post.text.length * 3 : 128)
  writeUpdate(w, event)
  return w.finish()
}

function writeMedia(w: Writer, post: Post): void {
  switch (post.media) {
    case "none":
      return
    case "photo": {
      w.uint32(ID.mediaPhoto).uint32(1).uint32(ID.photo).uint32(0)
      w.longPair(mixPair(post.channelId, post.id, SALT_PHOTO)).longPair(
        mixPair(post.channelId, post.id, SALT_PHOTO_HASH),
      )
      w.bytes(fileReference(post, SALT_PHOTO)).int32(post.date)
      const sizes = photoSizes(post)
      w.vector(sizes.length)
      for (const s of sizes) w.uint32(ID.photoSize).string(s.type).int32(s.w).int32(s.h).int32(s.size)
      w.int32(MEDIA_DC)
      return
    }
    case "video":
    case "document": {
      const video = post.media === "video"
      const d = docSpec(post, video)
      // flags: document (0), video (6)
      w.uint32(ID.mediaDocument).uint32(video ? 0b1000001 : 1).uint32(ID.document).uint32(0)
      w.longPair(mixPair(post.channelId, post.id, SALT_DOC)).longPair(mixPair(post.channelId, post.id, SALT_DOC_HASH))
      w.bytes(fileReference(post, SALT_DOC)).int32(post.date).string(d.mimeType).longNumber(d.size).int32(MEDIA_DC)
      w.vector(1)
      // documentAttributeVideo flags: supports_streaming (1)
      if (video) w.uint32(ID.attrVideo).uint32(0b10).double(d.duration).int32(VIDEO_W).int32(VIDEO_H)
      else w.uint32(ID.attrFilename).string(d.fileName)
      return
    }
    case "poll": {
      const n = pollAnswerCount(post)
      w.uint32(ID.mediaPoll).uint32(ID.poll).longPair(mixPair(post.channelId, post.id, SALT_POLL)).uint32(0)
      w.uint32(ID.textWithEntities).string(pollQuestion(post)).vector(0)
      w.vector(n)
      const option = new Uint8Array(1)
      for (let i = 0; i < n; i++) {
        option[0] = 0x30 + i
        w.uint32(ID.pollAnswer).uint32(ID.textWithEntities).string(pollOption(i)).vector(0).bytes(option)
      }
      // pollResults flags: total_voters (2)
      w.uint32(ID.pollResults).uint32(0b100).int32(pollVoters(post))
      return
    }
    case "webpage": {
      const path = webPath(post)
      // webPage flags: type (0), site_name (1), title (2)
      w.uint32(ID.mediaWebPage).uint32(0).uint32(ID.webPage).uint32(0b111).longPair(
        mixPair(post.channelId, post.id, SALT_WEB),
      )
      w.string(`https://${path}`).string(path).int32(0).string(WEB_TYPE).string(WEB_SITE).string(webTitle(post))
      return
    }
  }
}

/** `renderMessage(post).getBytes()`, fast. */
export function encodeMessage(post: Post): Uint8Array {
  const w = new Writer(256 + post.text.length * 3)
  writeMessage(w, post)
  return w.finish()
}
