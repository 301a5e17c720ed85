/**
 * Fast TL encoding of posts and pushed updates: the same bytes as GramJS's `getBytes()` of the rendered objects,
 * written directly (GramJS's generic getBytes costs ~100 µs per media post).
 */
import { Writer } from "../transport/Bytes.ts"
import type { Post, Reaction, TextEntity, WorldEvent } from "../world/Model.ts"
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
  SALT_WEB,
  VIDEO_H,
  VIDEO_W,
  WEB_SITE,
  WEB_TYPE,
  webPath,
  webTitle,
} from "./Synthetic.ts"
import { Api } from "./Tl.ts"

const ID = {
  message: Api.Message.CONSTRUCTOR_ID,
  peerChannel: Api.PeerChannel.CONSTRUCTOR_ID,
  peerUser: Api.PeerUser.CONSTRUCTOR_ID,
  fwdHeader: Api.MessageFwdHeader.CONSTRUCTOR_ID,
  replyHeader: Api.MessageReplyHeader.CONSTRUCTOR_ID,
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
const F_REPLY_TO = 1 << 3
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
  const broadcast = post.fromUserId === undefined && post.fromChannelId === undefined
  let flags = F_VIEWS
  // replies: a broadcast post's comments (only with a discussion group), a group message's thread (not a comment's).
  if (broadcast) flags |= F_POST | (post.commentsGroupId === undefined ? 0 : F_REPLIES)
  else flags |= F_FROM_ID | (post.replyTo === undefined ? F_REPLIES : 0)
  if (post.replyTo) flags |= F_REPLY_TO
  if (post.forward) flags |= F_FWD_FROM
  if (post.entities.length > 0) flags |= F_ENTITIES
  if (post.media !== "none") flags |= F_MEDIA
  if (post.editDate !== undefined) flags |= F_EDIT_DATE
  if (post.postAuthor !== undefined) flags |= F_POST_AUTHOR
  if (post.groupedId !== undefined) flags |= F_GROUPED_ID
  if (post.reactions.length > 0) flags |= F_REACTIONS
  w.uint32(ID.message).uint32(flags).uint32(0).int32(post.id)
  if (post.fromUserId !== undefined) w.uint32(ID.peerUser).longNumber(post.fromUserId)
  else if (post.fromChannelId !== undefined) w.uint32(ID.peerChannel).longNumber(post.fromChannelId)
  w.uint32(ID.peerChannel).longNumber(post.channelId)
  if (post.forward) {
    const { channelId, date, messageId, saved } = post.forward
    // flags: from_id (0), channel_post (2), saved_from_peer + saved_from_msg_id (4)
    w.uint32(ID.fwdHeader).uint32(saved ? 0b10101 : 0b101).uint32(ID.peerChannel).longNumber(channelId)
    w.int32(date).int32(messageId)
    if (saved) w.uint32(ID.peerChannel).longNumber(channelId).int32(messageId)
  }
  if (post.replyTo) {
    // flags: reply_to_msg_id (4), reply_to_top_id (1)
    const top = post.replyTo.topId
    w.uint32(ID.replyHeader).uint32(top === undefined ? 0b10000 : 0b10010).int32(post.replyTo.msgId)
    if (top !== undefined) w.int32(top)
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
  if (flags & F_REPLIES) {
    // flags: comments + channel_id (0), max_id (2)
    const max = post.repliesMaxId
    w.uint32(ID.replies).uint32((broadcast ? 1 : 0) | (max === undefined ? 0 : 4)).int32(post.replies).int32(post.id)
    if (broadcast) w.longNumber(post.commentsGroupId!)
    if (max !== undefined) w.int32(max)
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
