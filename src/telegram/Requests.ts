/**
 * Every Telegram method tgpulse calls: the GramJS request it sends and the domain record its answer becomes. Plain
 * functions of a connected GramJS client; the account adapter adds timeouts, metrics, spans and proxies around them.
 */
import { Api } from "telegram"
import bigInt from "big-integer"
import type { ChannelInfo, ChannelRef, FullChannel, HistoryPage, HistoryParams, PostViews } from "../domain/Telegram.ts"
import type { ChannelStats, MessageStats, PublicForwardsPage, RawGraph } from "../domain/Stats.ts"
import type { ChannelDifference, MetricEvent } from "../domain/Updates.ts"
import type { ProbedIds } from "../domain/DeletionPlan.ts"
import type { GramClient } from "./GramClient.ts"
import { reactionsOf } from "./Normalize.ts"
import type { PageDecoder } from "./PageDecoder.ts"
import { type RawAnswer, RawHistoryRequest } from "./PageDecoding.ts"
import { repliesPage } from "./CommentNormalize.ts"
import { channelStats, messageStats, publicForwards, rawGraph } from "./StatsNormalize.ts"
import { channelDifference } from "./UpdatesNormalize.ts"

/** Every method the adapter calls (`mtproto_requests_total` has their series from the first scrape). */
export const TELEGRAM_METHODS = [
  "channels.GetChannels",
  "channels.GetFullChannel",
  "channels.GetMessages",
  "contacts.ResolveUsername",
  "messages.CheckChatInvite",
  "messages.GetDialogs",
  "messages.GetHistory",
  "messages.ImportChatInvite",
  "messages.GetReplies",
  "messages.GetMessagesReactions",
  "messages.GetMessagesViews",
  "stats.GetBroadcastStats",
  "stats.GetMegagroupStats",
  "stats.GetMessagePublicForwards",
  "stats.GetMessageStats",
  "stats.LoadAsyncGraph",
  "updates.GetChannelDifference",
] as const
export type TelegramMethod = (typeof TELEGRAM_METHODS)[number]

/** A Channel chat as a ChannelInfo; undefined for anything else (a user, a basic group). */
export function channelInfo(chat: Api.TypeChat | undefined): ChannelInfo | undefined {
  if (!(chat instanceof Api.Channel)) return undefined
  return {
    id: Number(chat.id.toString()),
    accessHash: chat.accessHash?.toString() ?? "0",
    username: chat.username ?? chat.usernames?.[0]?.username ?? null,
    title: chat.title ?? "",
    kind: chat.megagroup ? "megagroup" : "broadcast",
    participantsCount: typeof chat.participantsCount === "number" ? chat.participantsCount : null,
  }
}

const inputPeer = (channel: ChannelRef) =>
  new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) })

const inputChannel = (channel: ChannelRef) =>
  new Api.InputChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) })

/**
 * The DC router: a request for DC `dc` goes through GramJS's exported sender for that DC (one per DC, authorized by
 * auth.exportAuthorization / importAuthorization once, reused, released after 30 s idle); a request for the account's
 * own DC (or an unknown one) goes on the main connection, which never moves.
 */
function invokeOn<R extends Api.AnyRequest>(client: GramClient, request: R, dc: number | undefined) {
  return dc === undefined || dc === client.session.dcId ? client.invoke(request) : client.invoke(request, dc)
}

/** Fails a call whose answer names no channel (a user, a basic group): the caller maps it to PeerUnavailable. */
export class NotAChannel extends Error {
  readonly errorMessage = "NOT_A_CHANNEL"
  readonly code = 400
}

const onlyChannel = (info: ChannelInfo | undefined): ChannelInfo => {
  if (!info) throw new NotAChannel("not a channel")
  return info
}

/** The paging fields getHistory and getReplies share (no hash: tgpulse keeps no cached pages to confirm). */
const pageOf = (params: HistoryParams) => ({
  offsetId: params.offsetId,
  offsetDate: params.offsetDate ?? 0,
  addOffset: params.addOffset,
  limit: params.limit,
  maxId: params.maxId,
  minId: params.minId,
  hash: bigInt.zero,
})

export const requests = {
  resolveUsername: async (c: GramClient, username: string): Promise<ChannelInfo> => {
    const r = await c.invoke(new Api.contacts.ResolveUsername({ username }))
    return onlyChannel(channelInfo(r.chats.find((chat) => chat instanceof Api.Channel)))
  },
  getChannel: async (c: GramClient, id: number, accessHash: string): Promise<ChannelInfo> => {
    const r = await c.invoke(
      new Api.channels.GetChannels({
        id: [new Api.InputChannel({ channelId: bigInt(id), accessHash: bigInt(accessHash) })],
      }),
    )
    return onlyChannel(channelInfo(r.chats[0]))
  },
  /** The answer comes undecoded and `decoder` decodes it (on a worker thread when it has workers). */
  getHistory: async (
    c: GramClient,
    channel: ChannelRef,
    params: HistoryParams,
    decoder: PageDecoder,
  ): Promise<HistoryPage> => {
    const answer = await c.invoke(
      new RawHistoryRequest({ peer: inputPeer(channel), ...pageOf(params) }),
    ) as unknown as RawAnswer
    return decoder.history(answer.bytes, channel.id)
  },
  getFullChannel: async (c: GramClient, channel: ChannelRef): Promise<FullChannel> => {
    const answer = await c.invoke(new Api.channels.GetFullChannel({ channel: inputChannel(channel) }))
    const f = answer.fullChat instanceof Api.ChannelFull ? answer.fullChat : undefined
    const linked = f?.linkedChatId?.toString()
    return {
      canViewStats: f?.canViewStats === true,
      statsDc: typeof f?.statsDc === "number" ? f.statsDc : null,
      participantsCount: typeof f?.participantsCount === "number" ? f.participantsCount : null,
      pts: typeof f?.pts === "number" ? f.pts : null,
      // A megagroup's linked_chat_id names the channel it discusses: only a broadcast's is its discussion group.
      linkedChat: linked === undefined
        ? null
        : channelInfo(answer.chats.find((chat) => chat instanceof Api.Channel && chat.id.toString() === linked)) ??
          null,
    }
  },
  getReplies: async (c: GramClient, channel: ChannelRef, postId: number, params: HistoryParams) =>
    repliesPage(
      await c.invoke(
        new Api.messages.GetReplies({ peer: inputPeer(channel), msgId: postId, ...pageOf(params) }),
      ),
      channel.id,
    ),
  broadcastStats: async (c: GramClient, channel: ChannelRef, dc: number | undefined): Promise<ChannelStats> =>
    channelStats(await invokeOn(c, new Api.stats.GetBroadcastStats({ channel: inputChannel(channel) }), dc)),
  megagroupStats: async (c: GramClient, channel: ChannelRef, dc: number | undefined): Promise<ChannelStats> =>
    channelStats(await invokeOn(c, new Api.stats.GetMegagroupStats({ channel: inputChannel(channel) }), dc)),
  loadAsyncGraph: async (c: GramClient, token: string, dc: number | undefined, x?: number): Promise<RawGraph> => {
    const r = await invokeOn(
      c,
      new Api.stats.LoadAsyncGraph({ token, ...(x === undefined ? {} : { x: bigInt(x) }) }),
      dc,
    )
    return rawGraph(r) ?? { _tag: "Error", error: `unexpected ${r.className}` }
  },
  messageStats: async (
    c: GramClient,
    channel: ChannelRef,
    msgId: number,
    dc: number | undefined,
  ): Promise<MessageStats> =>
    messageStats(await invokeOn(c, new Api.stats.GetMessageStats({ channel: inputChannel(channel), msgId }), dc)),
  publicForwards: async (
    c: GramClient,
    channel: ChannelRef,
    msgId: number,
    page: { readonly offset: string; readonly limit: number },
    dc: number | undefined,
  ): Promise<PublicForwardsPage> =>
    publicForwards(
      await invokeOn(
        c,
        new Api.stats.GetMessagePublicForwards({
          channel: inputChannel(channel),
          msgId,
          offset: page.offset,
          limit: page.limit,
        }),
        dc,
      ),
    ),
  getChannelDifference: async (
    c: GramClient,
    channel: ChannelRef,
    pts: number,
    limit: number,
  ): Promise<ChannelDifference> =>
    channelDifference(
      await c.invoke(
        new Api.updates.GetChannelDifference({
          channel: inputChannel(channel),
          filter: new Api.ChannelMessagesFilterEmpty(),
          pts,
          limit,
        }),
      ),
      channel.id,
    ),
  getMessagesByIds: async (c: GramClient, channel: ChannelRef, ids: ReadonlyArray<number>): Promise<ProbedIds> => {
    const r = await c.invoke(
      new Api.channels.GetMessages({
        channel: inputChannel(channel),
        id: ids.map((id) => new Api.InputMessageID({ id })),
      }),
    )
    const messages: ReadonlyArray<Api.TypeMessage> = "messages" in r ? r.messages : []
    const found: Array<number> = []
    const empty: Array<number> = []
    for (const m of messages) (m instanceof Api.MessageEmpty ? empty : found).push(m.id)
    return { found, empty }
  },
  getMessagesViews: async (
    c: GramClient,
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Promise<ReadonlyArray<PostViews>> => {
    const r = await c.invoke(
      new Api.messages.GetMessagesViews({ peer: inputPeer(channel), id: [...ids], increment: false }),
    )
    return r.views.flatMap((v, i): Array<PostViews> =>
      ids[i] === undefined ? [] : [{
        msgId: ids[i]!,
        views: typeof v.views === "number" ? v.views : null,
        forwards: typeof v.forwards === "number" ? v.forwards : null,
        replies: typeof v.replies?.replies === "number" ? v.replies.replies : null,
      }]
    )
  },
  getMessagesReactions: async (
    c: GramClient,
    channel: ChannelRef,
    ids: ReadonlyArray<number>,
  ): Promise<ReadonlyArray<MetricEvent>> => {
    const r = await c.invoke(new Api.messages.GetMessagesReactions({ peer: inputPeer(channel), id: [...ids] }))
    const updates = r instanceof Api.Updates || r instanceof Api.UpdatesCombined ? r.updates : []
    return updates.flatMap((u): Array<MetricEvent> => {
      if (!(u instanceof Api.UpdateMessageReactions)) return []
      const { byKey, total } = reactionsOf(u.reactions)
      return [{
        _tag: "Reactions",
        channelId: channel.id,
        msgId: Number(u.msgId),
        reactions: byKey,
        reactionsTotal: total,
      }]
    })
  },
} as const
