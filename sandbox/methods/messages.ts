/** messages.*: getHistory (cached per world version), views (with increment) and reactions of posts. */
import { type Caller, RawResult } from "../session/Rpc.ts"
import { writeMessage } from "../tl/Encode.ts"
import { peerChannel, renderChannel, renderReactions } from "../tl/Render.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"
import { Writer } from "../transport/Bytes.ts"
import type { ChannelInfo, HistoryQuery, Post, WorldApi } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { readable, writeRelated } from "./Peers.ts"

/**
 * One writer for every page, reused (pages are written synchronously): only the page's exact bytes are allocated, not
 * a buffer for the largest page besides. Past SCRATCH_KEPT bytes (an unusual page) it is let go.
 */
let scratch = new Writer(64 * 1024)
const SCRATCH_KEPT = 1024 * 1024

/** messages.channelMessages bytes; `undefined` entries become messageEmpty with the matching id. */
export function channelMessages(world: WorldApi, args: {
  readonly info: ChannelInfo
  readonly viewer: number | undefined
  readonly count: number
  readonly offsetIdOffset: number | undefined
  readonly posts: ReadonlyArray<Post | undefined>
  readonly emptyIds?: ReadonlyArray<number>
  /** Chats to name besides the channel and the posts' forward sources (getReplies: the discussion group's channel). */
  readonly chats?: ReadonlyArray<ChannelInfo>
}): Uint8Array {
  const w = scratch.reset()
  w.uint32(Api.messages.ChannelMessages.CONSTRUCTOR_ID).uint32(args.offsetIdOffset === undefined ? 0 : 1 << 2)
  w.int32(world.pts(args.info.id)).int32(args.count)
  if (args.offsetIdOffset !== undefined) w.int32(args.offsetIdOffset)
  w.vector(args.posts.length)
  args.posts.forEach((p, i) => {
    if (p) writeMessage(w, p)
    else w.uint32(Api.MessageEmpty.CONSTRUCTOR_ID).uint32(0).int32(args.emptyIds?.[i] ?? 0)
  })
  w.vector(0)
  writeRelated(w, world, args)
  const bytes = w.finish()
  if (w.capacity > SCRATCH_KEPT) scratch = new Writer(64 * 1024)
  return bytes
}

/** A post's replies as messages.getMessagesViews tells them (as its message carries them, see Encode.ts). */
function repliesOf(p: Post): Api.MessageReplies | undefined {
  const maxId = p.repliesMaxId === undefined ? {} : { maxId: p.repliesMaxId }
  if (p.fromUserId === undefined && p.fromChannelId === undefined) {
    if (p.commentsGroupId === undefined) return undefined
    return new Api.MessageReplies({
      comments: true,
      channelId: toLong(p.commentsGroupId),
      replies: p.replies,
      repliesPts: p.id,
      ...maxId,
    })
  }
  return p.replyTo === undefined
    ? new Api.MessageReplies({ replies: p.replies, repliesPts: p.id, ...maxId })
    : undefined
}

/** The paging parameters of messages.getHistory or messages.getReplies, as numbers (absent ones 0). */
export function pagingOf(request: Api.messages.GetHistory | Api.messages.GetReplies): HistoryQuery {
  return {
    offsetId: Number(request.offsetId) || 0,
    offsetDate: Number(request.offsetDate) || 0,
    addOffset: Number(request.addOffset) || 0,
    limit: Number(request.limit) || 0,
    maxId: Number(request.maxId) || 0,
    minId: Number(request.minId) || 0,
    hash: request.hash === undefined || request.hash === null ? 0n : fromLong(request.hash),
  }
}

function getHistory(ctx: MethodContext, request: Api.messages.GetHistory, caller: Caller): RawResult {
  const { world, history } = ctx
  const info = readable(world, request.peer, caller)
  const q = pagingOf(request)
  const viewer = caller.userId
  const key = `${info.id}:${
    world.version(info.id)
  }:${q.offsetId}:${q.offsetDate}:${q.addOffset}:${q.limit}:${q.maxId}:${q.minId}:${q.hash}:${viewer ?? 0}`
  const cached = history.get(key)
  if (cached) return new RawResult(cached)
  const page = world.history(info.id, q)
  const bytes = page.notModified
    ? new Api.messages.MessagesNotModified({ count: page.count }).getBytes()
    : channelMessages(world, {
      info,
      viewer,
      count: page.count,
      offsetIdOffset: page.offsetIdOffset,
      posts: page.posts,
    })
  history.set(key, bytes)
  return new RawResult(bytes)
}

function getMessagesViews(ctx: MethodContext, request: Api.messages.GetMessagesViews, caller: Caller) {
  const { world } = ctx
  const info = readable(world, request.peer, caller)
  const ids = (request.id ?? []).map(Number)
  if (request.increment) {
    const existing = world.posts(info.id, ids).flatMap((p) => (p ? [p.id] : []))
    if (existing.length > 0) world.bumpViews(info.id, 1, existing)
  }
  const posts = world.posts(info.id, ids)
  return new Api.messages.MessageViews({
    views: posts.map((p) =>
      p ? new Api.MessageViews({ views: p.views, forwards: p.forwards, ...replies(p) }) : new Api.MessageViews({})
    ),
    chats: [renderChannel(info, caller.userId)],
    users: [],
  })
}

function getMessagesReactions(ctx: MethodContext, request: Api.messages.GetMessagesReactions, caller: Caller) {
  const { world } = ctx
  const info = readable(world, request.peer, caller)
  const ids = [...new Set((request.id ?? []).map(Number))]
  return new Api.Updates({
    updates: world.posts(info.id, ids).flatMap((p) =>
      p
        ? [
          new Api.UpdateMessageReactions({
            peer: peerChannel(info.id),
            msgId: p.id,
            reactions: renderReactions(p.reactions),
          }),
        ]
        : []
    ),
    users: [],
    chats: [renderChannel(info, caller.userId)],
    date: world.now(),
    seq: 0,
  })
}

function replies(p: Post): { replies?: Api.MessageReplies } {
  const r = repliesOf(p)
  return r === undefined ? {} : { replies: r }
}

export const messagesMethods: Handlers = {
  "messages.GetHistory": getHistory,
  "messages.GetMessagesViews": getMessagesViews,
  "messages.GetMessagesReactions": getMessagesReactions,
}
