/** messages.getHistory and the post encoder called directly: exact bytes, exact pages, the page cache. */
import { Buffer } from "node:buffer"
import { assert, assertEquals, assertNotEquals } from "./support/assert.ts"
import type { HistoryQuery, Post } from "../world/Model.ts"
import { encodeMessage } from "../tl/Encode.ts"
import { renderMessage } from "../tl/Render.ts"
import { serializeResult } from "../session/Rpc.ts"
import { Api, fromLong, readObject } from "../tl/Tl.ts"
import { historyQuery } from "../world/History.ts"
import { call, caller, getHistory, ids, num, raw, setup } from "./support/methods.ts"

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
  const { historyHash } = await import("../world/History.ts")
  const nm = await call(methods, getHistory(broadcast, { hash: historyHash(first.posts.map((p) => p.id)) }), me)
  assert(nm instanceof Api.messages.MessagesNotModified, nm.className)
  assertEquals(nm.count, first.count)
})

Deno.test("Methods: getHistory pages are cached per world version", async () => {
  const { world, methods, broadcast, accounts } = setup(1_000)
  const me = caller(accounts[2]!.userId)
  // A page is cached the second time it is asked for (read once, it would only evict another).
  const once = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  const a = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  const b = await raw(methods, getHistory(broadcast, { offsetId: 600 }), me)
  assert(once !== a && a === b, "a repeated query is answered from the cache")
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

// How fast pages render (cold) and come from the cache (warm) is measured by `deno task bench sandbox`.
Deno.test("Methods: 100-post pages render to 100 messages; a repeated page is the cached bytes", async () => {
  const { methods, broadcast, accounts } = setup(10_000)
  const me = caller(accounts[2]!.userId)
  const handler = methods["messages.GetHistory"]!
  const offsets = Array.from({ length: 20 }, (_, i) => 9_000 - i * 100)
  const requests = offsets.map((offsetId) => readObject(getHistory(broadcast, { offsetId }).getBytes()))
  const cold: Array<Uint8Array> = []
  for (const r of requests) cold.push(serializeResult(await handler(r, me)))
  // Asked for a second time, a page is cached.
  const cached: Array<Uint8Array> = []
  for (const r of requests) cached.push(serializeResult(await handler(r, me)))
  for (const [i, bytes] of cold.entries()) {
    const page = readObject(bytes) as Api.messages.ChannelMessages
    assertEquals(page.messages.length, 100)
    assert(ids(page.messages).every((id) => id < offsets[i]!), `page ${i} is below its offset`)
  }
  for (let k = 0; k < 10; k++) {
    for (const [i, r] of requests.entries()) {
      assert(
        serializeResult(await handler(r, me)) === cached[i],
        `page ${i} again: the same bytes object, from the cache`,
      )
    }
  }
})
