/** The sandbox's API method handlers (help, users, contacts, channels, messages, auth, 2FA SRP) over the world. */
import { Buffer } from "node:buffer"
import { timingSafeEqual } from "node:crypto"
import { AuthState } from "./Auth.ts"
import { Writer } from "./Bytes.ts"
import type { Account, ChannelInfo, Post, WorldApi } from "./Model.ts"
import { type Caller, fail, type MethodHandler, type MethodTable, RawResult, type RpcResult } from "./Rpc.ts"
import {
  discussionGroupId,
  peerChannel,
  peerUser,
  renderChannel,
  renderPlaceholderUser,
  renderUser,
  writeMessage,
} from "./Render.ts"
import { Api, bigInt, fromLong, type TlObject, toLong } from "./Tl.ts"

export interface MethodsOptions {
  readonly world: WorldApi
  /** Every DC of the sandbox (advertised by help.getConfig). */
  readonly dcs: ReadonlyArray<{ readonly id: number; readonly host: string; readonly port: number }>
  readonly mainDc: number
  /** The DC these handlers serve. */
  readonly thisDc: number
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

  /** messages.channelMessages bytes; `undefined` entries become messageEmpty with the matching id. */
  const channelMessages = (args: {
    readonly info: ChannelInfo
    readonly viewer: number | undefined
    readonly count: number
    readonly offsetIdOffset: number | undefined
    readonly posts: ReadonlyArray<Post | undefined>
    readonly emptyIds?: ReadonlyArray<number>
  }): Uint8Array => {
    const { chats, users } = related(args.info, args.posts, args.viewer)
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
    w.vector(chats.length)
    for (const c of chats) w.raw(c.getBytes())
    w.vector(users.length)
    for (const u of users) w.raw(u.getBytes())
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

    "updates.GetState": () => new Api.updates.State({ pts: 1, qts: 0, date: world.now(), seq: 0, unreadCount: 0 }),

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
          statsDc: info.statsDc,
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
