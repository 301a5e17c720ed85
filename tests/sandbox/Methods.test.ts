/** Sandbox method handlers called directly: answers decode to what the world holds, caching, errors, sign-in, SRP. */
import { Buffer } from "node:buffer"
import { computeCheck } from "telegram/Password.js"
import { assert, assertEquals, assertNotEquals, assertRejects } from "../support/assert.ts"
import { makeMethods, SANDBOX_CODE, UNAUTHORIZED_METHODS } from "../../src/sandbox/Methods.ts"
import type { ChannelInfo, HistoryQuery, Post } from "../../src/sandbox/Model.ts"
import { encodeMessage, renderMessage } from "../../src/sandbox/Render.ts"
import { type Caller, type MethodTable, RpcFailure, serializeResult } from "../../src/sandbox/Rpc.ts"
import { Api, fromLong, readObject, toLong } from "../../src/sandbox/Tl.ts"
import { SANDBOX_PASSWORD, World } from "../../src/sandbox/World.ts"
import { historyQuery } from "../support/world.ts"

const DCS = [{ id: 2, host: "127.0.0.1", port: 12_002 }, { id: 4, host: "127.0.0.1", port: 12_004 }]

class FakeCaller implements Caller {
  readonly layer = 198
  constructor(
    readonly authKeyId: bigint,
    public userId: number | undefined = undefined,
    readonly dcId = 2,
    readonly connectionId = 1,
  ) {}
  authorize(userId: number): void {
    this.userId = userId
  }
}

let nextKey = 1n
const caller = (userId?: number, dcId = 2) => new FakeCaller(nextKey++, userId, dcId)

function setup(posts = 600) {
  const world = World.create({ seed: 5, channels: 4, posts })
  const methods = makeMethods({ world, dcs: DCS, mainDc: 2, thisDc: 2 })
  const [broadcast, , , megagroup, secret] = world.channels as [
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
  ]
  assertEquals(megagroup.kind, "megagroup")
  assert(secret.isPrivate)
  return { world, methods, broadcast, megagroup, secret, accounts: world.accounts }
}

/** Runs a request the way the session layer does: encoded, decoded by GramJS, handled, serialized. */
async function raw(methods: MethodTable, request: { getBytes(): Buffer; className: string }, who: Caller) {
  const decoded = readObject(request.getBytes()) as any
  const handler = methods[decoded.className]
  assert(handler, `no handler for ${decoded.className}`)
  return serializeResult(await handler(decoded, who))
}

async function call<T = any>(methods: MethodTable, request: { getBytes(): Buffer; className: string }, who: Caller) {
  return readObject(await raw(methods, request, who)) as T
}

async function rejects(code: number, message: string, fn: () => Promise<unknown>): Promise<void> {
  await assertRejects(fn, (error) => {
    assert(error instanceof RpcFailure, `expected an RpcFailure, got ${error}`)
    assertEquals([error.code, error.errorMessage], [code, message])
  })
}

const inputChannel = (c: ChannelInfo, hash = c.accessHash) =>
  new Api.InputChannel({ channelId: toLong(c.id), accessHash: toLong(hash) })
const inputPeer = (c: ChannelInfo, hash = c.accessHash) =>
  new Api.InputPeerChannel({ channelId: toLong(c.id), accessHash: toLong(hash) })

const getHistory = (c: ChannelInfo, q: Partial<HistoryQuery> = {}, peer: Api.TypeInputPeer = inputPeer(c)) => {
  const full = historyQuery(q)
  return new Api.messages.GetHistory({ peer, ...full, hash: toLong(full.hash) })
}

const ids = (messages: ReadonlyArray<any>) => messages.map((m) => m.id as number)
const num = (v: any) => Number(fromLong(v))

Deno.test("Methods: help.getConfig lists every sandbox DC; help.getNearestDc points at the main DC", async () => {
  const { world, methods } = setup(50)
  const config = await call<Api.Config>(methods, new Api.help.GetConfig(), caller())
  assert(config instanceof Api.Config)
  assertEquals(config.thisDc, 2)
  assertEquals(config.date, world.now())
  assertEquals(config.expires, world.now() + 3600)
  assertEquals(config.testMode, false)
  assertEquals(
    config.dcOptions.map((o) => [o.id, o.ipAddress, o.port, Boolean(o.ipv6)]),
    DCS.map((d) => [d.id, d.host, d.port, false]),
  )
  const nearest = await call<Api.NearestDc>(methods, new Api.help.GetNearestDc(), caller())
  assertEquals([nearest.country, nearest.thisDc, nearest.nearestDc], ["ZZ", 2, 2])
})

Deno.test("Methods: an unauthorized key gets AUTH_KEY_UNREGISTERED from every method that needs a user", async () => {
  const { methods, broadcast } = setup(50)
  for (const name of UNAUTHORIZED_METHODS) assert(name in methods, `${name} is handled`)
  const requests = [
    new Api.users.GetUsers({ id: [new Api.InputUserSelf()] }),
    new Api.users.GetFullUser({ id: new Api.InputUserSelf() }),
    new Api.updates.GetState(),
    new Api.contacts.ResolveUsername({ username: broadcast.username }),
    new Api.channels.GetChannels({ id: [inputChannel(broadcast)] }),
    new Api.channels.GetFullChannel({ channel: inputChannel(broadcast) }),
    new Api.channels.GetMessages({ channel: inputChannel(broadcast), id: [new Api.InputMessageID({ id: 1 })] }),
    getHistory(broadcast),
    new Api.messages.GetMessagesViews({ peer: inputPeer(broadcast), id: [1], increment: false }),
    new Api.auth.ExportAuthorization({ dcId: 4 }),
    new Api.auth.LogOut(),
  ]
  for (const request of requests) {
    assert(!UNAUTHORIZED_METHODS.has(request.className))
    await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, request, caller()))
  }
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), caller()))
})

Deno.test("Methods: users.getUsers, users.getFullUser and updates.getState", async () => {
  const { world, methods, accounts } = setup(50)
  const [a0, , a2] = accounts as [typeof accounts[0], unknown, typeof accounts[0]]
  const me = caller(a0.userId)
  const users = await call<Array<Api.User>>(
    methods,
    new Api.users.GetUsers({
      id: [
        new Api.InputUserSelf(),
        new Api.InputUser({ userId: toLong(a2.userId), accessHash: toLong(a2.accessHash) }),
        new Api.InputUser({ userId: toLong(424242), accessHash: toLong(1) }),
      ],
    }),
    me,
  )
  assertEquals(users.length, 2)
  assertEquals(users.map((u) => [num(u.id), Boolean(u.self), u.firstName, u.username, u.phone]), [
    [a0.userId, true, a0.firstName, a0.username, a0.phone],
    [a2.userId, false, a2.firstName, a2.username, a2.phone],
  ])
  assertEquals(fromLong(users[0]!.accessHash!), a0.accessHash)

  const full = await call<Api.users.UserFull>(methods, new Api.users.GetFullUser({ id: new Api.InputUserSelf() }), me)
  assertEquals(num(full.fullUser.id), a0.userId)
  assertEquals(full.users.map((u: any) => num(u.id)), [a0.userId])

  const state = await call<Api.updates.State>(methods, new Api.updates.GetState(), me)
  assertEquals([state.qts, state.seq, state.unreadCount, state.date], [0, 0, 0, world.now()])
  const again = await call<Api.updates.State>(methods, new Api.updates.GetState(), me)
  assertEquals(again.pts, state.pts)
})

Deno.test("Methods: contacts.resolveUsername resolves channels (the private one too) and accounts", async () => {
  const { methods, broadcast, secret, accounts } = setup(50)
  const a0 = accounts[0]!
  const me = caller(accounts[2]!.userId)
  const r = await call<Api.contacts.ResolvedPeer>(
    methods,
    new Api.contacts.ResolveUsername({ username: broadcast.username.toUpperCase() }),
    me,
  )
  assert(r.peer instanceof Api.PeerChannel)
  assertEquals(num(r.peer.channelId), broadcast.id)
  const chat = r.chats[0] as Api.Channel
  assertEquals([num(chat.id), fromLong(chat.accessHash!), chat.title, chat.username], [
    broadcast.id,
    broadcast.accessHash,
    broadcast.title,
    broadcast.username,
  ])
  assertEquals([chat.broadcast, Boolean(chat.megagroup), chat.participantsCount], [
    true,
    false,
    broadcast.participantsCount,
  ])
  const hidden = await call<Api.contacts.ResolvedPeer>(
    methods,
    new Api.contacts.ResolveUsername({ username: secret.username }),
    me,
  )
  assertEquals(num((hidden.chats[0] as Api.Channel).id), secret.id)
  const user = await call<Api.contacts.ResolvedPeer>(
    methods,
    new Api.contacts.ResolveUsername({ username: a0.username }),
    me,
  )
  assert(user.peer instanceof Api.PeerUser)
  assertEquals(user.users.map((u: any) => num(u.id)), [a0.userId])
  await rejects(
    400,
    "USERNAME_NOT_OCCUPIED",
    () => raw(methods, new Api.contacts.ResolveUsername({ username: "nobody_here_at_all" }), me),
  )
  for (const bad of ["abc", "1channel", "has-dash", "x".repeat(40), ""]) {
    await rejects(400, "USERNAME_INVALID", () => raw(methods, new Api.contacts.ResolveUsername({ username: bad }), me))
  }
})

Deno.test("Methods: channels.getChannels / getFullChannel check the access hash; admins see their rights", async () => {
  const { world, methods, broadcast, megagroup, secret, accounts } = setup(200)
  const admin = accounts[0]!.userId
  assertEquals(broadcast.adminUserIds[0], admin)
  const chats = await call<Api.messages.Chats>(
    methods,
    new Api.channels.GetChannels({ id: [inputChannel(broadcast), inputChannel(megagroup)] }),
    caller(admin),
  )
  const [b, m] = chats.chats as [Api.Channel, Api.Channel]
  assertEquals([b.broadcast, b.creator, Boolean(b.adminRights?.postMessages)], [true, true, true])
  assertEquals([Boolean(m.megagroup), Boolean(m.broadcast)], [true, false])
  const outsider = await call<Api.messages.Chats>(
    methods,
    new Api.channels.GetChannels({ id: [inputChannel(broadcast)] }),
    caller(accounts[2]!.userId),
  )
  const o = outsider.chats[0] as Api.Channel
  assertEquals([Boolean(o.creator), o.adminRights ?? undefined], [false, undefined])
  await rejects(
    400,
    "CHANNEL_INVALID",
    () =>
      raw(
        methods,
        new Api.channels.GetChannels({ id: [inputChannel(broadcast, broadcast.accessHash + 1n)] }),
        caller(admin),
      ),
  )

  const full = await call<Api.messages.ChatFull>(
    methods,
    new Api.channels.GetFullChannel({ channel: inputChannel(broadcast) }),
    caller(admin),
  )
  const fc = full.fullChat as Api.ChannelFull
  assertEquals(num(fc.id), broadcast.id)
  assertEquals(fc.about, broadcast.about)
  assertEquals(fc.participantsCount, broadcast.participantsCount)
  assertEquals(fc.canViewStats, true)
  assertEquals(fc.statsDc, broadcast.statsDc)
  assertEquals(fc.pts, world.pts(broadcast.id))
  assertEquals(fc.readInboxMaxId, world.truth(broadcast.id).maxId)
  assertEquals(num((full.chats[0] as Api.Channel).id), broadcast.id)
  const plain = await call<Api.messages.ChatFull>(
    methods,
    new Api.channels.GetFullChannel({ channel: inputChannel(broadcast) }),
    caller(accounts[2]!.userId),
  )
  assertEquals(Boolean((plain.fullChat as Api.ChannelFull).canViewStats), false)
  await rejects(
    400,
    "CHANNEL_INVALID",
    () => raw(methods, new Api.channels.GetFullChannel({ channel: inputChannel(broadcast, 12345n) }), caller(admin)),
  )
  await rejects(
    406,
    "CHANNEL_PRIVATE",
    () => raw(methods, new Api.channels.GetFullChannel({ channel: inputChannel(secret) }), caller(admin)),
  )
})

Deno.test("Methods: channels.getMessages renders existing posts and messageEmpty for missing ids", async () => {
  const { world, methods, broadcast, secret, accounts } = setup(600)
  const truth = world.truth(broadcast.id)
  const gone = truth.deletedIds[0]!
  const wanted = [truth.maxId, gone, 1, truth.maxId + 50]
  const r = await call<Api.messages.ChannelMessages>(
    methods,
    new Api.channels.GetMessages({
      channel: inputChannel(broadcast),
      id: wanted.map((id) => new Api.InputMessageID({ id })),
    }),
    caller(accounts[0]!.userId),
  )
  assert(r instanceof Api.messages.ChannelMessages)
  assertEquals(r.count, 4)
  assertEquals(r.pts, world.pts(broadcast.id))
  assertEquals(r.messages.map((m) => m.className), ["Message", "MessageEmpty", "Message", "MessageEmpty"])
  assertEquals(ids(r.messages), wanted)
  const post = world.posts(broadcast.id, [truth.maxId])[0]!
  const m = r.messages[0] as Api.Message
  assertEquals([m.message, m.views, m.forwards, m.date, m.post], [
    post.text,
    post.views,
    post.forwards,
    post.date,
    true,
  ])
  await rejects(
    406,
    "CHANNEL_PRIVATE",
    () =>
      raw(
        methods,
        new Api.channels.GetMessages({ channel: inputChannel(secret), id: [new Api.InputMessageID({ id: 1 })] }),
        caller(accounts[0]!.userId),
      ),
  )
})

Deno.test("Methods: the fast encoder writes exactly GramJS's bytes for every generated post", () => {
  const { world } = setup(1_500)
  let checked = 0
  const kinds = new Set<string>()
  for (const c of world.channels) {
    const truth = world.truth(c.id)
    const all = Array.from({ length: truth.maxId }, (_, i) => i + 1)
    for (const post of world.posts(c.id, all)) {
      if (!post) continue
      kinds.add(post.media)
      const expected = renderMessage(post).getBytes()
      const actual = Buffer.from(encodeMessage(post))
      if (!actual.equals(expected)) {
        throw new Error(`post ${c.id}/${post.id} (${post.media}) encodes differently`)
      }
      checked++
    }
  }
  assert(checked > 6_000)
  assertEquals([...kinds].sort(), ["document", "none", "photo", "poll", "video", "webpage"])
  // Edge cases the world rarely generates: long texts, large ids, negative grouped ids, every entity kind.
  const edge: Post = {
    channelId: 3_000_000_000,
    id: 2_000_000_000,
    date: 1_800_000_000,
    text: "Ünïcødé 🚀 ".repeat(40),
    entities: [
      { kind: "url", offset: 0, length: 3 },
      { kind: "textUrl", offset: 3, length: 2, url: "https://example.org/" + "x".repeat(300) },
      { kind: "mention", offset: 5, length: 2 },
      { kind: "hashtag", offset: 7, length: 2 },
      { kind: "bold", offset: 9, length: 2 },
    ],
    media: "poll",
    groupedId: -5n,
    postAuthor: "Zoë",
    forward: { channelId: 4_000_000_000, messageId: 7, date: 1_700_000_000 },
    replies: 0,
    views: 0,
    forwards: 0,
    reactions: [{ emoji: "👍🏽", count: 2_000_000 }],
    editDate: 1_800_000_001,
    fromUserId: 6_000_000_000,
  }
  for (const media of ["none", "photo", "video", "document", "poll", "webpage"] as const) {
    const p = { ...edge, media }
    assert(Buffer.from(encodeMessage(p)).equals(renderMessage(p).getBytes()), `edge post with ${media}`)
  }
})

Deno.test("Methods: messages.getHistory answers exactly world.history, with chats and users", async () => {
  const { world, methods, broadcast, megagroup, accounts } = setup(1_000)
  const me = caller(accounts[0]!.userId)
  const truth = world.truth(broadcast.id)
  const queries: Array<Partial<HistoryQuery>> = [
    {},
    { offsetId: 500 },
    { offsetId: 500, addOffset: -50, limit: 60 },
    { offsetId: 800, minId: 700 },
    { maxId: 400, minId: 300, offsetId: 400 },
    { offsetDate: world.posts(broadcast.id, [300])[0]?.date ?? 0 },
    { limit: 7 },
    { offsetId: truth.maxId + 1, addOffset: -100, minId: 900 },
  ]
  for (const q of queries) {
    const expected = world.history(broadcast.id, historyQuery(q))
    const r = await call<Api.messages.ChannelMessages>(methods, getHistory(broadcast, q), me)
    assert(r instanceof Api.messages.ChannelMessages, `${JSON.stringify(q)}: ${r.className}`)
    assertEquals(ids(r.messages), expected.posts.map((p) => p.id), JSON.stringify(q))
    assertEquals([r.count, r.offsetIdOffset, r.pts], [expected.count, expected.offsetIdOffset, world.pts(broadcast.id)])
    assertEquals(r.topics, [])
    const chatIds = r.chats.map((c: any) => num(c.id))
    assertEquals(chatIds[0], broadcast.id)
    const sources = new Set(expected.posts.flatMap((p) => (p.forward ? [p.forward.channelId] : [])))
    assertEquals(new Set(chatIds.slice(1)), sources)
    assertEquals(r.users, [])
    // Every message decodes to the post it renders.
    r.messages.forEach((m: any, i: number) => {
      const p = expected.posts[i]!
      assertEquals([m.message, m.date, m.views, m.forwards, m.replies?.replies], [
        p.text,
        p.date,
        p.views,
        p.forwards,
        p.replies,
      ])
      assertEquals(num(m.peerId.channelId), broadcast.id)
      assertEquals(m.groupedId ? fromLong(m.groupedId) : undefined, p.groupedId)
      assertEquals(m.postAuthor ?? undefined, p.postAuthor)
      assertEquals(m.editDate ?? undefined, p.editDate)
      assertEquals((m.entities ?? []).length, p.entities.length)
      assertEquals(
        (m.reactions?.results ?? []).map((x: any) => [x.reaction.emoticon, x.count]),
        p.reactions.map((x) => [x.emoji, x.count]),
      )
      if (p.forward) {
        assertEquals([num(m.fwdFrom.fromId.channelId), m.fwdFrom.channelPost, m.fwdFrom.date], [
          p.forward.channelId,
          p.forward.messageId,
          p.forward.date,
        ])
      }
      const media = { none: undefined, photo: "MessageMediaPhoto", video: "MessageMediaDocument" } as Record<
        string,
        string | undefined
      >
      if (p.media in media) assertEquals(m.media?.className, media[p.media])
    })
  }
  // A megagroup page carries its authors.
  const mg = await call<Api.messages.ChannelMessages>(methods, getHistory(megagroup), me)
  const authors = new Set(world.history(megagroup.id, historyQuery()).posts.map((p) => p.fromUserId!))
  assertEquals(new Set(mg.users.map((u: any) => num(u.id))), authors)
  assert(mg.users.some((u: any) => u.self && num(u.id) === accounts[0]!.userId))
  assert(mg.messages.every((m: any) => m.fromId instanceof Api.PeerUser && !m.post))

  // The matching hash answers messagesNotModified.
  const first = world.history(broadcast.id, historyQuery())
  const { historyHash } = await import("../../src/sandbox/World.ts")
  const nm = await call(methods, getHistory(broadcast, { hash: historyHash(first.posts.map((p) => p.id)) }), me)
  assert(nm instanceof Api.messages.MessagesNotModified, nm.className)
  assertEquals(nm.count, first.count)
})

Deno.test("Methods: getHistory pages are cached per world version", async () => {
  const { world, methods, broadcast, accounts } = setup(1_000)
  const me = caller(accounts[2]!.userId)
  const a = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  const b = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  assert(a === b, "a repeated query is answered from the cache")
  const top1 = await raw(methods, getHistory(broadcast), me)
  const [published] = world.publish(broadcast.id, 1)
  const top2 = await raw(methods, getHistory(broadcast), me)
  assertNotEquals(Buffer.from(top1).toString("hex"), Buffer.from(top2).toString("hex"))
  const decoded = readObject(top2) as Api.messages.ChannelMessages
  assertEquals(decoded.messages[0]!.id, published!.id)
  // Another viewer (an admin, who sees admin rights) gets its own entry.
  const admin = await raw(methods, getHistory(broadcast, { offsetId: 600 }), caller(accounts[0]!.userId))
  assert(admin !== a)
  // The clock moves views: a new version, new bytes.
  world.advance(3600)
  const c = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  assert(c !== a)
})

Deno.test("Methods: peers are checked: wrong hash, foreign peer kinds, private channel", async () => {
  const { methods, broadcast, secret, accounts } = setup(100)
  const me = caller(accounts[0]!.userId)
  const historyOf = (peer: Api.TypeInputPeer) => getHistory(broadcast, {}, peer)
  await rejects(
    400,
    "CHANNEL_INVALID",
    () => raw(methods, historyOf(inputPeer(broadcast, broadcast.accessHash ^ 7n)), me),
  )
  const unknown = new Api.InputPeerChannel({ channelId: toLong(99), accessHash: toLong(1) })
  await rejects(400, "CHANNEL_INVALID", () => raw(methods, historyOf(unknown), me))
  const fromMessage = new Api.InputPeerChannelFromMessage({
    peer: inputPeer(broadcast),
    msgId: 1,
    channelId: toLong(broadcast.id),
  })
  await rejects(400, "PEER_ID_INVALID", () => raw(methods, historyOf(fromMessage), me))
  await rejects(406, "CHANNEL_PRIVATE", () => raw(methods, getHistory(secret), me))
  await rejects(
    406,
    "CHANNEL_PRIVATE",
    () => raw(methods, new Api.messages.GetMessagesViews({ peer: inputPeer(secret), id: [1], increment: false }), me),
  )
})

Deno.test("Methods: messages.getMessagesViews reports views and bumps them when asked", async () => {
  const { world, methods, broadcast, accounts } = setup(300)
  const me = caller(accounts[0]!.userId)
  const truth = world.truth(broadcast.id)
  const wanted = [truth.maxId, truth.deletedIds[0]!, 1]
  const before = world.posts(broadcast.id, wanted)
  const r = await call<Api.messages.MessageViews>(
    methods,
    new Api.messages.GetMessagesViews({ peer: inputPeer(broadcast), id: wanted, increment: false }),
    me,
  )
  assertEquals(r.views.map((v) => v.views ?? undefined), before.map((p) => p?.views))
  assertEquals(r.views.map((v) => v.forwards ?? undefined), before.map((p) => p?.forwards))
  assertEquals(r.views.map((v) => v.replies?.replies), before.map((p) => p?.replies))
  assertEquals(r.chats.map((c: any) => num(c.id)), [broadcast.id])
  const bumped = await call<Api.messages.MessageViews>(
    methods,
    new Api.messages.GetMessagesViews({ peer: inputPeer(broadcast), id: wanted, increment: true }),
    me,
  )
  assertEquals(bumped.views.map((v) => v.views ?? undefined), before.map((p) => (p ? p.views + 1 : undefined)))
  assertEquals(world.posts(broadcast.id, [truth.maxId])[0]!.views, before[0]!.views + 1)
})

Deno.test("Methods: sign in with the code; errors for unknown phones, wrong hashes and wrong codes", async () => {
  const { methods, accounts } = setup(20)
  const account = accounts[0]!
  assertEquals(account.password, undefined)
  const me = caller()
  const sendCode = (phone: string) =>
    new Api.auth.SendCode({ phoneNumber: phone, apiId: 1, apiHash: "x", settings: new Api.CodeSettings({}) })
  const sent = await call<Api.auth.SentCode>(methods, sendCode(`+${account.phone}`), me)
  assert(sent.type instanceof Api.auth.SentCodeTypeApp)
  assertEquals(sent.type.length, 5)
  const again = await call<Api.auth.SentCode>(methods, sendCode(account.phone), me)
  assertEquals(again.phoneCodeHash, sent.phoneCodeHash)
  await rejects(400, "PHONE_NUMBER_INVALID", () => raw(methods, sendCode("+15551234567"), me))
  const signIn = (hash: string, code: string) =>
    new Api.auth.SignIn({ phoneNumber: account.phone, phoneCodeHash: hash, phoneCode: code })
  await rejects(400, "PHONE_CODE_INVALID", () => raw(methods, signIn(sent.phoneCodeHash, "11111"), me))
  await rejects(400, "PHONE_CODE_EXPIRED", () => raw(methods, signIn("nope", SANDBOX_CODE), me))
  assertEquals(me.userId, undefined)
  const auth = await call<Api.auth.Authorization>(methods, signIn(sent.phoneCodeHash, "22222"), me)
  assert(auth instanceof Api.auth.Authorization)
  assertEquals([num(auth.user.id), (auth.user as Api.User).self], [account.userId, true])
  assertEquals(me.userId, account.userId)
  const out = await call(methods, new Api.auth.LogOut(), me)
  assert(out instanceof Api.auth.LoggedOut)
})

Deno.test("Methods: 2FA sign-in verifies GramJS's SRP proof (computeCheck) server-side", async () => {
  const { methods, accounts } = setup(20)
  const account = accounts[1]!
  assertEquals(account.password, SANDBOX_PASSWORD)
  const me = caller()
  const sent = await call<Api.auth.SentCode>(
    methods,
    new Api.auth.SendCode({ phoneNumber: account.phone, apiId: 1, apiHash: "x", settings: new Api.CodeSettings({}) }),
    me,
  )
  // No code step yet on this key: nothing to answer.
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), me))
  await rejects(
    401,
    "SESSION_PASSWORD_NEEDED",
    () =>
      raw(
        methods,
        new Api.auth.SignIn({ phoneNumber: account.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: SANDBOX_CODE }),
        me,
      ),
  )
  assertEquals(me.userId, undefined)
  // Another key did not pass the code step.
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), caller()))

  const password = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  assert(password.hasPassword)
  assert(password.currentAlgo instanceof Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow)
  assertEquals(password.currentAlgo.g, 3)
  assertEquals(password.currentAlgo.p.length, 256)
  const wrong = await computeCheck(password, "not-the-password")
  await rejects(400, "PASSWORD_HASH_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: wrong }), me))
  // The challenge is single use.
  await rejects(400, "SRP_ID_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: wrong }), me))
  assertEquals(me.userId, undefined)

  const fresh = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  const right = await computeCheck(fresh, SANDBOX_PASSWORD)
  // A challenge belongs to the key that asked for it.
  const thief = caller()
  await rejects(400, "SRP_ID_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: right }), thief))
  const again = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  const auth = await call<Api.auth.Authorization>(
    methods,
    new Api.auth.CheckPassword({ password: await computeCheck(again, SANDBOX_PASSWORD) }),
    me,
  )
  assertEquals(num(auth.user.id), account.userId)
  assertEquals(me.userId, account.userId)
})

Deno.test("Methods: auth.exportAuthorization on one DC imports on the other; forged bytes fail", async () => {
  const { world, methods, accounts } = setup(20)
  const other = makeMethods({ world, dcs: DCS, mainDc: 2, thisDc: 4 })
  const account = accounts[0]!
  const exported = await call<Api.auth.ExportedAuthorization>(
    methods,
    new Api.auth.ExportAuthorization({ dcId: 4 }),
    caller(account.userId),
  )
  assertEquals(num(exported.id), account.userId)
  assertEquals(exported.bytes.length, 32)
  await rejects(
    400,
    "DC_ID_INVALID",
    () => raw(methods, new Api.auth.ExportAuthorization({ dcId: 9 }), caller(account.userId)),
  )
  const forged = Buffer.from(exported.bytes)
  forged[0] = forged[0]! ^ 1
  const bad = caller(undefined, 4)
  await rejects(
    400,
    "AUTH_BYTES_INVALID",
    () => raw(other, new Api.auth.ImportAuthorization({ id: exported.id, bytes: forged }), bad),
  )
  // Bytes exported for DC 4 do not import on DC 2.
  await rejects(
    400,
    "AUTH_BYTES_INVALID",
    () => raw(methods, new Api.auth.ImportAuthorization({ id: exported.id, bytes: exported.bytes }), caller()),
  )
  assertEquals(bad.userId, undefined)
  const fresh = caller(undefined, 4)
  const auth = await call<Api.auth.Authorization>(
    other,
    new Api.auth.ImportAuthorization({ id: exported.id, bytes: exported.bytes }),
    fresh,
  )
  assertEquals(num(auth.user.id), account.userId)
  assertEquals(fresh.userId, account.userId)
})

Deno.test("Methods: a 100-post page renders and serializes quickly; cached pages are nearly free", async () => {
  const { methods, broadcast, accounts } = setup(10_000)
  const me = caller(accounts[2]!.userId)
  const handler = methods["messages.GetHistory"]!
  const requests = Array.from(
    { length: 20 },
    (_, i) => readObject(getHistory(broadcast, { offsetId: 9_000 - i * 100 }).getBytes()),
  )
  const t0 = performance.now()
  for (const r of requests) serializeResult(await handler(r, me))
  const cold = (performance.now() - t0) / requests.length
  const t1 = performance.now()
  for (let k = 0; k < 10; k++) for (const r of requests) serializeResult(await handler(r, me))
  const warm = (performance.now() - t1) / (requests.length * 10)
  assert(cold < 50, `cold page ${cold.toFixed(2)} ms`)
  assert(warm < 2, `cached page ${warm.toFixed(3)} ms`)
})
