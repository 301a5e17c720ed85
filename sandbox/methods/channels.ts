/** channels.*: channels by input peer, the full channel (admin rights, stats_dc) and posts by id. */
import { type Caller, RawResult } from "../session/Rpc.ts"
import { renderChannel } from "../tl/Render.ts"
import { Api, bigInt, toLong } from "../tl/Tl.ts"
import { historyQuery } from "../world/History.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { channelMessages } from "./messages.ts"
import { channelOf, readable } from "./Peers.ts"

function getChannels(ctx: MethodContext, request: Api.channels.GetChannels, caller: Caller): Api.messages.Chats {
  return new Api.messages.Chats({
    chats: (request.id ?? []).map((input) => renderChannel(channelOf(ctx.world, input), caller.userId)),
  })
}

function getFullChannel(ctx: MethodContext, request: Api.channels.GetFullChannel, caller: Caller) {
  const { world, switches } = ctx
  const info = readable(world, request.channel, caller)
  const admin = caller.userId !== undefined && info.adminUserIds.includes(caller.userId)
  const newest = world.history(info.id, historyQuery({ limit: 1 })).posts[0]?.id ?? 0
  // A broadcast channel's discussion group, or a group's channel: linked_chat_id, and the linked chat in `chats`.
  const linked = info.discussionGroupId ?? info.linkedChannelId
  const linkedInfo = linked === undefined ? undefined : world.channel(linked)
  return new Api.messages.ChatFull({
    fullChat: new Api.ChannelFull({
      ...(admin ? { canViewStats: true, canViewParticipants: true } : {}),
      id: toLong(info.id),
      about: info.about,
      participantsCount: info.participantsCount,
      readInboxMaxId: newest,
      readOutboxMaxId: newest,
      unreadCount: 0,
      chatPhoto: new Api.PhotoEmpty({ id: bigInt.zero }),
      notifySettings: new Api.PeerNotifySettings({}),
      botInfo: [],
      ...(switches.statsDcAdvertised(info.id) ? { statsDc: info.statsDc } : {}),
      pts: world.pts(info.id),
      ...(linkedInfo === undefined ? {} : { linkedChatId: toLong(linkedInfo.id) }),
    }),
    chats: [renderChannel(info, caller.userId), ...(linkedInfo ? [renderChannel(linkedInfo, caller.userId)] : [])],
    users: [],
  })
}

function getMessages(ctx: MethodContext, request: Api.channels.GetMessages, caller: Caller): RawResult {
  const { world } = ctx
  const info = readable(world, request.channel, caller)
  const ids = (request.id ?? []).map((m: any) => (m?.className === "InputMessageID" ? Number(m.id) : 0))
  const posts = world.posts(info.id, ids)
  const bytes = channelMessages(world, {
    info,
    viewer: caller.userId,
    count: ids.length,
    offsetIdOffset: undefined,
    posts,
    emptyIds: ids,
  })
  return new RawResult(bytes)
}

export const channelsMethods: Handlers = {
  "channels.GetChannels": getChannels,
  "channels.GetFullChannel": getFullChannel,
  "channels.GetMessages": getMessages,
}
