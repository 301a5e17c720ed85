/** The sandbox's API method handlers (help, users, contacts, channels, messages, auth, 2FA SRP) over the world. */
import { Buffer } from "node:buffer"
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto"
import type { Account, ChannelInfo, Post, WorldApi } from "./Model.ts"
import { type Caller, type MethodHandler, type MethodTable, RawResult, RpcFailure, type RpcResult } from "./Rpc.ts"
import {
  discussionGroupId,
  peerChannel,
  peerUser,
  renderChannel,
  renderPlaceholderUser,
  renderUser,
  TlWriter,
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

const fail = (code: number, message: string): never => {
  throw new RpcFailure(code, message)
}

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
    const w = new TlWriter(4096 + args.posts.length * 600)
    w.u32(Api.messages.ChannelMessages.CONSTRUCTOR_ID).u32(args.offsetIdOffset === undefined ? 0 : 1 << 2)
    w.int(world.pts(args.info.id)).int(args.count)
    if (args.offsetIdOffset !== undefined) w.int(args.offsetIdOffset)
    w.vector(args.posts.length)
    args.posts.forEach((p, i) => {
      if (p) writeMessage(w, p)
      else w.u32(Api.MessageEmpty.CONSTRUCTOR_ID).u32(0).int(args.emptyIds?.[i] ?? 0)
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

// --- 2FA: Telegram's SRP (core.telegram.org/api/srp) ------------------------------------------------------------

/** Telegram's well-known 2048-bit safe prime (the only one GramJS accepts) and generator. */
const SRP_P_HEX =
  "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b"
const SRP_P = BigInt(`0x${SRP_P_HEX}`)
const SRP_P_BYTES = Buffer.from(SRP_P_HEX, "hex")
const SRP_G = 3
/** Outstanding challenges kept per DC (older ones are forgotten). */
const MAX_CHALLENGES = 256

/** `base^exp mod m` by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n
  let b = base % m
  if (b < 0n) b += m
  let e = exp
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m
    e >>= 1n
    if (e > 0n) b = (b * b) % m
  }
  return result
}

function sha256(...parts: ReadonlyArray<Uint8Array>): Buffer {
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return h.digest()
}

function toBig(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`)
}

/** A number as 256 big-endian bytes. */
function pad256(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(512, "0"), "hex")
}

/** Both sides of GramJS's `isGoodModExpFirst`: the value and p minus it have at least 2048 - 64 bits. */
function goodModExp(x: bigint): boolean {
  const diff = SRP_P - x
  return x > 0n && diff > 0n && x.toString(2).length >= 1984 && diff.toString(2).length >= 1984
}

/** x = PH2(password, salt1, salt2). */
function passwordHash(password: string, salt1: Uint8Array, salt2: Uint8Array): bigint {
  const sh = (data: Uint8Array, salt: Uint8Array) => sha256(salt, data, salt)
  const ph1 = sh(sh(Buffer.from(password, "utf8"), salt1), salt2)
  return toBig(sh(pbkdf2Sync(ph1, salt1, 100_000, 64, "sha512"), salt2))
}

interface Verifier {
  readonly salt1: Buffer
  readonly salt2: Buffer
  /** v = g^x mod p. */
  readonly v: bigint
}

interface Challenge {
  readonly userId: number
  readonly authKeyId: bigint
  readonly b: bigint
  readonly bBytes: Buffer
}

/** Per-DC sign-in state: code steps passed, SRP verifiers and outstanding SRP challenges. */
class AuthState {
  private readonly pending = new Map<bigint, number>()
  private readonly verifiers = new Map<number, Verifier>()
  private readonly challenges = new Map<string, Challenge>()
  private readonly k = toBig(sha256(SRP_P_BYTES, pad256(BigInt(SRP_G))))

  constructor(private readonly world: WorldApi) {}

  accountByPhone(phone: unknown): Account | undefined {
    if (typeof phone !== "string") return undefined
    const digits = phone.replace(/[\s+]/g, "")
    return this.world.accountByPhone(digits) ?? this.world.accounts.find((a) => a.phone.replace(/^\+/, "") === digits)
  }

  phoneCodeHash(account: Account): string {
    return createHash("sha256").update(`tgpulse-sandbox-code/${this.world.seed}/${account.phone}`).digest("hex")
      .slice(0, 18)
  }

  codePassed(authKeyId: bigint, userId: number): void {
    this.pending.set(authKeyId, userId)
  }

  pendingUser(authKeyId: bigint): number | undefined {
    return this.pending.get(authKeyId)
  }

  /** 32 bytes that let `userId` import its authorization on `dcId`. */
  exportBytes(userId: number, dcId: number): Buffer {
    return createHmac("sha256", `tgpulse-sandbox-export/${this.world.seed}`).update(`${userId}:${dcId}`).digest()
  }

  private verifier(account: Account): Verifier {
    let v = this.verifiers.get(account.userId)
    if (!v) {
      const salt = (label: string, n: number) =>
        createHash("sha256").update(`tgpulse-sandbox-srp/${this.world.seed}/${account.userId}/${label}`).digest()
          .subarray(0, n)
      // Telegram's salt1 is 8 server bytes plus 32 bytes the client appended when it set the password.
      const salt1 = Buffer.concat([salt("salt1", 8), salt("salt1-client", 32)])
      const salt2 = Buffer.from(salt("salt2", 16))
      v = { salt1, salt2, v: modPow(BigInt(SRP_G), passwordHash(account.password ?? "", salt1, salt2), SRP_P) }
      this.verifiers.set(account.userId, v)
    }
    return v
  }

  private algo(salt1: Buffer, salt2: Buffer): Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
    return new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
      salt1,
      salt2,
      g: SRP_G,
      p: SRP_P_BYTES,
    })
  }

  /** account.password with a fresh SRP challenge (B = k·v + g^b mod p). */
  passwordChallenge(account: Account, authKeyId: bigint): Api.account.Password {
    const { salt1, salt2, v } = this.verifier(account)
    let b = 0n
    let gb = 0n
    do {
      b = toBig(randomBytes(256)) % SRP_P
      gb = modPow(BigInt(SRP_G), b, SRP_P)
    } while (!goodModExp(gb))
    const B = (this.k * v + gb) % SRP_P
    const bBytes = pad256(B)
    const srpId = toBig(randomBytes(8)) & ((1n << 63n) - 1n)
    this.challenges.set(srpId.toString(), { userId: account.userId, authKeyId, b, bBytes })
    while (this.challenges.size > MAX_CHALLENGES) {
      const first = this.challenges.keys().next()
      if (first.done) break
      this.challenges.delete(first.value)
    }
    return new Api.account.Password({
      hasPassword: true,
      currentAlgo: this.algo(salt1, salt2),
      srp_B: bBytes,
      srpId: toLong(srpId),
      newAlgo: this.algo(salt1.subarray(0, 8), salt2),
      newSecureAlgo: new Api.SecurePasswordKdfAlgoSHA512({ salt: Buffer.from(salt1.subarray(0, 8)) }),
      secureRandom: randomBytes(32),
    })
  }

  /** Verifies an InputCheckPasswordSRP; returns the account it proves, or throws the Telegram error. */
  checkPassword(input: any, authKeyId: bigint): Account {
    if (input?.className !== "InputCheckPasswordSRP") return fail(400, "PASSWORD_HASH_INVALID")
    const id = fromLong(input.srpId).toString()
    const challenge = this.challenges.get(id)
    if (!challenge || challenge.authKeyId !== authKeyId) return fail(400, "SRP_ID_INVALID")
    this.challenges.delete(id)
    const account = this.world.account(challenge.userId) ?? fail(400, "SRP_ID_INVALID")
    const { salt1, salt2, v } = this.verifier(account)
    const aBytes = Buffer.from(input.A ?? [])
    const A = toBig(aBytes)
    if (aBytes.length > 256 || A <= 1n || A >= SRP_P - 1n) fail(400, "PASSWORD_HASH_INVALID")
    const aPad = pad256(A)
    const u = toBig(sha256(aPad, challenge.bBytes))
    const S = modPow((A * modPow(v, u, SRP_P)) % SRP_P, challenge.b, SRP_P)
    const K = sha256(pad256(S))
    const hp = sha256(SRP_P_BYTES)
    const hg = sha256(pad256(BigInt(SRP_G)))
    for (let i = 0; i < hp.length; i++) hp[i] = hp[i]! ^ hg[i]!
    const m1 = sha256(hp, sha256(salt1), sha256(salt2), aPad, challenge.bBytes, K)
    const given = Buffer.from(input.M1 ?? [])
    if (given.length !== m1.length || !timingSafeEqual(given, m1)) fail(400, "PASSWORD_HASH_INVALID")
    this.pending.delete(authKeyId)
    return account
  }
}
