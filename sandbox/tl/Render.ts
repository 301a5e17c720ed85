/** Pure renderers of sandbox world data as GramJS layer-198 `Api` objects (peers, channels, users, messages). */
import { Buffer } from "node:buffer"
import type { Pair } from "../transport/Bytes.ts"
import type { Account, ChannelInfo, Post, Reaction, TextEntity, WorldApi } from "../world/Model.ts"
import {
  docSpec,
  fileReference,
  MEDIA_DC,
  mixPair,
  photoSizes,
  pollAnswerCount,
  pollOption,
  pollQuestion,
  pollVoters,
  SALT_DOC,
  SALT_DOC_HASH,
  SALT_PHOTO,
  SALT_PHOTO_HASH,
  SALT_POLL,
  SALT_USER,
  SALT_WEB,
  VIDEO_H,
  VIDEO_W,
  WEB_SITE,
  WEB_TYPE,
  webPath,
  webTitle,
} from "./Synthetic.ts"
import { Api, bigInt, type BigInteger, toLong } from "./Tl.ts"

function pairLong([hi, lo]: Pair): BigInteger {
  return bigInt(hi).shiftLeft(32).add(lo)
}

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
    // A channel with a discussion group, or a group linked to a channel.
    ...(info.discussionGroupId !== undefined || info.linkedChannelId !== undefined ? { hasLink: true } : {}),
    id: idLong(info.id),
    accessHash: toLong(info.accessHash),
    title: info.title,
    ...(info.username === "" ? {} : { username: info.username }),
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

/** User `id` as `viewer` sees it: a test account, or a placeholder for anyone else. */
export function renderUserAs(world: WorldApi, id: number, viewer: number | undefined): Api.User {
  const account = world.account(id)
  return account ? renderUser(account, id === viewer) : renderPlaceholderUser(id)
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
  const broadcast = post.fromUserId === undefined && post.fromChannelId === undefined
  const args: ConstructorParameters<typeof Api.Message>[0] = {
    id: post.id,
    peerId: peerChannel(post.channelId),
    date: post.date,
    message: post.text,
    views: post.views,
    forwards: post.forwards,
  }
  const maxId = post.repliesMaxId === undefined ? {} : { maxId: post.repliesMaxId }
  // replies: a broadcast post's comments (only with a discussion group), a group message's thread (not a comment's).
  if (broadcast && post.commentsGroupId !== undefined) {
    args.replies = new Api.MessageReplies({
      comments: true,
      channelId: idLong(post.commentsGroupId),
      replies: post.replies,
      repliesPts: post.id,
      ...maxId,
    })
  } else if (!broadcast && post.replyTo === undefined) {
    args.replies = new Api.MessageReplies({ replies: post.replies, repliesPts: post.id, ...maxId })
  }
  if (broadcast) args.post = true
  else args.fromId = post.fromUserId === undefined ? peerChannel(post.fromChannelId!) : peerUser(post.fromUserId)
  if (post.replyTo) {
    args.replyTo = new Api.MessageReplyHeader({
      replyToMsgId: post.replyTo.msgId,
      ...(post.replyTo.topId === undefined ? {} : { replyToTopId: post.replyTo.topId }),
    })
  }
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
      ...(post.forward.saved
        ? { savedFromPeer: peerChannel(post.forward.channelId), savedFromMsgId: post.forward.messageId }
        : {}),
    })
  }
  if (post.reactions.length > 0) args.reactions = renderReactions(post.reactions)
  if (post.editDate !== undefined) args.editDate = post.editDate
  return new Api.Message(args)
}
