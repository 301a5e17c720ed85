/** The sandbox's API method handlers (help, users, contacts, updates, channels, messages, stats, auth, 2FA SRP). */
import { Buffer } from "node:buffer"
import { timingSafeEqual } from "node:crypto"
import { AuthState } from "./Auth.ts"
import { Writer } from "./Bytes.ts"
import type { StatsControl } from "./Control.ts"
import type { Account, ChannelInfo, ChannelKind, Post, PtsChange, WorldApi } from "./Model.ts"
import { type Caller, fail, type MethodHandler, type MethodTable, RawResult, type RpcResult } from "./Rpc.ts"
import {
  discussionGroupId,
  peerChannel,
  peerUser,
  renderChannel,
  renderPlaceholderUser,
  renderReactions,
  renderUser,
  writeMessage,
  writeUpdate,
} from "./Render.ts"
import {
  type AbsValue,
  ChannelStats,
  type GraphData,
  graphJson,
  malformedJson,
  NOT_ENOUGH_DATA,
  type PublicForward,
} from "./Stats.ts"
import { StatsSwitches } from "./StatsSwitches.ts"
import { StatsTokens } from "./StatsTokens.ts"
import { Api, bigInt, fromLong, type TlObject, toLong } from "./Tl.ts"

export interface MethodsOptions {
  readonly world: WorldApi
  /** Every DC of the sandbox (advertised by help.getConfig). */
  readonly dcs: ReadonlyArray<{ readonly id: number; readonly host: string; readonly port: number }>
  readonly mainDc: number
  /** The DC these handlers serve. */
  readonly thisDc: number
  /**
   * Statistics tokens and switches, shared by every DC of a sandbox (a token issued on one DC is checked on all).
   * @default private ones: tokens on the wall clock with the default TTL, no switch set
   */
  readonly stats?: { readonly tokens: StatsTokens; readonly switches: StatsControl }
}

/** Methods a caller whose auth key is not authorized may call; everything else answers 401 AUTH_KEY_UNREGISTERED. */
export const UNAUTHORIZED_METHODS: ReadonlySet<string> = new Set([
  "help.GetConfig",
  "help.GetNearestDc",
  "auth.SendCode",
  "auth.SignIn",
  "auth.CheckPassword",
  "auth.ImportAuthorization",
  "account.GetPassword",
])

/** The confirmation code of every test phone. */
export const SANDBOX_CODE = "22222"

/** Cached getHistory answers (pages are replayed many times by benchmarks). */
const HISTORY_CACHE_ENTRIES = 2_000
const HISTORY_CACHE_BYTES = 64 * 1024 * 1024

const USERNAME = /^[a-zA-Z]\w{3,31}$/

/** updates.getChannelDifference: the largest `limit` (larger ones are capped), and the re-poll `timeout` in seconds. */
const DIFFERENCE_MAX_LIMIT = 100_000
const DIFFERENCE_TIMEOUT = 30
/** Posts a channelDifferenceTooLong carries at most (the newest ones). */
const TOO_LONG_MESSAGES = 100

/** Public forwards per page: 20 when the caller asks for 0, never more than 100. */
const FORWARDS_DEFAULT_LIMIT = 20
const FORWARDS_MAX_LIMIT = 100
/** stats.getMessagePublicForwards offsets: the last forward sent, `date:channelId:msgId`. */
const FORWARDS_OFFSET = /^(\d{1,10}):(\d{1,15}):(\d{1,10})$/

/** A small LRU of serialized answers bounded by entries and bytes. */
class ByteLru {
  private readonly map = new Map<string, Uint8Array>()
  private bytes = 0
  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set(key: string, value: Uint8Array): void {
    const old = this.map.get(key)
    if (old !== undefined) {
      this.bytes -= old.length
      this.map.delete(key)
    }
    this.map.set(key, value)
    this.bytes += value.length
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next()
      if (first.done) break
      this.bytes -= this.map.get(first.value)!.length
      this.map.delete(first.value)
    }
  }

  get size(): number {
    return this.map.size
  }
}

export function makeMethods(options: MethodsOptions): MethodTable {
  const { world, dcs, mainDc, thisDc } = options
  const history = new ByteLru(HISTORY_CACHE_ENTRIES, HISTORY_CACHE_BYTES)
  const auth = new AuthState(world)
  const switches = options.stats?.switches ?? new StatsSwitches()
  const tokens = options.stats?.tokens ??
    new StatsTokens({ secret: `${world.seed}`, nowMs: Date.now, bornExpired: () => switches.takeBornExpired() })

  // --- peers and access -------------------------------------------------------------------------------------------

  const canRead = (info: ChannelInfo, userId: number | undefined): boolean =>
    !info.isPrivate ||
    (userId !== undefined && (info.memberUserIds.includes(userId) || info.adminUserIds.includes(userId)))

  /** An InputPeerChannel / InputChannel whose id and access hash match a world channel. */
  const channelOf = (input: any): ChannelInfo => {
    const name: string | undefined = input?.className
    if (name === "InputChannelEmpty") return fail(400, "CHANNEL_INVALID")
    if (name !== "InputPeerChannel" && name !== "InputChannel") return fail(400, "PEER_ID_INVALID")
    const info = world.channel(Number(fromLong(input.channelId)))
    if (!info || info.accessHash !== fromLong(input.accessHash)) return fail(400, "CHANNEL_INVALID")
    return info
  }

  /** As `channelOf`, and the caller must be allowed to read it. */
  const readable = (input: any, caller: Caller): ChannelInfo => {
    const info = channelOf(input)
    if (!canRead(info, caller.userId)) fail(406, "CHANNEL_PRIVATE")
    return info
  }

  const userOf = (id: number, viewer: number | undefined): Api.User => {
    const account = world.account(id)
    return account ? renderUser(account, id === viewer) : renderPlaceholderUser(id)
  }

  /** Chats and users referenced by posts: the channel, forward sources, megagroup authors. */
  const related = (info: ChannelInfo, posts: ReadonlyArray<Post | undefined>, viewer: number | undefined) => {
    const chatIds = new Set<number>([info.id])
    const userIds = new Set<number>()
    for (const p of posts) {
      if (!p) continue
      if (p.forward) chatIds.add(p.forward.channelId)
      if (p.fromUserId !== undefined) userIds.add(p.fromUserId)
    }
    const chats: Array<TlObject> = []
    for (const id of chatIds) {
      const c = id === info.id ? info : world.channel(id)
      if (c) chats.push(renderChannel(c, viewer))
    }
    return { chats, users: [...userIds].map((id) => userOf(id, viewer)) }
  }

  /** Writes the chats and users vectors for `posts` of the channel. */
  const writeRelated = (
    w: Writer,
    info: ChannelInfo,
    posts: ReadonlyArray<Post | undefined>,
    viewer: number | undefined,
  ) => {
    const { chats, users } = related(info, posts, viewer)
    w.vector(chats.length)
    for (const c of chats) w.raw(c.getBytes())
    w.vector(users.length)
    for (const u of users) w.raw(u.getBytes())
  }

  /** Channels whose changes `userId` is told about (members get their pushes; admins see them too). */
  const follows = (info: ChannelInfo, userId: number): boolean =>
    info.memberUserIds.includes(userId) || info.adminUserIds.includes(userId)

  const updatesState = () => new Api.updates.State({ pts: 1, qts: 0, date: world.now(), seq: 0, unreadCount: 0 })

  /** channelDifferenceTooLong: the dialog at the current pts and the newest posts; the client re-syncs history. */
  const channelDifferenceTooLong = (info: ChannelInfo, viewer: number | undefined, limit: number): Uint8Array => {
    const posts = world.history(info.id, {
      offsetId: 0,
      offsetDate: 0,
      addOffset: 0,
      limit: Math.min(limit, TOO_LONG_MESSAGES),
      maxId: 0,
      minId: 0,
      hash: 0n,
    }).posts
    const top = posts[0]?.id ?? 0
    const dialog = new Api.Dialog({
      peer: peerChannel(info.id),
      topMessage: top,
      readInboxMaxId: top,
      readOutboxMaxId: top,
      unreadCount: 0,
      unreadMentionsCount: 0,
      unreadReactionsCount: 0,
      notifySettings: new Api.PeerNotifySettings({}),
      pts: world.pts(info.id),
    })
    const w = new Writer(4096 + posts.length * 600)
    // flags: final (0), timeout (1)
    w.uint32(Api.updates.ChannelDifferenceTooLong.CONSTRUCTOR_ID).uint32(0b11).int32(DIFFERENCE_TIMEOUT)
    w.raw(dialog.getBytes())
    w.vector(posts.length)
    for (const p of posts) writeMessage(w, p)
    writeRelated(w, info, posts, viewer)
    return w.finish()
  }

  /**
   * updates.channelDifference for changes after `pts` (oldest first), as many as fit in `limit` pts but at least one
   * (a change's pts_count is never split). New posts and edits are sent as they are now; those deleted since are left
   * out (a later deletion covers them).
   */
  const channelDifference = (
    info: ChannelInfo,
    viewer: number | undefined,
    pts: number,
    changes: ReadonlyArray<PtsChange>,
    limit: number,
  ): Uint8Array => {
    let end = 1
    while (end < changes.length && changes[end]!.pts - pts <= limit) end++
    const page = changes.slice(0, end)
    const final = end === changes.length
    const wanted = page.flatMap((c) => (c.kind === "delete" ? [] : c.ids))
    const now = new Map<number, Post>()
    world.posts(info.id, wanted).forEach((p) => p && now.set(p.id, p))
    const newPosts: Array<Post> = []
    const edited: Array<Post> = []
    for (const c of page) {
      if (c.kind === "new") {
        const post = now.get(c.ids[0]!)
        if (post) newPosts.push(post)
      }
    }
    const w = new Writer(4096 + wanted.length * 600)
    // flags: final (0), timeout (1)
    w.uint32(Api.updates.ChannelDifference.CONSTRUCTOR_ID).uint32(final ? 0b11 : 0b10)
    w.int32(page[page.length - 1]!.pts).int32(DIFFERENCE_TIMEOUT)
    w.vector(newPosts.length)
    for (const p of newPosts) writeMessage(w, p)
    const other = page.filter((c) => c.kind === "delete" || (c.kind === "edit" && now.has(c.ids[0]!)))
    w.vector(other.length)
    for (const c of other) {
      if (c.kind === "delete") writeUpdate(w, { _tag: "DeletePosts", channelId: info.id, ids: c.ids, pts: c.pts })
      else {
        const post = now.get(c.ids[0]!)!
        edited.push(post)
        writeUpdate(w, { _tag: "EditPost", channelId: info.id, post, pts: c.pts })
      }
    }
    writeRelated(w, info, [...newPosts, ...edited], viewer)
    return w.finish()
  }

  /** messages.channelMessages bytes; `undefined` entries become messageEmpty with the matching id. */
  const channelMessages = (args: {
    readonly info: ChannelInfo
    readonly viewer: number | undefined
    readonly count: number
    readonly offsetIdOffset: number | undefined
    readonly posts: ReadonlyArray<Post | undefined>
    readonly emptyIds?: ReadonlyArray<number>
  }): Uint8Array => {
    const w = new Writer(4096 + args.posts.length * 600)
    w.uint32(Api.messages.ChannelMessages.CONSTRUCTOR_ID).uint32(args.offsetIdOffset === undefined ? 0 : 1 << 2)
    w.int32(world.pts(args.info.id)).int32(args.count)
    if (args.offsetIdOffset !== undefined) w.int32(args.offsetIdOffset)
    w.vector(args.posts.length)
    args.posts.forEach((p, i) => {
      if (p) writeMessage(w, p)
      else w.uint32(Api.MessageEmpty.CONSTRUCTOR_ID).uint32(0).int32(args.emptyIds?.[i] ?? 0)
    })
    w.vector(0)
    writeRelated(w, args.info, args.posts, args.viewer)
    return w.finish()
  }

  const repliesOf = (p: Post): Api.MessageReplies =>
    new Api.MessageReplies(
      p.fromUserId === undefined
        ? { comments: true, channelId: toLong(discussionGroupId(p.channelId)), replies: p.replies, repliesPts: p.id }
        : { replies: p.replies, repliesPts: p.id },
    )

  const accountOfInputUser = (input: any, caller: Caller): Account | undefined => {
    switch (input?.className) {
      case "InputUserSelf":
        return caller.userId === undefined ? undefined : world.account(caller.userId)
      case "InputUser":
      case "InputPeerUser":
        return world.account(Number(fromLong(input.userId)))
      default:
        return undefined
    }
  }

  const authorization = (account: Account): Api.auth.Authorization =>
    new Api.auth.Authorization({ user: renderUser(account, true) })

  // --- statistics ------------------------------------------------------------------------------------------------

  const isAdmin = (info: ChannelInfo, userId: number | undefined): boolean =>
    userId !== undefined && info.adminUserIds.includes(userId)

  /** A channel whose statistics the caller may read here, checked in Telegram's order: channel, DC, admin, kind. */
  const statsChannel = (input: any, caller: Caller, kind: ChannelKind): ChannelInfo => {
    const info = readable(input, caller)
    // Statistics live on the channel's stats_dc; Telegram's clients re-send there through an exported sender.
    if (info.statsDc !== thisDc) fail(303, `STATS_MIGRATE_${info.statsDc}`)
    if (!isAdmin(info, caller.userId)) fail(400, "CHAT_ADMIN_REQUIRED")
    if (info.kind !== kind) fail(400, kind === "broadcast" ? "BROADCAST_REQUIRED" : "MEGAGROUP_REQUIRED")
    return info
  }

  const statsGraph = (json: string, zoomToken?: string): Api.StatsGraph =>
    new Api.StatsGraph({
      json: new Api.DataJSON({ data: json }),
      ...(zoomToken === undefined ? {} : { zoomToken }),
    })

  /** A channel graph as served: malformed while the operator says so, with a zoom token when it zooms. */
  const channelGraph = (stats: ChannelStats, data: GraphData, userId: number, dark: boolean): Api.StatsGraph => {
    const { spec } = data
    const json = graphJson(data, dark)
    return statsGraph(
      switches.isMalformed(stats.info.id, spec.name) ? malformedJson(json) : json,
      spec.zoom ? tokens.issue({ kind: "zoom", channelId: stats.info.id, graph: spec.name, userId, dark }) : undefined,
    )
  }

  /** Every graph of the channel by name, in TL field order (async tokens are issued in that order). */
  const channelGraphs = (stats: ChannelStats, userId: number, dark: boolean) => {
    const now = world.now()
    const out = new Map<string, Api.TypeStatsGraph>()
    for (const spec of stats.graphs) {
      if (spec.served === "error") out.set(spec.name, new Api.StatsGraphError({ error: NOT_ENOUGH_DATA }))
      else if (spec.served === "async") {
        const token = tokens.issue({ kind: "async", channelId: stats.info.id, graph: spec.name, userId, dark })
        out.set(spec.name, new Api.StatsGraphAsync({ token }))
      } else out.set(spec.name, channelGraph(stats, stats.data(spec, now), userId, dark))
    }
    return (name: string): Api.TypeStatsGraph => out.get(name)!
  }

  const absValue = (v: AbsValue) => new Api.StatsAbsValueAndPrev({ current: v.current, previous: v.previous })

  const period = () => new Api.StatsDateRangeDays(ChannelStats.period(world.now()))

  const postOf = (info: ChannelInfo, msgId: unknown): Post =>
    world.posts(info.id, [Number(msgId)])[0] ?? fail(400, "MSG_ID_INVALID")

  /** Forwards after the offset `date:channelId:msgId` in their order (date descending, then ids ascending). */
  const forwardsAfter = (all: ReadonlyArray<PublicForward>, offset: string): number => {
    if (offset === "") return 0
    const m = FORWARDS_OFFSET.exec(offset) ?? fail(400, "OFFSET_INVALID")
    const [date, channelId, msgId] = [Number(m[1]), Number(m[2]), Number(m[3])]
    const i = all.findIndex((f) =>
      f.date < date || (f.date === date && (f.channelId > channelId || (f.channelId === channelId && f.msgId > msgId)))
    )
    return i < 0 ? all.length : i
  }

  const forwardMessage = (post: Post, f: PublicForward): Api.Message =>
    new Api.Message({
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

  // --- handlers --------------------------------------------------------------------------------------------------

  const handlers: Record<string, MethodHandler> = {
    "help.GetConfig": () => {
      const date = world.now()
      return new Api.Config({
        date,
        expires: date + 3600,
        testMode: false,
        thisDc,
        dcOptions: dcs.map((dc) => new Api.DcOption({ id: dc.id, ipAddress: dc.host, port: dc.port })),
        dcTxtDomainName: "sandbox.invalid",
        chatSizeMax: 200,
        megagroupSizeMax: 200_000,
        forwardedCountMax: 100,
        onlineUpdatePeriodMs: 210_000,
        offlineBlurTimeoutMs: 5_000,
        offlineIdleTimeoutMs: 30_000,
        onlineCloudTimeoutMs: 300_000,
        notifyCloudDelayMs: 30_000,
        notifyDefaultDelayMs: 1_500,
        pushChatPeriodMs: 60_000,
        pushChatLimit: 2,
        editTimeLimit: 172_800,
        revokeTimeLimit: 2_147_483_647,
        revokePmTimeLimit: 2_147_483_647,
        ratingEDecay: 2_419_200,
        stickersRecentLimit: 200,
        channelsReadMediaPeriod: 604_800,
        callReceiveTimeoutMs: 20_000,
        callRingTimeoutMs: 90_000,
        callConnectTimeoutMs: 30_000,
        callPacketTimeoutMs: 10_000,
        meUrlPrefix: "https://t.me/",
        captionLengthMax: 1024,
        messageLengthMax: 4096,
        webfileDcId: mainDc,
      })
    },

    "help.GetNearestDc": () => new Api.NearestDc({ country: "ZZ", thisDc, nearestDc: mainDc }),

    "users.GetUsers": (request: Api.users.GetUsers, caller) => {
      const out: Array<Api.User> = []
      for (const input of request.id ?? []) {
        const account = accountOfInputUser(input, caller)
        if (account) out.push(renderUser(account, account.userId === caller.userId))
      }
      return out
    },

    "users.GetFullUser": (request: Api.users.GetFullUser, caller) => {
      const account = accountOfInputUser(request.id, caller) ?? fail(400, "USER_ID_INVALID")
      return new Api.users.UserFull({
        fullUser: new Api.UserFull({
          id: toLong(account.userId),
          about: "",
          settings: new Api.PeerSettings({}),
          notifySettings: new Api.PeerNotifySettings({}),
          commonChatsCount: 0,
        }),
        chats: [],
        users: [renderUser(account, account.userId === caller.userId)],
      })
    },

    // --- updates (core.telegram.org/api/updates) -------------------------------------------------------------------

    // The common box holds no events here (channels have their own pts), so its pts stays 1.
    "updates.GetState": () => updatesState(),

    // A channel changed at or after `date` (world seconds: the clock often stands still in tests) is announced with
    // updateChannelTooLong, as Telegram does for channels a client must catch up on with getChannelDifference.
    "updates.GetDifference": (request: Api.updates.GetDifference, caller) => {
      const since = Math.trunc(Number(request.date) || 0)
      const userId = caller.userId!
      const changed = world.channels.filter((c) =>
        follows(c, userId) && (world.lastChangeDate(c.id) ?? Number.NEGATIVE_INFINITY) >= since
      )
      if (changed.length === 0) return new Api.updates.DifferenceEmpty({ date: world.now(), seq: 0 })
      return new Api.updates.Difference({
        newMessages: [],
        newEncryptedMessages: [],
        otherUpdates: changed.map((c) =>
          new Api.UpdateChannelTooLong({ channelId: toLong(c.id), pts: world.pts(c.id) })
        ),
        chats: changed.map((c) => renderChannel(c, userId)),
        users: [],
        state: updatesState(),
      })
    },

    "updates.GetChannelDifference": (request: Api.updates.GetChannelDifference, caller) => {
      const info = readable(request.channel, caller)
      const pts = Math.trunc(Number(request.pts) || 0)
      const limit = Math.min(DIFFERENCE_MAX_LIMIT, Math.max(1, Math.trunc(Number(request.limit) || 0)))
      const current = world.pts(info.id)
      const changes = pts > current ? undefined : world.changesSince(info.id, pts)
      if (changes === undefined) return new RawResult(channelDifferenceTooLong(info, caller.userId, limit))
      if (changes.length === 0) {
        return new Api.updates.ChannelDifferenceEmpty({ final: true, pts: current, timeout: DIFFERENCE_TIMEOUT })
      }
      return new RawResult(channelDifference(info, caller.userId, pts, changes, limit))
    },

    "contacts.ResolveUsername": (request: Api.contacts.ResolveUsername, caller) => {
      const username = String(request.username ?? "").replace(/^@/, "")
      if (!USERNAME.test(username)) fail(400, "USERNAME_INVALID")
      const lower = username.toLowerCase()
      const info = world.channelByUsername(username) ?? world.channels.find((c) => c.username.toLowerCase() === lower)
      if (info) {
        return new Api.contacts.ResolvedPeer({
          peer: peerChannel(info.id),
          chats: [renderChannel(info, caller.userId)],
          users: [],
        })
      }
      const account = world.accounts.find((a) => a.username.toLowerCase() === lower)
      if (account) {
        return new Api.contacts.ResolvedPeer({
          peer: peerUser(account.userId),
          chats: [],
          users: [renderUser(account, account.userId === caller.userId)],
        })
      }
      return fail(400, "USERNAME_NOT_OCCUPIED")
    },

    "channels.GetChannels": (request: Api.channels.GetChannels, caller) =>
      new Api.messages.Chats({
        chats: (request.id ?? []).map((input) => renderChannel(channelOf(input), caller.userId)),
      }),

    "channels.GetFullChannel": (request: Api.channels.GetFullChannel, caller) => {
      const info = readable(request.channel, caller)
      const admin = caller.userId !== undefined && info.adminUserIds.includes(caller.userId)
      const newest = world.history(info.id, {
        offsetId: 0,
        offsetDate: 0,
        addOffset: 0,
        limit: 1,
        maxId: 0,
        minId: 0,
        hash: 0n,
      }).posts[0]?.id ?? 0
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
        }),
        chats: [renderChannel(info, caller.userId)],
        users: [],
      })
    },

    "channels.GetMessages": (request: Api.channels.GetMessages, caller) => {
      const info = readable(request.channel, caller)
      const ids = (request.id ?? []).map((m: any) => (m?.className === "InputMessageID" ? Number(m.id) : 0))
      const posts = world.posts(info.id, ids)
      const bytes = channelMessages({
        info,
        viewer: caller.userId,
        count: ids.length,
        offsetIdOffset: undefined,
        posts,
        emptyIds: ids,
      })
      return new RawResult(bytes)
    },

    "messages.GetHistory": (request: Api.messages.GetHistory, caller) => {
      const info = readable(request.peer, caller)
      const q = {
        offsetId: Number(request.offsetId) || 0,
        offsetDate: Number(request.offsetDate) || 0,
        addOffset: Number(request.addOffset) || 0,
        limit: Number(request.limit) || 0,
        maxId: Number(request.maxId) || 0,
        minId: Number(request.minId) || 0,
        hash: request.hash === undefined || request.hash === null ? 0n : fromLong(request.hash),
      }
      const viewer = caller.userId
      const key = `${info.id}:${
        world.version(info.id)
      }:${q.offsetId}:${q.offsetDate}:${q.addOffset}:${q.limit}:${q.maxId}:${q.minId}:${q.hash}:${viewer ?? 0}`
      const cached = history.get(key)
      if (cached) return new RawResult(cached)
      const page = world.history(info.id, q)
      const bytes = page.notModified
        ? new Api.messages.MessagesNotModified({ count: page.count }).getBytes()
        : channelMessages({
          info,
          viewer,
          count: page.count,
          offsetIdOffset: page.offsetIdOffset,
          posts: page.posts,
        })
      history.set(key, bytes)
      return new RawResult(bytes)
    },

    "messages.GetMessagesViews": (request: Api.messages.GetMessagesViews, caller) => {
      const info = readable(request.peer, caller)
      const ids = (request.id ?? []).map(Number)
      if (request.increment) {
        const existing = world.posts(info.id, ids).flatMap((p) => (p ? [p.id] : []))
        if (existing.length > 0) world.bumpViews(info.id, 1, existing)
      }
      const posts = world.posts(info.id, ids)
      return new Api.messages.MessageViews({
        views: posts.map((p) =>
          p
            ? new Api.MessageViews({ views: p.views, forwards: p.forwards, replies: repliesOf(p) })
            : new Api.MessageViews({})
        ),
        chats: [renderChannel(info, caller.userId)],
        users: [],
      })
    },

    "messages.GetMessagesReactions": (request: Api.messages.GetMessagesReactions, caller) => {
      const info = readable(request.peer, caller)
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
    },

    // --- statistics (core.telegram.org/api/stats) ------------------------------------------------------------------

    "stats.GetBroadcastStats": (request: Api.stats.GetBroadcastStats, caller) => {
      const info = statsChannel(request.channel, caller, "broadcast")
      const stats = new ChannelStats(world, info)
      const v = stats.broadcastValues(world.now())
      const graph = channelGraphs(stats, caller.userId!, Boolean(request.dark))
      return new Api.stats.BroadcastStats({
        period: period(),
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
    },

    "stats.GetMegagroupStats": (request: Api.stats.GetMegagroupStats, caller) => {
      const info = statsChannel(request.channel, caller, "megagroup")
      const stats = new ChannelStats(world, info)
      const v = stats.megagroupValues(world.now())
      const graph = channelGraphs(stats, caller.userId!, Boolean(request.dark))
      const posters = stats.topPosters()
      const admins = stats.topAdmins()
      const inviters = stats.topInviters()
      const userIds = new Set([...posters, ...admins, ...inviters].map((t) => t.userId))
      return new Api.stats.MegagroupStats({
        period: period(),
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
        users: [...userIds].map((id) => userOf(id, caller.userId)),
      })
    },

    "stats.LoadAsyncGraph": (request: Api.stats.LoadAsyncGraph, caller) => {
      const opened = tokens.open(String(request.token ?? "")) ?? fail(400, "GRAPH_INVALID_RELOAD")
      const { claims } = opened
      const info = world.channel(claims.channelId) ?? fail(400, "GRAPH_INVALID_RELOAD")
      if (info.statsDc !== thisDc) fail(303, `STATS_MIGRATE_${info.statsDc}`)
      if (claims.userId !== caller.userId) fail(400, "GRAPH_INVALID_RELOAD")
      if (opened.expired) fail(400, "GRAPH_EXPIRED_RELOAD")
      if (!isAdmin(info, caller.userId)) fail(400, "CHAT_ADMIN_REQUIRED")
      const stats = new ChannelStats(world, info)
      const spec = stats.graph(claims.graph) ?? fail(400, "GRAPH_INVALID_RELOAD")
      const now = world.now()
      if (claims.kind === "async") {
        if (spec.served !== "async") fail(400, "GRAPH_INVALID_RELOAD")
        return channelGraph(stats, stats.data(spec, now), claims.userId, claims.dark)
      }
      if (request.x === undefined || request.x === null) fail(400, "GRAPH_INVALID_RELOAD")
      const zoomed = stats.zoom(spec, Number(fromLong(request.x)), now)
      return zoomed === undefined
        ? new Api.StatsGraphError({ error: NOT_ENOUGH_DATA })
        : channelGraph(stats, zoomed, claims.userId, claims.dark)
    },

    "stats.GetMessageStats": (request: Api.stats.GetMessageStats, caller) => {
      const info = statsChannel(request.channel, caller, "broadcast")
      const post = postOf(info, request.msgId)
      const stats = new ChannelStats(world, info)
      const dark = Boolean(request.dark)
      const served = (data: GraphData | undefined) =>
        data === undefined ? new Api.StatsGraphError({ error: NOT_ENOUGH_DATA }) : statsGraph(graphJson(data, dark))
      return new Api.stats.MessageStats({
        viewsGraph: served(stats.messageViews(post, world.now())),
        reactionsByEmotionGraph: served(stats.messageReactions(post, world.now())),
      })
    },

    "stats.GetMessagePublicForwards": (request: Api.stats.GetMessagePublicForwards, caller) => {
      const info = statsChannel(request.channel, caller, "broadcast")
      const post = postOf(info, request.msgId)
      const all = new ChannelStats(world, info).publicForwards(post, world.now())
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
    },

    // --- authorization ---------------------------------------------------------------------------------------------

    "auth.SendCode": (request: Api.auth.SendCode) => {
      const account = auth.accountByPhone(request.phoneNumber) ?? fail(400, "PHONE_NUMBER_INVALID")
      return new Api.auth.SentCode({
        type: new Api.auth.SentCodeTypeApp({ length: SANDBOX_CODE.length }),
        phoneCodeHash: auth.phoneCodeHash(account),
      })
    },

    "auth.SignIn": (request: Api.auth.SignIn, caller) => {
      const account = auth.accountByPhone(request.phoneNumber) ?? fail(400, "PHONE_NUMBER_INVALID")
      if (request.phoneCodeHash !== auth.phoneCodeHash(account)) fail(400, "PHONE_CODE_EXPIRED")
      if (!request.phoneCode) fail(400, "PHONE_CODE_EMPTY")
      if (request.phoneCode !== SANDBOX_CODE) fail(400, "PHONE_CODE_INVALID")
      if (account.password !== undefined) {
        auth.codePassed(caller.authKeyId, account.userId)
        return fail(401, "SESSION_PASSWORD_NEEDED")
      }
      caller.authorize(account.userId)
      return authorization(account)
    },

    "account.GetPassword": (_request: Api.account.GetPassword, caller) => {
      const userId = auth.pendingUser(caller.authKeyId) ?? caller.userId ?? fail(401, "AUTH_KEY_UNREGISTERED")
      const account = world.account(userId) ?? fail(401, "AUTH_KEY_UNREGISTERED")
      if (account.password === undefined) fail(400, "PASSWORD_EMPTY")
      return auth.passwordChallenge(account, caller.authKeyId)
    },

    "auth.CheckPassword": (request: Api.auth.CheckPassword, caller) => {
      const account = auth.checkPassword(request.password, caller.authKeyId)
      caller.authorize(account.userId)
      return authorization(account)
    },

    "auth.ExportAuthorization": (request: Api.auth.ExportAuthorization, caller) => {
      const userId = caller.userId!
      const dcId = Number(request.dcId)
      if (dcId === thisDc || !dcs.some((dc) => dc.id === dcId)) fail(400, "DC_ID_INVALID")
      return new Api.auth.ExportedAuthorization({ id: toLong(userId), bytes: auth.exportBytes(userId, dcId) })
    },

    "auth.ImportAuthorization": (request: Api.auth.ImportAuthorization, caller) => {
      const userId = Number(fromLong(request.id))
      const account = world.account(userId) ?? fail(400, "AUTH_BYTES_INVALID")
      const expected = auth.exportBytes(userId, thisDc)
      const given = Buffer.from(request.bytes ?? [])
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) fail(400, "AUTH_BYTES_INVALID")
      caller.authorize(userId)
      return authorization(account)
    },

    "auth.LogOut": () => new Api.auth.LoggedOut({}),
  }

  const table: Record<string, MethodHandler> = {}
  for (const [name, handler] of Object.entries(handlers)) {
    table[name] = UNAUTHORIZED_METHODS.has(name)
      ? handler
      : (request: any, caller: Caller): RpcResult | Promise<RpcResult> => {
        if (caller.userId === undefined) fail(401, "AUTH_KEY_UNREGISTERED")
        return handler(request, caller)
      }
  }
  return table
}
