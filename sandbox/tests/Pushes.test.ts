/** Pushed updates with the real GramJS client: every kind, with pts, logged; withheld pushes and the gap they leave. */
import { Buffer } from "node:buffer"
import { Api } from "telegram"
import type { WorldEvent } from "../world/Model.ts"
import { encodeUpdate } from "../tl/Encode.ts"
import { peerChannel, renderMessage, renderReactions } from "../tl/Render.ts"
import { toLong } from "../tl/Tl.ts"
import { World } from "../world/World.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"
import {
  assertContiguous,
  type Channel,
  channelDifference,
  collect,
  connected,
  num,
  ptsOf,
  recent,
} from "./support/updates.ts"

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
      await seen.until("7 updates", () => seen.length >= 7)
      // And no more: the push log below has each change written once, to this one session.
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
      await seen.until("the first post", () => ptsUpdates().length === 1)
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
      await seen.until("the post after the gap", () => ptsUpdates().some((u) => ptsOf(u)[3][0] === n2))
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
      const heldSince = (await admin(sandbox, "/pushes")).lastSeq
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 2 } })
      await admin(sandbox, `/channels/${other.id}/posts`, { body: { count: 1 } })
      const held = (await admin(sandbox, `/pushes?since=${heldSince}`)).entries as Array<any>
      assertEquals(held.map((e) => [e.withheld, e.sent]), [[true, 0], [true, 0], [true, 0]], "written to no session")
      assertEquals(seen.length, before, "nothing pushed")
      assertEquals((await admin(sandbox, "/pushes/withhold", { method: "DELETE" })).rules, [])
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await seen.until("a push after the release", () => seen.length > before)
      // Pushes come in order, so nothing withheld came late: the post after the release is the only update since.
      assertEquals(seen.length, before + 1, "only the post after the release")
      assertEquals(ptsOf(ptsUpdates().at(-1)).slice(0, 3), ["UpdateNewChannelMessage", local + 3, 1])
      const rest = await channelDifference(client, channel, local)
      assertEquals([rest.final, rest.pts, rest.newMessages.length], [true, local + 3, 3])

      // Only some kinds: views are dropped, posts still arrive.
      await admin(sandbox, "/pushes/withhold", { body: { all: true, kinds: ["views", "forwards"] } })
      const mark = seen.length
      await admin(sandbox, `/channels/${channel.id}/views`, { body: { delta: 1, ids: [n2] } })
      await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      await seen.until("the post", () => seen.length > mark)
      // Pushes come in order: the views update, had it been pushed, would have come before the post.
      assertEquals(seen.slice(mark).map((u) => u.className), ["UpdateNewChannelMessage"])
    } finally {
      await client.destroy()
    }
  },
)
