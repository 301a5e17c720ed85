/**
 * Comments of channel posts: messages.getReplies (a post's comments in the channel's discussion group, paged as
 * getHistory pages posts) and messages.getDiscussionMessage (the post's forward in the group), asked by the channel and
 * the post or by the group and the discussion message.
 */
import { type Caller, fail, RawResult } from "../session/Rpc.ts"
import { renderChannel, renderMessage } from "../tl/Render.ts"
import { Api } from "../tl/Tl.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { channelMessages, pagingOf } from "./messages.ts"
import { readable } from "./Peers.ts"

/**
 * The thread `msgId` names in `peer`, as Telegram takes it: a channel and one of its posts, or the discussion group and
 * the post's discussion message. 400 MSG_ID_INVALID for a channel without a group (its posts have no comments) or a
 * group message that is no discussion message.
 */
function threadOf(ctx: MethodContext, peer: unknown, msgId: number, caller: Caller) {
  const { world } = ctx
  const info = readable(world, peer, caller)
  if (info.linkedChannelId !== undefined) {
    const channel = world.channel(info.linkedChannelId)
    const forward = world.posts(info.id, [msgId])[0]?.forward
    if (channel === undefined || forward?.saved !== true) return fail(400, "MSG_ID_INVALID")
    return { channel, group: info, postId: forward.messageId }
  }
  const group = info.discussionGroupId === undefined ? undefined : world.channel(info.discussionGroupId)
  return { channel: info, group: group ?? fail(400, "MSG_ID_INVALID"), postId: msgId }
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
  const { channel, group, postId } = threadOf(ctx, request.peer, Number(request.msgId) || 0, caller)
  const query = pagingOf(request)
  const page = orInvalid(() => world.replies(channel.id, postId, query))
  if (page.notModified) return new Api.messages.MessagesNotModified({ count: page.count })
  return new RawResult(channelMessages(world, {
    info: group,
    viewer: caller.userId,
    count: page.count,
    offsetIdOffset: page.offsetIdOffset,
    posts: page.posts,
    chats: [channel],
  }))
}

function getDiscussionMessage(ctx: MethodContext, request: Api.messages.GetDiscussionMessage, caller: Caller) {
  const { world } = ctx
  const { channel, group, postId } = threadOf(ctx, request.peer, Number(request.msgId) || 0, caller)
  const message = orInvalid(() => world.discussionMessage(channel.id, postId))
  return new Api.messages.DiscussionMessage({
    messages: [renderMessage(message)],
    ...(message.repliesMaxId === undefined ? {} : { maxId: message.repliesMaxId }),
    unreadCount: 0,
    chats: [renderChannel(group, caller.userId), renderChannel(channel, caller.userId)],
    users: [],
  })
}

export const repliesMethods: Handlers = {
  "messages.GetReplies": getReplies,
  "messages.GetDiscussionMessage": getDiscussionMessage,
}
