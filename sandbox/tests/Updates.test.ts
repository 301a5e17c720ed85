/** Catching up with the real GramJS client: channel difference pages and limits, too long, getDifference, reactions. */
import bigInt from "big-integer"
import { Api } from "telegram"
import type { PtsChange } from "../world/Model.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { historyQuery } from "../world/History.ts"
import { type Channel, channelDifference, inputChannel, num, ptsOf, recent } from "./support/updates.ts"

sandboxTest(
  "getChannelDifference pages by limit in pts, never splits a change, and leaves out deleted posts",
  async () => {
    await using sandbox = await startSandbox({ channels: 1, posts: 300 })
    const channel = sandbox.descriptor.channels[0]!
    const world = sandbox.world
    const client = gramClient(sandbox, { account: 0 })
    try {
      await client.connect()
      const p0 = world.pts(channel.id)
      const [a, b, c] = world.publish(channel.id, 3).map((p) => p.id) // p0+1..3
      const old = [recent(sandbox, channel, 50), recent(sandbox, channel, 51)]
      world.delete(channel.id, [b!, ...old]) // p0+6, pts_count 3
      world.edit(channel.id, a!) // p0+7
      const [d, e] = world.publish(channel.id, 2).map((p) => p.id) // p0+8, p0+9
      world.edit(channel.id, d!) // p0+10

      const pages: Array<any> = []
      let pts = p0
      for (let i = 0; i < 20; i++) {
        const page = await channelDifference(client, channel, pts, 2)
        assertEquals(page.className, "updates.ChannelDifference")
        pages.push(page)
        pts = page.pts
        if (page.final) break
      }
      assertEquals(pages.map((p) => [p.pts, p.final]), [
        [p0 + 2, false],
        [p0 + 3, false],
        [p0 + 6, false], // one change of 3 > limit: whole, never split
        [p0 + 8, false],
        [p0 + 10, true],
      ])
      assertEquals(pages.map((p) => p.newMessages.map((m: any) => m.id)), [[a], [c], [], [d], [e]])
      assertEquals(pages.map((p) => p.otherUpdates.map(ptsOf)), [
        [],
        [],
        [["UpdateDeleteChannelMessages", p0 + 6, 3, [b, ...old]]],
        [["UpdateEditChannelMessage", p0 + 7, 1, [a]]],
        [["UpdateEditChannelMessage", p0 + 10, 1, [d]]],
      ])
      // Posts are sent as they are now: the edit is in the new message already.
      assertEquals(pages[3].newMessages[0].message, world.posts(channel.id, [d!])[0]!.text)
      assert(String(pages[3].newMessages[0].message).endsWith("(edited)"), "as edited")

      // A large limit: one page. Above 100,000 it is capped, not refused.
      const all = await channelDifference(client, channel, p0, 1_000_000)
      assertEquals([all.final, all.pts, all.newMessages.length, all.otherUpdates.length], [true, p0 + 10, 4, 3])
      // A deleted edit target is left out; the deletion that follows covers it.
      world.delete(channel.id, [a!])
      const after = await channelDifference(client, channel, p0 + 6, 100)
      assertEquals(after.otherUpdates.map(ptsOf), [
        ["UpdateEditChannelMessage", p0 + 10, 1, [d]],
        ["UpdateDeleteChannelMessages", p0 + 11, 1, [a]],
      ])
      const fromLog: ReadonlyArray<PtsChange> = world.changesSince(channel.id, p0)!
      assertEquals(fromLog.map((ch) => ch.pts), [
        p0 + 1,
        p0 + 2,
        p0 + 3,
        p0 + 6,
        p0 + 7,
        p0 + 8,
        p0 + 9,
        p0 + 10,
        p0 + 11,
      ])
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest(
  "getChannelDifference: empty when up to date, too long before the log; an empty pts and one past the current pts " +
    "are the documented errors",
  async () => {
    await using sandbox = await startSandbox({ channels: 1, posts: 300, ptsLogSize: 5 })
    const channel = sandbox.descriptor.channels[0]!
    const world = sandbox.world
    const client = gramClient(sandbox, { account: 1 })
    try {
      await client.connect()
      const p0 = world.pts(channel.id)
      const empty = await channelDifference(client, channel, p0)
      assertEquals([empty.className, empty.final, empty.pts, empty.timeout], [
        "updates.ChannelDifferenceEmpty",
        true,
        p0,
        30,
      ])
      world.publish(channel.id, 12)
      const current = world.pts(channel.id)
      assertEquals(world.changesSince(channel.id, p0), undefined, "the log no longer reaches back")
      for (const [pts, limit] of [[p0, 10], [p0, 500]] as const) {
        const tooLong = await channelDifference(client, channel, pts, limit)
        assertEquals(tooLong.className, "updates.ChannelDifferenceTooLong")
        assertEquals([tooLong.final, tooLong.timeout], [true, 30])
        const newest = world.history(channel.id, historyQuery({ limit: Math.min(limit, 100) })).posts.map((p) => p.id)
        assertEquals(tooLong.messages.map((m: any) => m.id), newest)
        const dialog = tooLong.dialog
        assertEquals([num(dialog.peer.channelId), dialog.pts, dialog.topMessage, dialog.readInboxMaxId], [
          channel.id,
          current,
          newest[0],
          newest[0],
        ])
        assertEquals([dialog.unreadCount, dialog.unreadMentionsCount, dialog.unreadReactionsCount], [0, 0, 0])
        assertEquals(tooLong.chats.map((c: any) => num(c.id)), [channel.id])
      }
      const recentPage = await channelDifference(client, channel, current - 3)
      assertEquals([recentPage.className, recentPage.pts, recentPage.newMessages.length], [
        "updates.ChannelDifference",
        current,
        3,
      ])
      // A pts left empty, one the channel never reached, or a negative one: the errors Telegram documents
      // (core.telegram.org/method/updates.getChannelDifference), never a difference.
      const refused = async (c: Channel, pts: number) => {
        try {
          const answer = await channelDifference(client, c, pts)
          return `answered ${answer.className}`
        } catch (e) {
          return `${(e as any).code} ${(e as any).errorMessage}`
        }
      }
      assertEquals(await refused(channel, 0), "400 PERSISTENT_TIMESTAMP_EMPTY")
      for (const pts of [current + 1, current + 100_000, -5]) {
        assertEquals(await refused(channel, pts), "400 PERSISTENT_TIMESTAMP_INVALID", `pts ${pts}`)
      }
      assertEquals(
        await refused(channel, current),
        "answered updates.ChannelDifferenceEmpty",
        "the current pts is fine",
      )
      // Access is checked first, as for every channel method.
      const secret = sandbox.world.channels.find((c) => c.isPrivate)!
      const hidden = { ...channel, id: secret.id, accessHash: secret.accessHash.toString() }
      assertEquals(await refused(hidden, 1), "406 CHANNEL_PRIVATE")
      assertEquals(await refused(hidden, 0), "406 CHANNEL_PRIVATE")
      const log = (await admin(sandbox, "/log?method=updates.GetChannelDifference")).entries
      assert(log.length >= 4, "the request log sees the method")
      const outcomes = log.map((e: any) => e.outcome)
      assertEquals(outcomes.filter((o: string) => o.startsWith("PERSISTENT_TIMESTAMP_")).length, 4)
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest("getDifference names the changed channels the account follows with updateChannelTooLong", async () => {
  // The wall clock stands still here, so that the dates the sandbox says compare exactly with world.now().
  const wallMs = Date.now()
  await using sandbox = await startSandbox({ channels: 4, posts: 200, clock: () => wallMs })
  const world = sandbox.world
  const [c0, , c2, c3] = sandbox.descriptor.channels as [Channel, Channel, Channel, Channel]
  const secret = world.channels.find((c) => c.isPrivate)!
  const client = gramClient(sandbox, { account: 2 })
  try {
    await client.connect()
    const state = await client.invoke(new Api.updates.GetState())
    assertEquals([state.pts, state.qts, state.seq, state.date], [1, 0, 0, world.now()])
    const difference = () => client.invoke(new Api.updates.GetDifference({ pts: state.pts, date: state.date, qts: 0 }))
    const none = await difference()
    assertEquals(none.className, "updates.DifferenceEmpty")
    assertEquals((none as Api.updates.DifferenceEmpty).date, world.now())

    world.publish(c0.id, 2)
    world.delete(c2.id, [world.nthNewest(c2.id, 3)!])
    world.publish(secret.id, 1)
    world.bumpViews(c3.id, 5, [world.nthNewest(c3.id, 0)!]) // no pts: not a reason to catch up
    const diff = await difference() as Api.updates.Difference
    assertEquals(diff.className, "updates.Difference")
    assertEquals(
      diff.otherUpdates.map((u: any) => [u.className, num(u.channelId), u.pts]),
      [["UpdateChannelTooLong", c0.id, world.pts(c0.id)], ["UpdateChannelTooLong", c2.id, world.pts(c2.id)]],
    )
    assertEquals(diff.chats.map((c: any) => num(c.id)), [c0.id, c2.id])
    assertEquals([diff.newMessages.length, diff.state.date, diff.state.pts], [0, world.now(), 1])

    await admin(sandbox, "/clock", { body: { advance: 60 } })
    const later = await client.invoke(new Api.updates.GetDifference({ pts: 1, date: world.now(), qts: 0 }))
    assertEquals(later.className, "updates.DifferenceEmpty")
    world.edit(c3.id, world.nthNewest(c3.id, 1)!)
    const edited = await client.invoke(new Api.updates.GetDifference({ pts: 1, date: world.now(), qts: 0 }))
    assertEquals((edited as any).otherUpdates.map((u: any) => num(u.channelId)), [c3.id])
    assert((await admin(sandbox, "/log?method=updates.GetDifference")).entries.length >= 4, "logged")
  } finally {
    await client.destroy()
  }
})

sandboxTest("messages.getMessagesReactions answers what the world holds, for the posts that exist", async () => {
  await using sandbox = await startSandbox({ channels: 4, posts: 200 })
  const world = sandbox.world
  const megagroup = sandbox.descriptor.channels.find((c) => c.kind === "megagroup")!
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const ids = [0, 1, 2, 3, 4].map((n) => world.nthNewest(megagroup.id, n)!)
    world.react(megagroup.id, ids[0]!, "🎉", 7)
    world.react(megagroup.id, ids[1]!, "👍", 1)
    const truth = world.truth(megagroup.id)
    const missing = [truth.deletedIds[0]!, truth.maxId + 10]
    const answer = await client.invoke(
      new Api.messages.GetMessagesReactions({
        peer: new Api.InputPeerChannel({ channelId: bigInt(megagroup.id), accessHash: bigInt(megagroup.accessHash) }),
        id: [...ids, ...missing, ids[0]!],
      }),
    ) as Api.Updates
    assertEquals(answer.className, "Updates")
    assertEquals(
      answer.updates.map((u: any) => [u.className, num(u.peer.channelId), u.msgId]),
      ids.map((id) => [
        "UpdateMessageReactions",
        megagroup.id,
        id,
      ]),
    )
    const served = answer.updates.map((u: any) =>
      u.reactions.results.map((r: any) => ({ emoji: r.reaction.emoticon, count: r.count }))
    )
    assertEquals(served, world.posts(megagroup.id, ids).map((p) => p!.reactions))
    assertEquals(served[0].find((r: any) => r.emoji === "🎉")?.count, 7)
    assertEquals(answer.chats.map((c: any) => num(c.id)), [megagroup.id])

    // getMessagesViews and channels.getMessages read the same forwards and reactions.
    world.bumpForwards(megagroup.id, 3, [ids[0]!])
    const post = world.posts(megagroup.id, [ids[0]!])[0]!
    const peer = new Api.InputPeerChannel({ channelId: bigInt(megagroup.id), accessHash: bigInt(megagroup.accessHash) })
    const views = await client.invoke(new Api.messages.GetMessagesViews({ peer, id: [ids[0]!], increment: false }))
    assertEquals(views.views[0]!.forwards, post.forwards)
    const messages = await client.invoke(
      new Api.channels.GetMessages({
        channel: inputChannel(megagroup),
        id: [new Api.InputMessageID({ id: ids[0]! })],
      }),
    ) as Api.messages.ChannelMessages
    const message = messages.messages[0] as Api.Message
    assertEquals(message.forwards, post.forwards)
    assertEquals(
      message.reactions!.results.map((r: any) => ({ emoji: r.reaction.emoticon as string, count: r.count })),
      [...post.reactions],
    )
  } finally {
    await client.destroy()
  }
})
