/**
 * messages.getDialogs (an account's channels and megagroups, newest top message first, paginated as Telegram does it),
 * and invite links: messages.checkChatInvite and messages.importChatInvite (joining a private channel).
 */
import { type Caller, fail } from "../session/Rpc.ts"
import { peerChannel, renderChannel, renderMessage, renderUserAs } from "../tl/Render.ts"
import { Api, bigInt, fromLong } from "../tl/Tl.ts"
import { dialogsOf, dialogsPage, type DialogsQuery } from "../world/Dialogs.ts"
import type { ChannelInfo, WorldApi } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"

function offsetPeerId(peer: any): number {
  return peer?.className === "InputPeerChannel" ? Number(fromLong(peer.channelId)) : 0
}

function getDialogs(ctx: MethodContext, request: Api.messages.GetDialogs, caller: Caller) {
  const { world } = ctx
  const viewer = caller.userId!
  // Only the main list: the sandbox archives nothing (folder 1 is empty).
  const all = Number(request.folderId ?? 0) === 1 ? [] : dialogsOf(world, viewer)
  const query: DialogsQuery = {
    offsetDate: Number(request.offsetDate) || 0,
    offsetId: Number(request.offsetId) || 0,
    offsetPeerId: offsetPeerId(request.offsetPeer),
    limit: Number(request.limit) || 0,
  }
  const page = dialogsPage(all, query)
  const chatIds = new Set<number>()
  const userIds = new Set<number>()
  for (const d of page) {
    chatIds.add(d.info.id)
    if (d.top?.forward) chatIds.add(d.top.forward.channelId)
    if (d.top?.fromUserId !== undefined) userIds.add(d.top.fromUserId)
  }
  const body = {
    dialogs: page.map((d) =>
      new Api.Dialog({
        peer: peerChannel(d.info.id),
        topMessage: d.top?.id ?? 0,
        readInboxMaxId: d.top?.id ?? 0,
        readOutboxMaxId: d.top?.id ?? 0,
        unreadCount: 0,
        unreadMentionsCount: 0,
        unreadReactionsCount: 0,
        notifySettings: new Api.PeerNotifySettings({}),
        pts: world.pts(d.info.id),
      })
    ),
    messages: page.flatMap((d) => (d.top ? [renderMessage(d.top)] : [])),
    chats: [...chatIds].flatMap((id) => {
      const info = world.channel(id)
      return info ? [renderChannel(info, viewer)] : []
    }),
    users: [...userIds].map((id) => renderUserAs(world, id, viewer)),
  }
  // The whole list in one answer is messages.dialogs; a part of it, messages.dialogsSlice with the total.
  return query.offsetDate <= 0 && page.length === all.length
    ? new Api.messages.Dialogs(body)
    : new Api.messages.DialogsSlice({ count: all.length, ...body })
}

/** The channel of an invite hash (`t.me/+HASH` or `t.me/joinchat/HASH` without the prefix); 400 if there is none. */
function invited(world: WorldApi, hash: unknown): ChannelInfo {
  const info = world.channelByInvite(String(hash ?? ""))
  return info ?? fail(400, "INVITE_HASH_INVALID")
}

function checkChatInvite(ctx: MethodContext, request: Api.messages.CheckChatInvite, caller: Caller) {
  const { world } = ctx
  const info = invited(world, request.hash)
  if (world.isMember(info.id, caller.userId!)) {
    return new Api.ChatInviteAlready({ chat: renderChannel(info, caller.userId) })
  }
  return new Api.ChatInvite({
    channel: true,
    ...(info.kind === "broadcast" ? { broadcast: true } : { megagroup: true }),
    title: info.title,
    about: info.about,
    photo: new Api.PhotoEmpty({ id: bigInt.zero }),
    participantsCount: info.participantsCount,
    color: 0,
  })
}

function importChatInvite(ctx: MethodContext, request: Api.messages.ImportChatInvite, caller: Caller) {
  const { world } = ctx
  const info = invited(world, request.hash)
  if (!world.join(info.id, caller.userId!)) fail(400, "USER_ALREADY_PARTICIPANT")
  return new Api.Updates({
    updates: [new Api.UpdateChannel({ channelId: peerChannel(info.id).channelId })],
    users: [],
    chats: [renderChannel(info, caller.userId)],
    date: world.now(),
    seq: 0,
  })
}

export const dialogsMethods: Handlers = {
  "messages.GetDialogs": getDialogs,
  "messages.CheckChatInvite": checkChatInvite,
  "messages.ImportChatInvite": importChatInvite,
}
