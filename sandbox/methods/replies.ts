/**
 * Comments of channel posts: messages.getReplies (a post's comments in the channel's discussion group, paged as
 * getHistory pages posts) and messages.getDiscussionMessage (the post's forward in the group).
 */
import { type Caller, fail, RawResult } from "../session/Rpc.ts"
import { renderChannel, renderMessage } from "../tl/Render.ts"
import { Api, fromLong } from "../tl/Tl.ts"
import type { ChannelInfo, HistoryQuery } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { channelMessages } from "./messages.ts"
import { readable } from "./Peers.ts"

/** The channel's discussion group; 400 MSG_ID_INVALID for a channel without one (its posts have no comments). */
function groupOf(ctx: MethodContext, info: ChannelInfo): ChannelInfo {
  const group = info.discussionGroupId === undefined ? undefined : ctx.world.channel(info.discussionGroupId)
  return group ?? fail(400, "MSG_ID_INVALID")
}

/** Runs a world call, answering its MSG_ID_INVALID (a post that does not exist) as the RPC error. */
function orInvalid<A>(f: () => A): A {
  try {
    return f()
  } catch (error) {
    if (error instanceof Error && error.message === "MSG_ID_INVALID") return fail(400, "MSG_ID_INVALID")
    throw error
  }
}

function getReplies(
  ctx: MethodContext,
  request: Api.messages.GetReplies,
  caller: Caller,
): RawResult | Api.messages.MessagesNotModified {
  const { world } = ctx
  const info = readable(world, request.peer, caller)
  const group = groupOf(ctx, info)
  const query: HistoryQuery = {
    offsetId: Number(request.offsetId) || 0,
    offsetDate: Number(request.offsetDate) || 0,
    addOffset: Number(request.addOffset) || 0,
    limit: Number(request.limit) || 0,
    maxId: Number(request.maxId) || 0,
    minId: Number(request.minId) || 0,
    hash: request.hash === undefined || request.hash === null ? 0n : fromLong(request.hash),
  }
  const page = orInvalid(() => world.replies(info.id, Number(request.msgId) || 0, query))
  if (page.notModified) return new Api.messages.MessagesNotModified({ count: page.count })
  return new RawResult(channelMessages(world, {
    info: group,
    viewer: caller.userId,
    count: page.count,
    offsetIdOffset: page.offsetIdOffset,
    posts: page.posts,
    chats: [info],
  }))
}

function getDiscussionMessage(ctx: MethodContext, request: Api.messages.GetDiscussionMessage, caller: Caller) {
  const { world } = ctx
  const info = readable(world, request.peer, caller)
  const group = groupOf(ctx, info)
  const message = orInvalid(() => world.discussionMessage(info.id, Number(request.msgId) || 0))
  return new Api.messages.DiscussionMessage({
    messages: [renderMessage(message)],
    ...(message.repliesMaxId === undefined ? {} : { maxId: message.repliesMaxId }),
    unreadCount: 0,
    chats: [renderChannel(group, caller.userId), renderChannel(info, caller.userId)],
    users: [],
  })
}

export const repliesMethods: Handlers = {
  "messages.GetReplies": getReplies,
  "messages.GetDiscussionMessage": getDiscussionMessage,
}
