/** Dialogs, private channels and invite links through the real GramJS client. */
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"

const num = (v: any) => Number(v.toString())

/** Every page of getDialogs of `limit`, walked as GramJS's iterDialogs does (the last dialog is the next offset). */
async function walk(client: TelegramClient, limit: number) {
  const pages: Array<any> = []
  let offset = { offsetDate: 0, offsetId: 0, offsetPeer: new Api.InputPeerEmpty() as Api.TypeInputPeer }
  for (let i = 0; i < 50; i++) {
    const page: any = await client.invoke(new Api.messages.GetDialogs({ ...offset, limit, hash: bigInt.zero }))
    pages.push(page)
    if (page.dialogs.length === 0) break
    const last = page.dialogs[page.dialogs.length - 1]
    const top = page.messages.find((m: any) => num(m.peerId.channelId) === num(last.peer.channelId))
    const chat = page.chats.find((c: any) => num(c.id) === num(last.peer.channelId))
    offset = {
      offsetDate: top.date,
      offsetId: top.id,
      offsetPeer: new Api.InputPeerChannel({ channelId: chat.id, accessHash: chat.accessHash }),
    }
  }
  return pages
}

const failure = (promise: Promise<unknown>) =>
  promise.then((v: any) => `answered ${v?.className}`, (e: any) => `${e.code} ${e.errorMessage}`)

sandboxTest("getDialogs lists an account's channels newest first, in pages, with access hashes", async () => {
  await using sandbox = await startSandbox({ channels: 4, posts: 200 })
  const d = sandbox.descriptor
  const account = d.accounts[0]!
  const [inviteOnly, members] = d.channels.filter((c) => c.private)
  assert(inviteOnly && members, "two private channels")
  assertEquals([inviteOnly.username, members.username], ["", ""])
  assertEquals(inviteOnly.memberUserIds, [])
  assertEquals(members.memberUserIds, [account.userId])
  assert(inviteOnly.inviteLink?.startsWith("https://t.me/+"), "an invite link")
  const truth = (await admin(sandbox, `/accounts/${account.userId}/dialogs`)).dialogs.map((x: any) => x.id)
  const expected = d.channels.filter((c) => c.memberUserIds?.includes(account.userId)).map((c) => c.id)
  assertEquals([...truth].sort(), [...expected].sort())
  assert(truth.includes(members.id) && !truth.includes(inviteOnly.id), "the member channel only")

  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const whole = await client.invoke(
      new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt.zero }),
    ) as Api.messages.Dialogs
    assertEquals(whole.className, "messages.Dialogs")
    assertEquals(whole.dialogs.map((x: any) => num(x.peer.channelId)), truth)
    const dates = whole.dialogs.map((x: any) =>
      (whole.messages as Array<any>).find((m) =>
        m.id === x.topMessage && num(m.peerId.channelId) === num(x.peer.channelId)
      ).date as number
    )
    assertEquals([...dates].sort((a, b) => b - a), dates, "newest top message first")
    for (const x of whole.dialogs as Array<Api.Dialog>) {
      const id = num((x.peer as Api.PeerChannel).channelId)
      const chat = whole.chats.find((c: any) => num(c.id) === id) as Api.Channel
      assertEquals(chat.accessHash!.toString(), d.channels.find((c) => c.id === id)!.accessHash)
      assertEquals(x.pts, sandbox.world.pts(id))
    }

    const pages = await walk(client, 2)
    assertEquals(pages.map((p) => p.className), [
      "messages.DialogsSlice",
      "messages.DialogsSlice",
      "messages.DialogsSlice",
      "messages.DialogsSlice",
    ])
    assertEquals(pages.map((p) => p.count), [5, 5, 5, 5])
    assertEquals(pages.flatMap((p) => p.dialogs.map((x: any) => num(x.peer.channelId))), truth)

    // GramJS's own iterDialogs agrees.
    const iterated = await client.getDialogs({})
    assertEquals([...iterated].map((x) => num((x.dialog.peer as Api.PeerChannel).channelId)), truth)

    // The private channel: by id and access hash from the dialogs; it has no username.
    const chat = whole.chats.find((c: any) => num(c.id) === members.id) as Api.Channel
    assertEquals(chat.username, null)
    const history = await client.invoke(
      new Api.messages.GetHistory({
        peer: new Api.InputPeerChannel({ channelId: chat.id, accessHash: chat.accessHash! }),
        limit: 10,
      }),
    ) as Api.messages.ChannelMessages
    assertEquals(history.messages.length, 10)
    assertEquals(
      await failure(client.invoke(new Api.contacts.ResolveUsername({ username: "sandbox_private" }))),
      "400 USERNAME_NOT_OCCUPIED",
    )
  } finally {
    await client.destroy()
  }
})

sandboxTest("an invite link: checked, joined once, then in the dialogs and readable", async () => {
  await using sandbox = await startSandbox({ channels: 2, posts: 50 })
  const d = sandbox.descriptor
  const inviteOnly = d.channels.find((c) => c.private && c.memberUserIds?.length === 0)!
  const hash = inviteOnly.inviteLink!.replace("https://t.me/+", "")
  const account = d.accounts[2]!
  const client = gramClient(sandbox, { account: 2 })
  const peer = new Api.InputPeerChannel({ channelId: bigInt(inviteOnly.id), accessHash: bigInt(inviteOnly.accessHash) })
  try {
    await client.connect()
    assertEquals(
      await failure(client.invoke(new Api.messages.CheckChatInvite({ hash: "nosuchhash" }))),
      "400 INVITE_HASH_INVALID",
    )
    assertEquals(
      await failure(client.invoke(new Api.messages.GetHistory({ peer, limit: 1 }))),
      "406 CHANNEL_PRIVATE",
    )
    const invite = await client.invoke(new Api.messages.CheckChatInvite({ hash })) as Api.ChatInvite
    assertEquals(invite.className, "ChatInvite")
    assertEquals([invite.channel, invite.broadcast, invite.title], [true, true, inviteOnly.title])
    const before = (await admin(sandbox, `/accounts/${account.userId}/dialogs`)).dialogs.length

    const joined = await client.invoke(new Api.messages.ImportChatInvite({ hash })) as Api.Updates
    assertEquals(joined.chats.map((c: any) => [num(c.id), c.accessHash.toString()]), [[
      inviteOnly.id,
      inviteOnly.accessHash,
    ]])
    assertEquals(
      await failure(client.invoke(new Api.messages.ImportChatInvite({ hash }))),
      "400 USER_ALREADY_PARTICIPANT",
    )
    const again = await client.invoke(new Api.messages.CheckChatInvite({ hash })) as Api.ChatInviteAlready
    assertEquals([again.className, num((again.chat as Api.Channel).id)], ["ChatInviteAlready", inviteOnly.id])
    const dialogs = (await admin(sandbox, `/accounts/${account.userId}/dialogs`)).dialogs
    assertEquals(dialogs.length, before + 1)
    assert(dialogs.some((x: any) => x.id === inviteOnly.id), "in the dialogs")
    const history = await client.invoke(new Api.messages.GetHistory({ peer, limit: 5 })) as any
    assertEquals(history.messages.length, 5)
  } finally {
    await client.destroy()
  }
})

sandboxTest("getDialogs has a flood budget; the admin API joins accounts to channels", async () => {
  await using sandbox = await startSandbox({ channels: 3, posts: 20 })
  const account = sandbox.descriptor.accounts[1]!
  const client = gramClient(sandbox, { account: 1 })
  try {
    await client.connect()
    const dialogs = () =>
      client.invoke(
        new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt.zero }),
      ) as Promise<any>
    const before = (await dialogs()).dialogs.length
    const extra = sandbox.descriptor.channels.filter((c) => c.private).map((c) => c.id)
    const joined = await admin(sandbox, `/accounts/${account.userId}/join`, { body: { channelIds: extra } })
    assertEquals(joined.joined, extra)
    assertEquals((await dialogs()).dialogs.length, before + 2)
    assertEquals(
      (await admin(sandbox, `/accounts/${account.userId}/join`, { body: { channelIds: extra } })).joined,
      [],
    )

    await admin(sandbox, "/flood", { method: "PUT", body: { method: "messages.getDialogs", rate: 0.01, burst: 1 } })
    await dialogs()
    // GramJS names every FLOOD_WAIT_X "FLOOD" (a FloodWaitError with its seconds).
    assertEquals(await failure(dialogs()), "420 FLOOD")
    const log = (await admin(sandbox, "/log?method=messages.GetDialogs")).entries
    assert(log.at(-1).outcome.startsWith("FLOOD_WAIT_"), "the request log sees the wait")
  } finally {
    await client.destroy()
  }
})
