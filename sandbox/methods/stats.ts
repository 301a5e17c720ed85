/**
 * stats.*: broadcast and megagroup statistics, async and zoomed graphs, message statistics and public forwards
 * (core.telegram.org/api/stats), served only on the channel's stats DC and only to its admins.
 */
import { type Caller, fail } from "../session/Rpc.ts"
import { ChannelStats } from "../stats/ChannelStats.ts"
import { graphJson, malformedJson } from "../stats/GraphJson.ts"
import { type GraphData, NOT_ENOUGH_DATA } from "../stats/GraphSpecs.ts"
import type { AbsValue, PublicForward } from "../stats/StatsModel.ts"
import { peerChannel, renderChannel, renderUserAs } from "../tl/Render.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"
import type { ChannelInfo, ChannelKind, Post } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { readable } from "./Peers.ts"

/** Public forwards per page: 20 when the caller asks for 0, never more than 100. */
const FORWARDS_DEFAULT_LIMIT = 20
const FORWARDS_MAX_LIMIT = 100
/** stats.getMessagePublicForwards offsets: the last forward sent, `date:channelId:msgId`. */
const FORWARDS_OFFSET = /^(\d{1,10}):(\d{1,15}):(\d{1,10})$/

function isAdmin(info: ChannelInfo, userId: number | undefined): boolean {
  return userId !== undefined && info.adminUserIds.includes(userId)
}

/** A channel whose statistics the caller may read here, checked in Telegram's order: channel, DC, admin, kind. */
function statsChannel(ctx: MethodContext, input: any, caller: Caller, kind: ChannelKind): ChannelInfo {
  const info = readable(ctx.world, input, caller)
  // Statistics live on the channel's stats_dc; Telegram's clients re-send there through an exported sender.
  if (info.statsDc !== ctx.thisDc) fail(303, `STATS_MIGRATE_${info.statsDc}`)
  if (!isAdmin(info, caller.userId)) fail(400, "CHAT_ADMIN_REQUIRED")
  if (info.kind !== kind) fail(400, kind === "broadcast" ? "BROADCAST_REQUIRED" : "MEGAGROUP_REQUIRED")
  return info
}

function statsGraph(json: string, zoomToken?: string): Api.StatsGraph {
  return new Api.StatsGraph({
    json: new Api.DataJSON({ data: json }),
    ...(zoomToken === undefined ? {} : { zoomToken }),
  })
}

/** Who a graph is served to: the account (its tokens are its own) and the theme. */
interface Viewer {
  readonly userId: number
  readonly dark: boolean
}

/** A channel graph as served: malformed while the operator says so, with a zoom token when it zooms. */
function channelGraph(ctx: MethodContext, stats: ChannelStats, data: GraphData, viewer: Viewer): Api.StatsGraph {
  const { userId, dark } = viewer
  const { spec } = data
  const json = graphJson(data, dark)
  return statsGraph(
    ctx.switches.isMalformed(stats.info.id, spec.name) ? malformedJson(json) : json,
    spec.zoom
      ? ctx.tokens.issue({ kind: "zoom", channelId: stats.info.id, graph: spec.name, userId, dark })
      : undefined,
  )
}

/** Every graph of the channel by name, in TL field order (async tokens are issued in that order). */
function channelGraphs(ctx: MethodContext, stats: ChannelStats, viewer: Viewer) {
  const { userId, dark } = viewer
  const asOf = ctx.world.asOf()
  const out = new Map<string, Api.TypeStatsGraph>()
  for (const spec of stats.graphs) {
    if (spec.served === "error") out.set(spec.name, new Api.StatsGraphError({ error: NOT_ENOUGH_DATA }))
    else if (spec.served === "async") {
      const token = ctx.tokens.issue({ kind: "async", channelId: stats.info.id, graph: spec.name, userId, dark })
      out.set(spec.name, new Api.StatsGraphAsync({ token }))
    } else out.set(spec.name, channelGraph(ctx, stats, stats.data(spec, asOf), viewer))
  }
  return (name: string): Api.TypeStatsGraph => out.get(name)!
}

function absValue(v: AbsValue): Api.StatsAbsValueAndPrev {
  return new Api.StatsAbsValueAndPrev({ current: v.current, previous: v.previous })
}

function period(ctx: MethodContext): Api.StatsDateRangeDays {
  return new Api.StatsDateRangeDays(ChannelStats.period(ctx.world.asOf()))
}

function postOf(ctx: MethodContext, info: ChannelInfo, msgId: unknown): Post {
  return ctx.world.posts(info.id, [Number(msgId)])[0] ?? fail(400, "MSG_ID_INVALID")
}

/** Forwards after the offset `date:channelId:msgId` in their order (date descending, then ids ascending). */
function forwardsAfter(all: ReadonlyArray<PublicForward>, offset: string): number {
  if (offset === "") return 0
  const m = FORWARDS_OFFSET.exec(offset) ?? fail(400, "OFFSET_INVALID")
  const [date, channelId, msgId] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const i = all.findIndex((f) =>
    f.date < date || (f.date === date && (f.channelId > channelId || (f.channelId === channelId && f.msgId > msgId)))
  )
  return i < 0 ? all.length : i
}

function forwardMessage(post: Post, f: PublicForward): Api.Message {
  return new Api.Message({
    id: f.msgId,
    peerId: peerChannel(f.channelId),
    date: f.date,
    message: post.text,
    post: true,
    views: f.views,
    forwards: 0,
    fwdFrom: new Api.MessageFwdHeader({
      fromId: peerChannel(post.channelId),
      channelPost: post.id,
      date: post.date,
      ...(post.postAuthor === undefined ? {} : { postAuthor: post.postAuthor }),
    }),
  })
}

function getBroadcastStats(ctx: MethodContext, request: Api.stats.GetBroadcastStats, caller: Caller) {
  const { world } = ctx
  const info = statsChannel(ctx, request.channel, caller, "broadcast")
  const stats = new ChannelStats(world, info)
  const v = stats.broadcastValues(world.asOf())
  const graph = channelGraphs(ctx, stats, { userId: caller.userId!, dark: Boolean(request.dark) })
  return new Api.stats.BroadcastStats({
    period: period(ctx),
    followers: absValue(v.followers),
    viewsPerPost: absValue(v.viewsPerPost),
    sharesPerPost: absValue(v.sharesPerPost),
    reactionsPerPost: absValue(v.reactionsPerPost),
    viewsPerStory: absValue(v.viewsPerStory),
    sharesPerStory: absValue(v.sharesPerStory),
    reactionsPerStory: absValue(v.reactionsPerStory),
    enabledNotifications: new Api.StatsPercentValue({
      part: v.enabledNotifications.part,
      total: v.enabledNotifications.total,
    }),
    growthGraph: graph("growth_graph"),
    followersGraph: graph("followers_graph"),
    muteGraph: graph("mute_graph"),
    topHoursGraph: graph("top_hours_graph"),
    interactionsGraph: graph("interactions_graph"),
    ivInteractionsGraph: graph("iv_interactions_graph"),
    viewsBySourceGraph: graph("views_by_source_graph"),
    newFollowersBySourceGraph: graph("new_followers_by_source_graph"),
    languagesGraph: graph("languages_graph"),
    reactionsByEmotionGraph: graph("reactions_by_emotion_graph"),
    storyInteractionsGraph: graph("story_interactions_graph"),
    storyReactionsByEmotionGraph: graph("story_reactions_by_emotion_graph"),
    recentPostsInteractions: stats.recentPosts().map((p) => new Api.PostInteractionCountersMessage(p)),
  })
}

function getMegagroupStats(ctx: MethodContext, request: Api.stats.GetMegagroupStats, caller: Caller) {
  const { world } = ctx
  const info = statsChannel(ctx, request.channel, caller, "megagroup")
  const stats = new ChannelStats(world, info)
  const v = stats.megagroupValues(world.asOf())
  const graph = channelGraphs(ctx, stats, { userId: caller.userId!, dark: Boolean(request.dark) })
  const posters = stats.topPosters()
  const admins = stats.topAdmins()
  const inviters = stats.topInviters()
  const userIds = new Set([...posters, ...admins, ...inviters].map((t) => t.userId))
  return new Api.stats.MegagroupStats({
    period: period(ctx),
    members: absValue(v.members),
    messages: absValue(v.messages),
    viewers: absValue(v.viewers),
    posters: absValue(v.posters),
    growthGraph: graph("growth_graph"),
    membersGraph: graph("members_graph"),
    newMembersBySourceGraph: graph("new_members_by_source_graph"),
    languagesGraph: graph("languages_graph"),
    messagesGraph: graph("messages_graph"),
    actionsGraph: graph("actions_graph"),
    topHoursGraph: graph("top_hours_graph"),
    weekdaysGraph: graph("weekdays_graph"),
    topPosters: posters.map((t) =>
      new Api.StatsGroupTopPoster({ userId: toLong(t.userId), messages: t.messages, avgChars: t.avgChars })
    ),
    topAdmins: admins.map((t) =>
      new Api.StatsGroupTopAdmin({
        userId: toLong(t.userId),
        deleted: t.deleted,
        kicked: t.kicked,
        banned: t.banned,
      })
    ),
    topInviters: inviters.map((t) =>
      new Api.StatsGroupTopInviter({ userId: toLong(t.userId), invitations: t.invitations })
    ),
    users: [...userIds].map((id) => renderUserAs(world, id, caller.userId)),
  })
}

function loadAsyncGraph(ctx: MethodContext, request: Api.stats.LoadAsyncGraph, caller: Caller) {
  const { world, thisDc, tokens } = ctx
  const opened = tokens.open(String(request.token ?? "")) ?? fail(400, "GRAPH_INVALID_RELOAD")
  const { claims } = opened
  const info = world.channel(claims.channelId) ?? fail(400, "GRAPH_INVALID_RELOAD")
  if (info.statsDc !== thisDc) fail(303, `STATS_MIGRATE_${info.statsDc}`)
  if (claims.userId !== caller.userId) fail(400, "GRAPH_INVALID_RELOAD")
  if (opened.expired) fail(400, "GRAPH_EXPIRED_RELOAD")
  if (!isAdmin(info, caller.userId)) fail(400, "CHAT_ADMIN_REQUIRED")
  const stats = new ChannelStats(world, info)
  const spec = stats.graph(claims.graph) ?? fail(400, "GRAPH_INVALID_RELOAD")
  const asOf = world.asOf()
  const viewer = { userId: claims.userId, dark: claims.dark }
  if (claims.kind === "async") {
    if (spec.served !== "async") fail(400, "GRAPH_INVALID_RELOAD")
    return channelGraph(ctx, stats, stats.data(spec, asOf), viewer)
  }
  if (request.x === undefined || request.x === null) fail(400, "GRAPH_INVALID_RELOAD")
  const zoomed = stats.zoom(spec, Number(fromLong(request.x)), asOf)
  return zoomed === undefined
    ? new Api.StatsGraphError({ error: NOT_ENOUGH_DATA })
    : channelGraph(ctx, stats, zoomed, viewer)
}

function getMessageStats(ctx: MethodContext, request: Api.stats.GetMessageStats, caller: Caller) {
  const { world } = ctx
  const info = statsChannel(ctx, request.channel, caller, "broadcast")
  const post = postOf(ctx, info, request.msgId)
  const stats = new ChannelStats(world, info)
  const dark = Boolean(request.dark)
  const served = (data: GraphData | undefined) =>
    data === undefined ? new Api.StatsGraphError({ error: NOT_ENOUGH_DATA }) : statsGraph(graphJson(data, dark))
  return new Api.stats.MessageStats({
    viewsGraph: served(stats.messageViews(post, world.asOf())),
    reactionsByEmotionGraph: served(stats.messageReactions(post, world.asOf())),
  })
}

function getMessagePublicForwards(ctx: MethodContext, request: Api.stats.GetMessagePublicForwards, caller: Caller) {
  const { world } = ctx
  const info = statsChannel(ctx, request.channel, caller, "broadcast")
  const post = postOf(ctx, info, request.msgId)
  const all = new ChannelStats(world, info).publicForwards(post, world.asOf())
  const asked = Math.trunc(Number(request.limit) || 0)
  const limit = asked <= 0 ? FORWARDS_DEFAULT_LIMIT : Math.min(FORWARDS_MAX_LIMIT, asked)
  const start = forwardsAfter(all, String(request.offset ?? ""))
  const page = all.slice(start, start + limit)
  const last = page[page.length - 1]
  const chatIds = new Set([info.id, ...page.map((f) => f.channelId)])
  return new Api.stats.PublicForwards({
    count: all.length,
    forwards: page.map((f) => new Api.PublicForwardMessage({ message: forwardMessage(post, f) })),
    ...(last !== undefined && start + page.length < all.length
      ? { nextOffset: `${last.date}:${last.channelId}:${last.msgId}` }
      : {}),
    chats: [...chatIds].flatMap((id) => {
      const c = world.channel(id)
      return c ? [renderChannel(c, caller.userId)] : []
    }),
    users: [],
  })
}

export const statsMethods: Handlers = {
  "stats.GetBroadcastStats": getBroadcastStats,
  "stats.GetMegagroupStats": getMegagroupStats,
  "stats.LoadAsyncGraph": loadAsyncGraph,
  "stats.GetMessageStats": getMessageStats,
  "stats.GetMessagePublicForwards": getMessagePublicForwards,
}
