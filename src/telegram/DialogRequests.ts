/**
 * messages.getDialogs, messages.checkChatInvite and messages.importChatInvite: the GramJS requests and the domain
 * records their answers become (the dialogs' channels with access hashes, the next page's offset, an invite's channel).
 */
import { Api } from "telegram"
import bigInt from "big-integer"
import type {
  ChannelInfo,
  DialogChannel,
  DialogOffset,
  DialogPeer,
  DialogsPage,
  InviteCheck,
} from "../domain/Telegram.ts"
import type { GramClient } from "./GramClient.ts"
import { channelInfo, NotAChannel } from "./Requests.ts"

const idOf = (v: { toString(): string }) => Number(v.toString())

function inputPeer(peer: DialogPeer | null): Api.TypeInputPeer {
  if (peer === null) return new Api.InputPeerEmpty()
  const id = bigInt(peer.id)
  const accessHash = bigInt(peer.accessHash)
  switch (peer.kind) {
    case "channel":
      return new Api.InputPeerChannel({ channelId: id, accessHash })
    case "user":
      return new Api.InputPeerUser({ userId: id, accessHash })
    case "chat":
      return new Api.InputPeerChat({ chatId: id })
  }
}

/** The peer of a dialog as an offset peer, with the access hash the page's chats or users give it. */
function dialogPeer(peer: Api.TypePeer, chats: ReadonlyArray<Api.TypeChat>, users: ReadonlyArray<Api.TypeUser>) {
  if (peer instanceof Api.PeerChannel) {
    const chat = chats.find((c) => c instanceof Api.Channel && idOf(c.id) === idOf(peer.channelId)) as
      | Api.Channel
      | undefined
    return { kind: "channel", id: idOf(peer.channelId), accessHash: chat?.accessHash?.toString() ?? "0" } as const
  }
  if (peer instanceof Api.PeerUser) {
    const user = users.find((u) => u instanceof Api.User && idOf(u.id) === idOf(peer.userId)) as Api.User | undefined
    return { kind: "user", id: idOf(peer.userId), accessHash: user?.accessHash?.toString() ?? "0" } as const
  }
  return { kind: "chat", id: idOf((peer as Api.PeerChat).chatId), accessHash: "0" } as const
}

const peerKey = (peer: Api.TypePeer): string =>
  peer instanceof Api.PeerChannel
    ? `c${peer.channelId}`
    : peer instanceof Api.PeerUser
    ? `u${peer.userId}`
    : `g${(peer as Api.PeerChat).chatId}`

/** A messages.Dialogs / DialogsSlice answer as a page; `limit` tells whether it can be the last. */
export function dialogsPage(answer: Api.messages.TypeDialogs, limit: number): DialogsPage {
  if (answer instanceof Api.messages.DialogsNotModified) return { channels: [], size: 0, next: undefined }
  const { dialogs, messages, chats, users } = answer
  const channels: Array<DialogChannel> = []
  for (const d of dialogs) {
    if (!(d.peer instanceof Api.PeerChannel)) continue
    const chat = chats.find((c) =>
      c instanceof Api.Channel && idOf(c.id) === idOf((d.peer as Api.PeerChannel).channelId)
    )
    const info = channelInfo(chat)
    if (!info) continue
    const channel = chat as Api.Channel
    channels.push({
      channel: info,
      admin: channel.creator === true || channel.adminRights instanceof Api.ChatAdminRights,
    })
  }
  const last = dialogs.at(-1)
  // The whole list (messages.dialogs), a short page or an empty one: nothing after it.
  const complete = answer instanceof Api.messages.Dialogs || dialogs.length < limit || last === undefined
  let next: DialogOffset | undefined
  if (!complete) {
    const key = peerKey(last.peer)
    const top = messages.find((m) => m.id === last.topMessage && m.peerId !== undefined && peerKey(m.peerId) === key)
    next = {
      date: top !== undefined && "date" in top && typeof top.date === "number" ? top.date : 0,
      id: last.topMessage,
      peer: dialogPeer(last.peer, chats, users),
    }
  }
  return { channels, size: dialogs.length, next }
}

export const dialogRequests = {
  getDialogs: async (c: GramClient, offset: DialogOffset, limit: number): Promise<DialogsPage> =>
    dialogsPage(
      await c.invoke(
        new Api.messages.GetDialogs({
          offsetDate: offset.date,
          offsetId: offset.id,
          offsetPeer: inputPeer(offset.peer),
          limit,
          hash: bigInt.zero,
        }),
      ),
      limit,
    ),
  checkChatInvite: async (c: GramClient, hash: string): Promise<InviteCheck> => {
    const r = await c.invoke(new Api.messages.CheckChatInvite({ hash }))
    if (r instanceof Api.ChatInviteAlready) {
      const info = channelInfo(r.chat)
      if (!info) throw new NotAChannel("the invite link leads to a basic group, not a channel")
      return { _tag: "Member", channel: info }
    }
    if (r instanceof Api.ChatInvitePeek) {
      const info = channelInfo(r.chat)
      if (info) return { _tag: "NotMember", title: info.title, kind: info.kind, participantsCount: 0 }
    }
    const invite = r as Api.ChatInvite
    return {
      _tag: "NotMember",
      title: invite.title ?? "",
      kind: invite.channel ? (invite.megagroup ? "megagroup" : "broadcast") : "chat",
      participantsCount: invite.participantsCount ?? 0,
    }
  },
  importChatInvite: async (c: GramClient, hash: string): Promise<ChannelInfo> => {
    const r = await c.invoke(new Api.messages.ImportChatInvite({ hash }))
    const chats: ReadonlyArray<Api.TypeChat> = "chats" in r ? r.chats : []
    const info = channelInfo(chats.find((chat) => chat instanceof Api.Channel))
    if (!info) throw new NotAChannel("the invite link leads to a basic group, not a channel")
    return info
  },
}
