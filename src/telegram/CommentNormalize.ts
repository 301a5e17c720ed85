/**
 * Pure: a discussion-group message as GramJS decodes it becomes a Comment, and a messages.getReplies answer a
 * RepliesPage. Reads TL objects by `className` (no GramJS import, no I/O); unknown shapes give undefined.
 */
import type { Comment, RepliesPage } from "../domain/Comment.ts"
import { extract, mediaKind, peerRef, reactionsOf } from "./Normalize.ts"

type Tl = any

const intOrNull = (value: unknown): number | null => (typeof value === "number" ? value : null)

const longString = (value: Tl): string | null =>
  value === undefined || value === null ? null : typeof value === "object" ? value.toString() : String(value)

/** A message of group `groupId` as a Comment; undefined for service messages, `MessageEmpty` and unknown shapes. */
export function normalizeComment(message: Tl, groupId: number): Comment | undefined {
  if (message?.className !== "Message" || typeof message.id !== "number") return undefined
  const text: string = typeof message.message === "string" ? message.message : ""
  const entities: ReadonlyArray<Tl> = Array.isArray(message.entities) ? message.entities : []
  const { links, mentions, hashtags } = extract(text, entities)
  const reactions = reactionsOf(message.reactions)
  const replyTo = message.replyTo?.className === "MessageReplyHeader" ? message.replyTo : undefined
  const replyToMsgId = intOrNull(replyTo?.replyToMsgId)
  return {
    commentId: message.id,
    groupId,
    // A comment sent as the group or a channel carries a PeerChannel; an anonymous admin none (the group posted it).
    author: peerRef(message.fromId) ?? `channel:${groupId}`,
    date: typeof message.date === "number" ? message.date : 0,
    text,
    links,
    mentions,
    hashtags,
    entities: entities.map((e) =>
      [
        String(e?.className ?? "").replace(/^MessageEntity/, ""),
        typeof e?.offset === "number" ? e.offset : 0,
        typeof e?.length === "number" ? e.length : 0,
        typeof e?.url === "string" ? e.url : longString(e?.userId),
      ] as const
    ),
    mediaKind: mediaKind(message.media),
    replyTo: replyToMsgId,
    threadTop: intOrNull(replyTo?.replyToTopId) ?? replyToMsgId,
    reactions: reactions.byKey,
    reactionsTotal: reactions.total,
    editDate: intOrNull(message.editDate),
  }
}

/** The channel id of a `Channel` chat among `chats` other than `channelId` (the discussion group answering). */
const groupOf = (chats: ReadonlyArray<Tl>, channelId: number): number | undefined => {
  for (const chat of chats) {
    if (chat?.className !== "Channel") continue
    const id = Number(longString(chat.id))
    if (id !== channelId && chat.megagroup) return id
  }
  return undefined
}

/**
 * A messages.getReplies answer for a post of channel `channelId` as a page: the group's comment messages (each
 * message's own peer names the group; the answer's chats hold it too), every id covered, the thread's total.
 */
export function repliesPage(result: Tl, channelId: number): RepliesPage & { readonly groupId: number | undefined } {
  const messages: ReadonlyArray<Tl> = Array.isArray(result?.messages) ? result.messages : []
  const chats: ReadonlyArray<Tl> = Array.isArray(result?.chats) ? result.chats : []
  const fallback = groupOf(chats, channelId)
  const comments: Array<Comment> = []
  const ids: Array<number> = []
  let groupId = fallback
  for (const m of messages) {
    if (typeof m?.id === "number") ids.push(m.id)
    const peer = m?.peerId?.className === "PeerChannel" ? Number(longString(m.peerId.channelId)) : fallback
    if (peer === undefined) continue
    groupId ??= peer
    const comment = normalizeComment(m, peer)
    if (comment) comments.push(comment)
  }
  return {
    comments,
    ids,
    count: typeof result?.count === "number" ? result.count : messages.length,
    offsetIdOffset: typeof result?.offsetIdOffset === "number" ? result.offsetIdOffset : undefined,
    groupId,
  }
}
