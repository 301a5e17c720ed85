/** The method handlers called directly: help, users, contacts, channels, views, access checks. */
import { assert, assertEquals } from "./support/assert.ts"
import { allowedBeforeLogin } from "../methods/Methods.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"
import {
  call,
  caller,
  DCS,
  getHistory,
  ids,
  inputChannel,
  inputPeer,
  num,
  raw,
  rejects,
  setup,
} from "./support/methods.ts"

Deno.test("Methods: help.getConfig lists every sandbox DC; help.getNearestDc points at the main DC", async () => {
  const { methods } = setup(50)
  const before = Math.floor(Date.now() / 1000)
  const config = await call<Api.Config>(methods, new Api.help.GetConfig(), caller())
  const after = Math.floor(Date.now() / 1000)
  assert(config instanceof Api.Config)
  assertEquals(config.thisDc, 2)
  // Dated by the sandbox's clock (the wall clock), so a client reloads it an hour later, not in a loop.
  assert(before <= config.date && config.date <= after, `date ${config.date} is now`)
  assertEquals(config.expires, config.date + 3600)
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
  const signIn = ["help.GetConfig", "help.GetNearestDc", "auth.SendCode", "auth.SignIn", "auth.CheckPassword"]
  for (const name of [...signIn, "auth.ImportAuthorization", "account.GetPassword"]) {
    assert(name in methods && allowedBeforeLogin(name), `${name} is handled before login`)
  }
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
    assert(!allowedBeforeLogin(request.className))
    await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, request, caller()))
  }
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), caller()))
})

Deno.test("Methods: users.getUsers, users.getFullUser and updates.getState", async () => {
  const { methods, accounts } = setup(50)
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

  const before = Math.floor(Date.now() / 1000)
  const state = await call<Api.updates.State>(methods, new Api.updates.GetState(), me)
  const after = Math.floor(Date.now() / 1000)
  assertEquals([state.qts, state.seq, state.unreadCount], [0, 0, 0])
  assert(before <= state.date && state.date <= after, `date ${state.date} is now`)
  const again = await call<Api.updates.State>(methods, new Api.updates.GetState(), me)
  assertEquals(again.pts, state.pts)
})

Deno.test("Methods: contacts.resolveUsername resolves public channels and accounts (private channels have no username)", async () => {
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
  assertEquals(secret.username, "")
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
