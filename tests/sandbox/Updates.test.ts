/**
 * The sandbox's channel updates with the real GramJS client: pushes of every kind with pts, withheld pushes and gap
 * recovery through updates.getChannelDifference (pages, too long), updates.getDifference,
 * messages.getMessagesReactions, the push log and the activity generator.
 */
import { Buffer } from "node:buffer"
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import { Raw } from "telegram/events/index.js"
import { applyChange } from "../../src/sandbox/Activity.ts"
import type { PtsChange, WorldEvent } from "../../src/sandbox/Model.ts"
import { encodeUpdate, peerChannel, renderMessage, renderReactions } from "../../src/sandbox/Render.ts"
import type { Sandbox } from "../../src/sandbox/Sandbox.ts"
import { toLong } from "../../src/sandbox/Tl.ts"
import { World } from "../../src/sandbox/World.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "../support/sandbox.ts"
import { historyQuery } from "../support/world.ts"

type Channel = Sandbox["descriptor"]["channels"][number]

const num = (v: unknown) => Number(String(v))

/** Connects and learns the account's own user (GramJS fetches it before it dispatches the first update). */
async function connected(client: TelegramClient): Promise<void> {
  await client.connect()
  await client.getMe()
}

/**
 * A Raw event builder resolved up front: GramJS resolves a builder on the first update it dispatches to it, and would
 * hand the next updates out ahead of that one.
 */
async function rawBuilder(client: TelegramClient): Promise<Raw> {
  const builder = new Raw({})
  await builder.resolve(client)
  return builder
}

/** Every raw update the client receives from now on, in order (connection state changes left out). */
async function collect(client: TelegramClient): Promise<Array<any>> {
  const seen: Array<any> = []
  client.addEventHandler((update: any) => {
    if (typeof update?.className === "string") seen.push(update)
  }, await rawBuilder(client))
  return seen
}

async function waitFor(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const inputChannel = (c: Channel) => new Api.InputChannel({ channelId: bigInt(c.id), accessHash: bigInt(c.accessHash) })

const channelDifference = (client: TelegramClient, c: Channel, pts: number, limit = 100): Promise<any> =>
  client.invoke(
    new Api.updates.GetChannelDifference({
      channel: inputChannel(c),
      filter: new Api.ChannelMessagesFilterEmpty(),
      pts,
      limit,
    }),
  )

/** A pts-bearing update as [className, pts, ptsCount, ids]. */
function ptsOf(u: any): [string, number, number, Array<number>] {
  const ids = u.className === "UpdateDeleteChannelMessages" ? u.messages.map(num) : [num(u.message.id)]
  return [u.className, u.pts, u.ptsCount, ids]
}

/** A post `n` places below the newest, as an id (the world answers cheaply). */
const recent = (sandbox: Sandbox, c: Channel, n: number) => sandbox.world.nthNewest(c.id, n)!

/** Checks the pts rule over a channel's pts updates: each applies exactly on top of the one before. */
function assertContiguous(from: number, updates: ReadonlyArray<{ pts: number; ptsCount: number }>): number {
  let local = from
  for (const u of updates) {
    assertEquals(local + u.ptsCount, u.pts, `pts rule at pts ${u.pts}`)
    local = u.pts
  }
  return local
}

Deno.test("World.bumpForwards and World.react change posts as every read sees them, emit events, keep pts", () => {
  const world = World.create({ seed: 4, channels: 2, posts: 300 })
  const channel = world.channels[0]!.id
  const events: Array<WorldEvent> = []
  world.subscribe((e) => events.push(e))
  const pts = world.pts(channel)
  const [a, b] = [world.nthNewest(channel, 0)!, world.nthNewest(channel, 5)!]
  const before = world.posts(channel, [a, b])
  const t0 = world.truth(channel)
  const v0 = world.version(channel)

  assertEquals(world.bumpForwards(channel, 4, [a, a, b, t0.maxId + 9]), 2)
  assertEquals(world.posts(channel, [a])[0]!.forwards, before[0]!.forwards + 4)
  assertEquals(events, [
    { _tag: "Forwards", channelId: channel, id: a, forwards: before[0]!.forwards + 4 },
    { _tag: "Forwards", channelId: channel, id: b, forwards: before[1]!.forwards + 4 },
  ])
  assert(world.version(channel) > v0, "version moved (getHistory caches see the change)")
  assertEquals(world.truth(channel).forwards, t0.forwards + 8)
  assertEquals(world.bumpForwards(channel, 1), t0.count, "channel-wide")
  assertEquals(events.length, 2, "no events for a channel-wide bump")
  assertEquals(world.truth(channel).forwards, t0.forwards + 8 + t0.count)

  events.length = 0
  const reactionsBefore = world.posts(channel, [a])[0]!.reactions
  const total = (rs: ReadonlyArray<{ count: number }>) => rs.reduce((s, r) => s + r.count, 0)
  const after = world.react(channel, a, "🤯", 3)
  assertEquals(after.find((r) => r.emoji === "🤯")?.count, 3)
  assertEquals(total(after), total(reactionsBefore) + 3)
  assertEquals(world.posts(channel, [a])[0]!.reactions, after)
  assertEquals(events, [{ _tag: "Reactions", channelId: channel, id: a, reactions: after }])
  assertEquals(world.history(channel, historyQuery({ limit: 1 })).posts[0]!.reactions, after)
  const sorted = [...after].sort((x, y) => y.count - x.count)
  assertEquals(after.map((r) => r.count), sorted.map((r) => r.count), "sorted by count")
  // Taking more than there is drops the reaction; nothing left to take is no change (and no event).
  const dropped = world.react(channel, a, "🤯", -10)
  assertEquals(dropped.find((r) => r.emoji === "🤯"), undefined)
  assertEquals(dropped, reactionsBefore)
  events.length = 0
  assertEquals(world.react(channel, a, "🤯", -1), reactionsBefore)
  assertEquals(events, [])
  world.react(channel, a, "👍", 2)
  assertEquals(world.truth(channel).reactions, t0.reactions + 2)
  let thrown: unknown
  try {
    world.react(channel, t0.maxId + 9, "👍", 1)
  } catch (error) {
    thrown = error
  }
  assertEquals((thrown as Error).message, "MESSAGE_ID_INVALID")

  assertEquals(world.pts(channel), pts, "views, forwards and reactions do not move pts")
  assertEquals(world.changesSince(channel, pts), [])
  assertEquals(world.lastChangeDate(channel), undefined)
  world.delete(channel, [a])
  assertEquals(world.lastChangeDate(channel), world.now())
  assertEquals(world.truth(channel).count, t0.count - 1)
  assertEquals(world.postCount(channel), t0.count - 1)
  assertEquals(world.nthNewest(channel, 0), world.history(channel, historyQuery({ limit: 1 })).posts[0]!.id)
  assertEquals(world.nthNewest(channel, t0.count - 2), t0.minId)
  assertEquals(world.nthNewest(channel, t0.count - 1), undefined)
})

Deno.test("encodeUpdate writes the bytes GramJS writes for every kind of pushed update", () => {
  const world = World.create({ seed: 6, channels: 4, posts: 400 })
  const events: Array<WorldEvent> = []
  world.subscribe((e) => events.push(e))
  for (const channel of world.channels.filter((c) => !c.isPrivate)) {
    const id = world.nthNewest(channel.id, 3)!
    world.publish(channel.id, 2)
    world.edit(channel.id, id)
    world.delete(channel.id, [id, world.nthNewest(channel.id, 7)!])
    world.bumpViews(channel.id, 3, [world.nthNewest(channel.id, 0)!])
    world.bumpForwards(channel.id, 2, [world.nthNewest(channel.id, 0)!])
    world.react(channel.id, world.nthNewest(channel.id, 0)!, "👍", 2)
  }
  const gram = (e: WorldEvent): Api.TypeUpdate => {
    const channelId = toLong(e.channelId)
    switch (e._tag) {
      case "NewPost":
        return new Api.UpdateNewChannelMessage({ message: renderMessage(e.post), pts: e.pts, ptsCount: 1 })
      case "EditPost":
        return new Api.UpdateEditChannelMessage({ message: renderMessage(e.post), pts: e.pts, ptsCount: 1 })
      case "DeletePosts":
        return new Api.UpdateDeleteChannelMessages({
          channelId,
          messages: [...e.ids],
          pts: e.pts,
          ptsCount: e.ids.length,
        })
      case "Views":
        return new Api.UpdateChannelMessageViews({ channelId, id: e.id, views: e.views })
      case "Forwards":
        return new Api.UpdateChannelMessageForwards({ channelId, id: e.id, forwards: e.forwards })
      case "Reactions":
        return new Api.UpdateMessageReactions({
          peer: peerChannel(e.channelId),
          msgId: e.id,
          reactions: renderReactions(e.reactions),
        })
    }
  }
  assertEquals(new Set(events.map((e) => e._tag)).size, 6)
  for (const e of events) {
    assertEquals(Buffer.from(encodeUpdate(e)).toString("hex"), gram(e).getBytes().toString("hex"), e._tag)
  }
})

Deno.test("applyChange is deterministic: the same seed, channel and sequence give the same world", () => {
  const run = (seed: number) => {
    const world = World.create({ seed, channels: 2, posts: 500 })
    const kinds = new Map<string, number>()
    for (let seq = 0; seq < 600; seq++) {
      const kind = applyChange(world, world.channels[1]!.id, seq)
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    }
    return { truth: world.truth(world.channels[1]!.id), pts: world.pts(world.channels[1]!.id), kinds }
  }
  const a = run(9)
  assertEquals(run(9), a)
  assert(JSON.stringify(run(10).truth) !== JSON.stringify(a.truth), "another seed, other changes")
  for (const kind of ["new", "edit", "delete", "views", "forwards", "reactions"]) {
    assert((a.kinds.get(kind) ?? 0) > 10, `some ${kind}: ${[...a.kinds]}`)
  }
  assert(a.kinds.get("new")! > a.kinds.get("delete")!, "mostly new posts")
})

sandboxTest(
  "Pushes: every kind of channel update reaches a member, with pts and pts_count, and is logged",
  async () => {
    await using sandbox = await startSandbox({ channels: 2, posts: 300 })
    const channel = sandbox.descriptor.channels[0]!
    const client = gramClient(sandbox, { account: 0 })
    try {
      await connected(client)
      const seen = await collect(client)
      const p0 = sandbox.world.pts(channel.id)
      const since = (await admin(sandbox, "/pushes")).lastSeq
      const started = Date.now()
      const old = recent(sandbox, channel, 20)
      const { ids: [a, b] } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 2 } })
      await admin(sandbox, `/channels/${channel.id}/posts/${a}/edit`, { body: {} })
      await admin(sandbox, `/channels/${channel.id}/delete`, { body: { ids: [b, old] } })
      await admin(sandbox, `/channels/${channel.id}/views`, { body: { delta: 5, ids: [a] } })
      await admin(sandbox, `/channels/${channel.id}/forwards`, { body: { delta: 2, ids: [a] } })
      const { reactions } = await admin(sandbox, `/channels/${channel.id}/posts/${a}/reactions`, {
        body: { emoji: "🔥", delta: 4 },
      })
      await waitFor("7 updates", () => seen.length >= 7)
      await sleep(100)
      assertEquals(seen.length, 7, "one update per change")
      const withPts = seen.filter((u) => u.pts !== undefined)
      assertEquals(withPts.map(ptsOf), [
        ["UpdateNewChannelMessage", p0 + 1, 1, [a]],
        ["UpdateNewChannelMessage", p0 + 2, 1, [b]],
        ["UpdateEditChannelMessage", p0 + 3, 1, [a]],
        ["UpdateDeleteChannelMessages", p0 + 5, 2, [b, old]],
      ])
      assertContiguous(p0, withPts)
      assertEquals(num(withPts[3].channelId), channel.id)
      assert(String(withPts[2].message.message).endsWith("(edited)"), "the edited text")
      const post = sandbox.world.posts(channel.id, [a])[0]!
      const [views, forwards, reacted] = seen.slice(4)
      assertEquals([views.className, num(views.channelId), views.id, views.views], [
        "UpdateChannelMessageViews",
        channel.id,
        a,
        post.views,
      ])
      assertEquals([forwards.className, num(forwards.channelId), forwards.id, forwards.forwards], [
        "UpdateChannelMessageForwards",
        channel.id,
        a,
        post.forwards,
      ])
      assertEquals([reacted.className, num(reacted.peer.channelId), reacted.msgId], [
        "UpdateMessageReactions",
        channel.id,
        a,
      ])
      const pushed = reacted.reactions.results.map((r: any) => ({ emoji: r.reaction.emoticon, count: r.count }))
      assertEquals(pushed, reactions)
      assertEquals(pushed, post.reactions)

      // The push log: one entry per change, with what a benchmark needs to time push → row.
      const log = await admin(sandbox, `/pushes?since=${since}`)
      const entries = log.entries as Array<any>
      assertEquals(log.lastSeq, since + 7)
      assertEquals(entries.map((e) => [e.kind, e.pts ?? null, e.ptsCount ?? null, e.ids]), [
        ["new", p0 + 1, 1, [a]],
        ["new", p0 + 2, 1, [b]],
        ["edit", p0 + 3, 1, [a]],
        ["delete", p0 + 5, 2, [b, old]],
        ["views", null, null, [a]],
        ["forwards", null, null, [a]],
        ["reactions", null, null, [a]],
      ])
      assertEquals(entries.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7].map((i) => since + i))
      for (const e of entries) {
        assertEquals(e.channelId, channel.id)
        assert(e.at >= started && e.at <= Date.now(), `wall-clock ms: ${e.at}`)
        assertEquals(e.sent, 1, "one live session of a member account")
        assertEquals(e.withheld, undefined)
      }
      assert(entries.every((e, i) => i === 0 || e.at >= entries[i - 1].at), "in time order")
      assertEquals((await admin(sandbox, `/pushes?since=${since + 5}`)).entries.length, 2)
      assertEquals((await admin(sandbox, `/pushes?since=${since}&limit=3`)).entries.length, 3)
      assertEquals((await admin(sandbox, `/pushes?since=${since}&channelId=${channel.id + 1}`)).entries, [])
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest(
  "Pushes: withheld pushes leave a pts gap; getChannelDifference from the last pts seen fills it",
  async () => {
    await using sandbox = await startSandbox({ channels: 2, posts: 300 })
    const [channel, other] = sandbox.descriptor.channels as [Channel, Channel]
    const client = gramClient(sandbox, { account: 2 })
    try {
      await connected(client)
      const seen = await collect(client)
      const ptsUpdates = () => seen.filter((u) => u.pts !== undefined && ptsOf(u)[3].length > 0)
      const p0 = sandbox.world.pts(channel.id)
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await waitFor("the first post", () => ptsUpdates().length === 1)
      let local = assertContiguous(p0, ptsUpdates())

      const state = await admin(sandbox, "/pushes/withhold", { body: { count: 4, channelId: channel.id } })
      assertEquals(state, { rules: [{ channelId: channel.id, kinds: null, remaining: 4, all: false }], withheld: 0 })
      const since = (await admin(sandbox, "/pushes")).lastSeq
      const [x, y, z] = [recent(sandbox, channel, 10), recent(sandbox, channel, 11), recent(sandbox, channel, 12)]
      const { ids: [n1] } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await admin(sandbox, `/channels/${channel.id}/posts/${x}/edit`, {
        body: { text: "Replaced https://example.org" },
      })
      await admin(sandbox, `/channels/${channel.id}/views`, { body: { delta: 1, ids: [x] } })
      await admin(sandbox, `/channels/${channel.id}/delete`, { body: { ids: [y, z] } })
      // Another channel's pushes are not withheld; this channel's next one goes out and shows the gap.
      await admin(sandbox, `/channels/${other.id}/posts`, { body: { count: 1 } })
      const { ids: [n2] } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await waitFor("the post after the gap", () => ptsUpdates().some((u) => ptsOf(u)[3][0] === n2))
      assertEquals(seen.filter((u) => u.className === "UpdateChannelMessageViews").length, 0, "views withheld too")
      assertEquals(ptsUpdates().filter((u) => num(u.message?.peerId?.channelId) === other.id).length, 1)

      const last = ptsUpdates().at(-1)
      assertEquals(ptsOf(last), ["UpdateNewChannelMessage", p0 + 6, 1, [n2]])
      assert(local + last.ptsCount < last.pts, "a gap by the pts rule")
      assertEquals(await admin(sandbox, "/pushes/withhold"), { rules: [], withheld: 4 })
      const log = (await admin(sandbox, `/pushes?since=${since}&channelId=${channel.id}`)).entries as Array<any>
      assertEquals(log.map((e) => [e.kind, e.withheld ?? false, e.sent]), [
        ["new", true, 0],
        ["edit", true, 0],
        ["views", true, 0],
        ["delete", true, 0],
        ["new", false, 1],
      ])

      // Recovery: the difference from the last pts seen holds exactly the missing changes, then the one that showed it.
      const diff = await channelDifference(client, channel, local)
      assertEquals(diff.className, "updates.ChannelDifference")
      assertEquals([diff.final, diff.pts, diff.timeout], [true, p0 + 6, 30])
      assertEquals(diff.newMessages.map((m: any) => m.id), [n1, n2])
      assertEquals(diff.otherUpdates.map(ptsOf), [
        ["UpdateEditChannelMessage", p0 + 3, 1, [x]],
        ["UpdateDeleteChannelMessages", p0 + 6 - 1, 2, [y, z]],
      ])
      assertEquals(diff.otherUpdates[0].message.message, "Replaced https://example.org")
      assertEquals(num(diff.chats[0].id), channel.id, "the channel first, then forward sources")
      local = diff.pts
      assertEquals((await channelDifference(client, channel, local)).className, "updates.ChannelDifferenceEmpty")

      // Everything withheld until released.
      await admin(sandbox, "/pushes/withhold", { body: { all: true } })
      assertEquals((await admin(sandbox, "/pushes/withhold")).rules, [
        { channelId: null, kinds: null, remaining: null, all: true },
      ])
      const before = seen.length
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 2 } })
      await admin(sandbox, `/channels/${other.id}/posts`, { body: { count: 1 } })
      await sleep(200)
      assertEquals(seen.length, before, "nothing pushed")
      assertEquals((await admin(sandbox, "/pushes/withhold", { method: "DELETE" })).rules, [])
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await waitFor("a push after the release", () => seen.length > before)
      assertEquals(ptsOf(ptsUpdates().at(-1)).slice(0, 3), ["UpdateNewChannelMessage", local + 3, 1])
      const rest = await channelDifference(client, channel, local)
      assertEquals([rest.final, rest.pts, rest.newMessages.length], [true, local + 3, 3])

      // Only some kinds: views are dropped, posts still arrive.
      await admin(sandbox, "/pushes/withhold", { body: { all: true, kinds: ["views", "forwards"] } })
      const mark = seen.length
      await admin(sandbox, `/channels/${channel.id}/views`, { body: { delta: 1, ids: [n2] } })
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await waitFor("the post", () => seen.length > mark)
      await sleep(100)
      assertEquals(seen.slice(mark).map((u) => u.className), ["UpdateNewChannelMessage"])
    } finally {
      await client.destroy()
    }
  },
)

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
  "getChannelDifference: empty when up to date, too long before the log or past the current pts",
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
      for (const [pts, limit] of [[p0, 10], [current + 1, 500]] as const) {
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
      // Access is checked as for every channel method.
      const secret = sandbox.world.channels.find((c) => c.isPrivate)!
      let error: any
      try {
        await channelDifference(client, { ...channel, id: secret.id, accessHash: secret.accessHash.toString() }, 1)
      } catch (e) {
        error = e
      }
      assertEquals(error?.errorMessage, "CHANNEL_PRIVATE")
      const log = (await admin(sandbox, "/log?method=updates.GetChannelDifference")).entries
      assert(log.length >= 4, "the request log sees the method")
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest("getDifference names the changed channels the account follows with updateChannelTooLong", async () => {
  await using sandbox = await startSandbox({ channels: 4, posts: 200 })
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

sandboxTest("Activity: 5 channels × 500 changes/s run on time, every change in the world and pushed", async () => {
  const options = { seed: 3, channels: 5, posts: 2_000 }
  await using sandbox = await startSandbox(options)
  const channels = sandbox.descriptor.channels.filter((c) => !c.private)
  const client = gramClient(sandbox, { account: 0 })
  try {
    await connected(client)
    let received = 0
    client.addEventHandler((update: any) => {
      if (typeof update?.className === "string" && update.className.startsWith("Update")) received++
    }, await rawBuilder(client))
    const COUNT = 1_500
    const RATE = 500
    const before = new Map(channels.map((c) => [c.id, { pts: sandbox.world.pts(c.id), count: c.posts }]))
    const since = (await admin(sandbox, "/pushes")).lastSeq
    const started = performance.now()
    const wallStart = Date.now()
    for (const c of channels) {
      const status = await admin(sandbox, `/channels/${c.id}/activity`, { body: { count: COUNT, rate: RATE } })
      assertEquals([status.total, status.running], [COUNT, true])
    }
    let statuses: Array<any> = []
    for (const deadline = started + 20_000; performance.now() < deadline; await sleep(20)) {
      statuses = await Promise.all(channels.map((c) => admin(sandbox, `/channels/${c.id}/activity`)))
      if (statuses.every((s) => !s.running)) break
    }
    const elapsed = (performance.now() - started) / 1000
    const total = COUNT * channels.length
    await waitFor("every update at the client", () => received >= total, 20_000)
    const delivered = (performance.now() - started) / 1000
    const expected = COUNT / RATE
    assert(
      elapsed < expected * 1.2 + 0.5,
      `${total} changes in ${elapsed.toFixed(2)} s (${(total / elapsed).toFixed(0)}/s), expected ${expected} s`,
    )
    assert(delivered < expected * 1.5 + 1, `delivered in ${delivered.toFixed(2)} s`)
    assertEquals(received, total, "one update per change")

    // The world and the log agree: the same changes, contiguous pts, timestamps inside the run.
    const entries = (await admin(sandbox, `/pushes?since=${since}`)).entries as Array<any>
    assertEquals(entries.length, total)
    const replay = World.create({ ...options })
    for (const c of channels) {
      const status = statuses.find((_, i) => channels[i] === c)!
      assertEquals([status.total, status.done, status.running], [COUNT, COUNT, false])
      const kinds = status.kinds as Record<string, number>
      assertEquals(Object.values(kinds).reduce((a, b) => a + b, 0), COUNT)
      const mine = entries.filter((e) => e.channelId === c.id)
      assertEquals(mine.length, COUNT)
      for (const kind of Object.keys(kinds)) assertEquals(mine.filter((e) => e.kind === kind).length, kinds[kind])
      const start = before.get(c.id)!
      const withPts = mine.filter((e) => e.pts !== undefined)
      assertEquals(assertContiguous(start.pts, withPts), sandbox.world.pts(c.id))
      const removed = mine.filter((e) => e.kind === "delete").reduce((n, e) => n + e.ids.length, 0)
      assertEquals(sandbox.world.truth(c.id).count, start.count + kinds.new! - removed)
      for (let seq = 0; seq < COUNT; seq++) applyChange(replay, c.id, seq)
      assertEquals(sandbox.world.truth(c.id), replay.truth(c.id), "the same changes as a replay from the seed")
    }
    const wallEnd = Date.now()
    assert(entries.every((e) => e.at >= wallStart && e.at <= wallEnd && e.sent === 1), "pushed during the run")
    Deno.stdout.writeSync(
      new TextEncoder().encode(
        `      activity: ${total} changes in ${elapsed.toFixed(2)} s = ${(total / elapsed).toFixed(0)} changes/s; ` +
          `${received} updates at the client in ${delivered.toFixed(2)} s = ${(received / delivered).toFixed(0)}/s\n`,
      ),
    )
  } finally {
    await client.destroy()
  }
})

sandboxTest("Admin: push, withholding and activity routes check their input and answer JSON shapes", async () => {
  await using sandbox = await startSandbox({ channels: 1, posts: 100 })
  const channel = sandbox.descriptor.channels[0]!
  const res = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${sandbox.descriptor.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    })
    return { status: r.status, json: await r.json() }
  }
  const routes = (await admin(sandbox, "/")).routes as Array<string>
  for (
    const route of ["GET /pushes", "POST /pushes/withhold", "POST /channels/:id/activity", "GET /channels/:id/activity"]
  ) {
    assert(routes.some((r) => r.startsWith(route)), route)
  }
  assertEquals(await admin(sandbox, "/pushes"), { lastSeq: 0, entries: [] })
  assertEquals(await admin(sandbox, `/channels/${channel.id}/activity`), {
    total: 0,
    done: 0,
    running: false,
    kinds: { new: 0, edit: 0, delete: 0, views: 0, forwards: 0, reactions: 0 },
  })
  const now = await admin(sandbox, `/channels/${channel.id}/activity`, {
    body: { count: 20, mix: { new: 1, views: 1 } },
  })
  assertEquals([now.total, now.done, now.running, now.kinds.edit], [20, 20, false, 0])
  assertEquals(now.kinds.new + now.kinds.views, 20)
  await sleep(10)
  const pushed = await admin(sandbox, "/pushes?since=0")
  assertEquals(pushed.lastSeq, 20)
  const entry = pushed.entries.find((e: any) => e.kind === "new")
  assertEquals(Object.keys(entry).sort(), ["at", "channelId", "ids", "kind", "pts", "ptsCount", "sent", "seq"])
  const running = await admin(sandbox, `/channels/${channel.id}/activity`, { body: { count: 1000, rate: 10 } })
  assertEquals([running.total, running.running], [1020, true])
  const stopped = await admin(sandbox, `/channels/${channel.id}/activity`, { method: "DELETE" })
  assertEquals([stopped.total, stopped.running], [stopped.done, false])

  const bad: ReadonlyArray<[string, string, unknown, string]> = [
    ["POST", `/channels/${channel.id}/activity`, {}, `Field "count" must be a positive integer`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, rate: 0 }, `Field "rate" must be a positive number`],
    [
      "POST",
      `/channels/${channel.id}/activity`,
      { count: 1, mix: { new: 1, likes: 2 } },
      `Field "mix": Unknown kind "likes"`,
    ],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, mix: { new: 0 } }, `Field "mix": At least one weight`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, mix: { new: -1 } }, `Field "mix": Weight of "new"`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, speed: 3 }, `Unknown field "speed"`],
    ["POST", "/pushes/withhold", { count: 0 }, `Field "count" must be a positive integer`],
    ["POST", "/pushes/withhold", { count: 2, all: true }, `Give either "count" or "all": true`],
    ["POST", "/pushes/withhold", { channelId: 5 }, "Unknown channel 5"],
    ["POST", "/pushes/withhold", { kinds: ["likes"] }, `Field "kinds" must be a non-empty array`],
    ["POST", "/pushes/withhold", "[1]", "Request body must be a JSON object"],
    ["GET", "/pushes?since=-1", undefined, `Query parameter "since" must be a non-negative integer`],
    ["GET", "/pushes?channelId=7", undefined, "Unknown channel 7"],
    ["POST", `/channels/${channel.id}/forwards`, { delta: -1 }, `Field "delta" must be a non-negative integer`],
    ["POST", `/channels/${channel.id}/posts/1/reactions`, { emoji: "" }, `Field "emoji" must be a non-empty string`],
  ]
  for (const [method, path, body, message] of bad) {
    const r = await res(method, path, typeof body === "string" ? JSON.parse(body) : body)
    assertEquals(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`)
    assert(String(r.json.error).startsWith(message), `${r.json.error} should start with ${message}`)
  }
  assertEquals((await res("GET", "/channels/nope/activity")).status, 404)
  assertEquals(await admin(sandbox, "/pushes/withhold", { body: { channelId: channel.id, kinds: ["new"] } }), {
    rules: [{ channelId: channel.id, kinds: ["new"], remaining: 1, all: false }],
    withheld: 0,
  })
  assertEquals(await admin(sandbox, `/pushes/withhold?channelId=${channel.id}`, { method: "DELETE" }), {
    rules: [],
    withheld: 0,
  })
})
