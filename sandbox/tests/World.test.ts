/** The sandbox world: determinism, channels and accounts, generated posts, changes, the pts log and the clock. */
import { assert, assertEquals, assertNotEquals, assertThrows } from "./support/assert.ts"
import type { WorldOptions } from "../world/Genesis.ts"
import { historyQuery } from "../world/History.ts"
import { World } from "../world/World.ts"
import type { Post, WorldEvent } from "../world/Model.ts"
import { existingIds } from "./support/world.ts"

const ids = (posts: ReadonlyArray<Post>) => posts.map((p) => p.id)

const small: WorldOptions = { seed: 42, channels: 5, posts: 2_000 }

/** A post with its dates moved by `by` seconds. */
function shifted<P extends Post | undefined>(p: P, by: number): P {
  if (p === undefined) return p
  return {
    ...p,
    date: p.date + by,
    editDate: p.editDate === undefined ? undefined : p.editDate + by,
    forward: p.forward && { ...p.forward, date: p.forward.date + by },
  }
}

Deno.test("World: the same options give the same world, its dates shifted by the start; another seed another", () => {
  const start = 1_800_000_000
  const later = 12_345
  const a = World.create({ ...small, start })
  const b = World.create({ ...small, start: start + later })
  const c = World.create({ ...small, seed: 43 })
  assertEquals([a.start, b.start], [start, start + later])
  assertEquals(a.channels.map((ch) => ({ ...ch, createdAt: ch.createdAt + later })), b.channels)
  assertEquals(a.accounts, b.accounts)
  const sample = Array.from({ length: 300 }, (_, i) => 1 + ((i * 7919) % 2_100))
  for (const channel of a.channels) {
    assertEquals(a.truth(channel.id), b.truth(channel.id))
    assertEquals(a.posts(channel.id, sample).map((p) => shifted(p, later)), b.posts(channel.id, sample))
    const [pa, pb] = [a, b].map((w) => w.history(channel.id, historyQuery({ offsetId: 1_000 })))
    assertEquals({ ...pa!, posts: pa!.posts.map((p) => shifted(p, later)) }, pb)
  }
  const first = a.channels[0]!.id
  assertNotEquals(a.truth(first), c.truth(first))
  assertNotEquals(a.channels[0]!.accessHash, c.channels[0]!.accessHash)
  assertNotEquals(a.accounts[0]!.authKey, c.accounts[0]!.authKey)
  assertNotEquals(a.posts(first, [1, 2, 3]).map((p) => p?.text), c.posts(first, [1, 2, 3]).map((p) => p?.text))
})

Deno.test("World: channels, the private channels and exactly `posts` existing posts", () => {
  const world = World.create(small)
  assertEquals(world.channels.length, 7)
  world.channels.slice(0, 5).forEach((c, i) => {
    assertEquals(c.id, 1_000_000 + i)
    assertEquals(c.username, `sandbox_chan_${i}`)
    assertEquals(c.kind, i % 4 === 3 ? "megagroup" : "broadcast")
    assertEquals(c.isPrivate, false)
    assertEquals(c.statsDc, [2, 4][i % 2])
    // Behind the start: the 2,000 posts a minute apart end a day before it, the channel was made before them.
    assertEquals(c.createdAt, world.start - 2_000 * 60 - 86_400)
    assert(c.accessHash > 0n && c.accessHash < 1n << 63n, "positive 63-bit access hash")
    assert(c.participantsCount >= 500 && c.participantsCount <= 200_000, "participants")
    const admins = i % 4 !== 1 ? [777_000_001, 777_000_002] : [777_000_002]
    assertEquals(c.adminUserIds, admins)
    assertEquals(c.memberUserIds, [777_000_001, 777_000_002, 777_000_003])
    assertEquals(world.channelByUsername(c.username.toUpperCase()), c)
    assertEquals(world.channel(c.id), c)
    const truth = world.truth(c.id)
    assertEquals(truth.count, 2_000)
    assertEquals(truth.minId, 1)
    assertEquals(truth.maxId - truth.deletedIds.length, 2_000)
    assert(truth.deletedIds.length > 0 && truth.deletedIds.length < 60, "about 1% of ids never existed")
    assert(!truth.deletedIds.includes(1) && !truth.deletedIds.includes(truth.maxId), "1 and the max exist")
    const all = Array.from({ length: truth.maxId + 5 }, (_, k) => k)
    assertEquals(world.posts(c.id, all).filter((p) => p !== undefined).length, 2_000)
    assertEquals(world.pts(c.id), 2_000)
  })
  const [secret, members] = [world.channels[5]!, world.channels[6]!]
  for (const c of [secret, members]) {
    assertEquals([c.username, c.isPrivate, c.adminUserIds], ["", true, []])
    assert(/^[\w-]{16}$/.test(c.inviteHash ?? ""), "an invite hash")
    assertEquals(world.channelByInvite(c.inviteHash!), c)
    assertEquals(world.truth(c.id).count, 100)
    assertEquals(world.history(c.id, historyQuery({ limit: 100 })).posts.length, 100)
  }
  assertEquals(secret.memberUserIds, [])
  assertEquals(members.memberUserIds, [777_000_001])
  assertEquals(world.channelByUsername(""), undefined)
  assertEquals(world.channelsOf(777_000_003).map((c) => c.id), [1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004])
  assertEquals(world.join(secret.id, 777_000_003), true)
  assertEquals(world.join(secret.id, 777_000_003), false)
  assertEquals(world.isMember(secret.id, 777_000_003), true)
  assertEquals(world.channelsOf(777_000_003).at(-1), secret)
  assertEquals(world.channel(42), undefined)
  assertEquals(world.channelByUsername("nope"), undefined)
  assertThrows(() => world.truth(42), (e) => assertEquals((e as Error).message, "CHANNEL_INVALID"))
})

Deno.test("World: accounts and auth keys are deterministic; the second has the 2FA password", () => {
  const a = World.create(small)
  const b = World.create({ ...small, accounts: 5 })
  assertEquals(a.accounts.length, 3)
  assertEquals(b.accounts.slice(0, 3), a.accounts)
  a.accounts.forEach((account, i) => {
    assertEquals(account.userId, 777_000_001 + i)
    assertEquals(account.firstName, "Test")
    assertEquals(account.username, `sandbox_user_${i}`)
    assertEquals(account.password, i === 1 ? "sandbox-2fa" : undefined)
    assert(/^99966[24]\d{4}$/.test(account.phone), "a test number")
    assertEquals(account.authKey.length, 256)
    assert(account.authKey[0] !== 0, "no leading zero byte")
    assert(account.accessHash > 0n, "access hash")
    assertEquals(a.account(account.userId), account)
    assertEquals(a.accountByPhone(account.phone), account)
    assertEquals(a.accountByPhone(`+${account.phone}`), account)
  })
  assertEquals(a.accounts.map((x) => x.phone), ["9996620001", "9996620002", "9996640003"])
  assertEquals(new Set(b.accounts.map((x) => Buffer.from(x.authKey).toString("hex"))).size, 5)
  assertEquals(World.create({ ...small, statsDcs: [2] }).accounts[2]!.phone, "9996620003")
  assertEquals(a.account(1), undefined)
})

Deno.test("World: generated posts are well formed: entities, albums, authors, forwards, views", () => {
  const world = World.create(small)
  let emojiBeforeEntity = 0
  const kinds = new Map<string, number>()
  const media = new Map<string, number>()
  let forwards = 0
  let edited = 0
  for (const channel of world.channels) {
    const truth = world.truth(channel.id)
    const posts = world.posts(channel.id, Array.from({ length: truth.maxId }, (_, i) => i + 1))
    for (const post of posts) {
      if (!post) continue
      assert(post.text.length >= 50 && post.text.length <= 400, `text length ${post.text.length}`)
      assert(post.date > channel.createdAt && post.date < world.start, "dated behind the start")
      for (const e of post.entities) {
        kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1)
        const slice = post.text.substring(e.offset, e.offset + e.length)
        assert(e.offset >= 0 && e.offset + e.length <= post.text.length, "entity inside the text")
        if (e.kind === "url") assert(/^https:\/\/example\.com\/[a-z]+\/\d+-\d+$/.test(slice), `url ${slice}`)
        if (e.kind === "mention") assert(/^@sandbox_chan_[0-4]$/.test(slice), `mention ${slice}`)
        if (e.kind === "hashtag") assert(/^#\p{L}+$/u.test(slice), `hashtag ${slice}`)
        if (e.kind === "textUrl") assert(/^[a-z]+$/.test(slice) && e.url?.startsWith("https://") === true, "textUrl")
        if (e.kind === "bold") assert(/^[a-z]+$/.test(slice), `bold ${slice}`)
        if (e.kind !== "textUrl") assertEquals(e.url, undefined)
        const before = post.text.slice(0, e.offset)
        if ([...before].length !== before.length) emojiBeforeEntity++
      }
      media.set(post.media, (media.get(post.media) ?? 0) + 1)
      if (post.forward) {
        forwards++
        assert(post.forward.channelId !== channel.id && world.channel(post.forward.channelId), "another channel")
        assert(!world.channel(post.forward.channelId)!.isPrivate, "forwarded from a public channel")
        assert(post.forward.date < post.date && post.forward.messageId >= 1, "forward source")
      }
      if (post.editDate !== undefined) {
        edited++
        assert(post.editDate > post.date && post.editDate < world.start, "edited after posting, before the start")
      }
      if (channel.kind === "megagroup") {
        assert(world.account(post.fromUserId!), "megagroup posts come from accounts")
        assertEquals(post.postAuthor, undefined)
      } else {
        assertEquals(post.fromUserId, undefined)
      }
      assert(post.reactions.length <= 4, "at most 4 reactions")
      assertEquals(new Set(post.reactions.map((r) => r.emoji)).size, post.reactions.length)
      assert(post.reactions.every((r) => r.count > 0 && "👍❤️🔥😂😮😢🎉".includes(r.emoji)), "reactions")
      assert(post.views > 0 && post.forwards >= 0 && post.replies >= 0, "counters")
    }
    // Albums: runs of 2-5 consecutive existing ids with one grouped id, photos and videos.
    const existing = posts.filter((p): p is Post => p !== undefined)
    const groups = new Map<bigint, Array<Post>>()
    for (const p of existing) {
      if (p.groupedId !== undefined) groups.set(p.groupedId, [...(groups.get(p.groupedId) ?? []), p])
    }
    if (!channel.isPrivate) assert(groups.size > 10, "some albums")
    for (const group of groups.values()) {
      assert(group.length >= 2 && group.length <= 5, `album of ${group.length}`)
      group.forEach((p, i) => i > 0 && assertEquals(p.id, group[i - 1]!.id + 1))
      assert(group.every((p) => p.media === "photo" || p.media === "video"), "album media")
    }
    // Dates are non-decreasing with id.
    existing.forEach((p, i) => i > 0 && assert(p.date >= existing[i - 1]!.date, "dates follow ids"))
    if (channel.kind === "broadcast" && !channel.isPrivate) {
      const signed = existing.filter((p) => p.postAuthor !== undefined).length
      assert(signed > existing.length * 0.4 && signed < existing.length * 0.6, "about half are signed")
    }
  }
  assert(emojiBeforeEntity > 100, `entities after non-BMP text: ${emojiBeforeEntity}`)
  for (const kind of ["url", "textUrl", "mention", "hashtag", "bold"]) assert((kinds.get(kind) ?? 0) > 100, kind)
  for (const kind of ["none", "photo", "video", "document", "poll", "webpage"]) {
    assert((media.get(kind) ?? 0) > 50, kind)
  }
  const total = 5 * 2_000 + 100
  assert(forwards > total * 0.1 && forwards < total * 0.2, `about 15% forwarded: ${forwards}`)
  assert(edited > total * 0.25 && edited < total * 0.35, `about 30% edited: ${edited}`)
})

Deno.test("World: publish, edit, delete and bumpViews change the truth, pts, version and emit events", () => {
  let wallMs = 1_900_000_000_500
  const world = World.create({ ...small, clock: () => wallMs })
  const channel = world.channels[1]!.id
  const events: Array<WorldEvent> = []
  const unsubscribe = world.subscribe((e) => events.push(e))
  const t0 = world.truth(channel)
  const pts0 = world.pts(channel)
  const v0 = world.version(channel)

  // publish
  const published = world.publish(channel, 3)
  assertEquals(ids(published), [t0.maxId + 1, t0.maxId + 2, t0.maxId + 3])
  assert(published.every((p) => p.date === 1_900_000_000 && p.editDate === undefined), "published now, by the wall")
  assertEquals(world.pts(channel), pts0 + 3)
  assertEquals(events.map((e) => e._tag === "NewPost" ? [e.post.id, e.pts] : []), [
    [t0.maxId + 1, pts0 + 1],
    [t0.maxId + 2, pts0 + 2],
    [t0.maxId + 3, pts0 + 3],
  ])
  const t1 = world.truth(channel)
  assertEquals(t1.count, t0.count + 3)
  assertEquals(t1.maxId, t0.maxId + 3)
  assertEquals(t1.views, t0.views + published.reduce((a, p) => a + p.views, 0))
  assertEquals(ids(world.history(channel, historyQuery({ limit: 3 })).posts), [
    t0.maxId + 3,
    t0.maxId + 2,
    t0.maxId + 1,
  ])
  assert(world.version(channel) > v0, "version moved")

  // edit
  events.length = 0
  const before = world.posts(channel, [10])[0]!
  wallMs += 90_000
  const edited = world.edit(channel, 10)
  assertEquals(edited.text, `${before.text} (edited)`)
  assertEquals(edited.entities, before.entities)
  assertEquals(edited.editDate, 1_900_000_090)
  assertEquals(world.posts(channel, [10])[0], edited)
  assertEquals(world.pts(channel), pts0 + 4)
  assertEquals(events, [{ _tag: "EditPost", channelId: channel, post: edited, pts: pts0 + 4 }])
  const replaced = world.edit(channel, 10, "Fresh 🔥 text with https://example.net/x. and @sandbox_chan_2 #café!")
  assertEquals(
    replaced.entities.map((e) => replaced.text.substring(e.offset, e.offset + e.length)),
    ["https://example.net/x", "@sandbox_chan_2", "#café"],
  )
  assertEquals(replaced.entities.map((e) => e.kind), ["url", "mention", "hashtag"])
  assertThrows(() => world.edit(channel, t1.maxId + 1), (e) => assertEquals((e as Error).message, "MESSAGE_ID_INVALID"))
  assertThrows(
    () => world.edit(channel, t0.deletedIds[0]!),
    (e) => assertEquals((e as Error).message, "MESSAGE_ID_INVALID"),
  )

  // delete
  events.length = 0
  const pts2 = world.pts(channel)
  const gone = world.posts(channel, [10, 11])
  const removed = world.delete(channel, [10, 11, 11, t0.deletedIds[0]!, t1.maxId + 50])
  assertEquals(removed, [10, 11])
  assertEquals(world.pts(channel), pts2 + 2)
  assertEquals(events, [{ _tag: "DeletePosts", channelId: channel, ids: [10, 11], pts: pts2 + 2 }])
  assertEquals(world.posts(channel, [10, 11]), [undefined, undefined])
  const t2 = world.truth(channel)
  assertEquals(t2.count, t1.count - 2)
  assertEquals(t2.views, t1.views - gone.reduce((a, p) => a + p!.views, 0))
  assert(t2.deletedIds.includes(10) && t2.deletedIds.includes(11), "deleted ids listed")
  assertEquals(t2.maxId - t2.deletedIds.length, t2.count)
  const page = ids(world.history(channel, historyQuery({ offsetId: 13, limit: 3 })).posts)
  assertEquals(page.filter((id) => id === 10 || id === 11), [])
  assertEquals(world.delete(channel, [10]), [])
  assertEquals(world.pts(channel), pts2 + 2, "nothing removed, pts unchanged")
  // Deleting the newest post lowers the truth's max id; a walk still sees exactly the rest.
  world.delete(channel, [t1.maxId])
  assertEquals(world.truth(channel).maxId, t1.maxId - 1)
  assertEquals(walk(world, channel), existingIds(world, channel))

  // bumpViews
  events.length = 0
  const t3 = world.truth(channel)
  const v3 = world.version(channel)
  assertEquals(world.bumpViews(channel, 5), t3.count)
  assertEquals(events, [], "no events for a channel-wide bump")
  assertEquals(world.truth(channel).views, t3.views + 5 * t3.count)
  assert(world.version(channel) > v3, "version moved")
  const fresh = world.publish(channel, 1)[0]!
  assertEquals(world.posts(channel, [fresh.id])[0]!.views, fresh.views, "a later post is not bumped")
  events.length = 0
  const one = world.posts(channel, [20])[0]!
  assertEquals(world.bumpViews(channel, 7, [20, 20, 10, t1.maxId + 500]), 1)
  assertEquals(events, [{ _tag: "Views", channelId: channel, id: 20, views: one.views + 7 }])
  assertEquals(world.posts(channel, [20])[0]!.views, one.views + 7)

  // Other channels are untouched; unsubscribe stops events.
  assertEquals(world.truth(world.channels[0]!.id), World.create(small).truth(world.channels[0]!.id))
  unsubscribe()
  events.length = 0
  world.publish(channel, 2)
  assertEquals(events, [])
})

Deno.test("World: the pts log replays every change after a pts, and reports when it no longer reaches back", () => {
  const world = World.create(small)
  const channel = world.channels[0]!.id
  const start = world.pts(channel)
  assertEquals(world.changesSince(channel, start), [], "nothing happened yet")
  assertEquals(world.changesSince(channel, start - 1), undefined, "the posts of the start are history, not changes")
  const [x, y] = ids(world.history(channel, historyQuery({ offsetId: 50, limit: 2 })).posts)
  const [a, b] = world.publish(channel, 2)
  world.edit(channel, x!)
  world.bumpViews(channel, 3, [x!])
  world.delete(channel, [a!.id, y!])
  assertEquals(world.changesSince(channel, start), [
    { pts: start + 1, ptsCount: 1, kind: "new", ids: [a!.id] },
    { pts: start + 2, ptsCount: 1, kind: "new", ids: [b!.id] },
    { pts: start + 3, ptsCount: 1, kind: "edit", ids: [x!] },
    { pts: start + 5, ptsCount: 2, kind: "delete", ids: [a!.id, y!] },
  ], "views do not move pts")
  assertEquals(world.pts(channel), start + 5)
  assertEquals(world.changesSince(channel, start + 3)!.map((c) => c.pts), [start + 5])
  assertEquals(world.changesSince(channel, start + 5), [])

  // The log keeps at least `ptsLogSize` changes; older pts are too long ago.
  const many = World.create({ seed: 3, channels: 1, posts: 10, ptsLogSize: 50 })
  const id = many.channels[0]!.id
  const base = many.pts(id)
  for (let i = 0; i < 500; i++) {
    many.publish(id, 1)
    assert((many.changesSince(id, many.pts(id) - 50)?.length ?? 0) === 50 || i < 49, `kept the last 50 at ${i}`)
  }
  assertEquals(many.changesSince(id, base), undefined)
  assertEquals(World.create(small).changesSince(world.channels[1]!.id, 0), undefined)
})

Deno.test("World: now is the wall clock plus the moves; views and forwards age only with the moves", () => {
  let wallMs = 1_900_000_000_999
  const world = World.create({ ...small, clock: () => wallMs })
  const channel = world.channels[0]!.id
  assertEquals([world.start, world.now(), world.asOf()], [1_900_000_000, 1_900_000_000, 1_900_000_000])
  const newest = world.publish(channel, 1)[0]!
  const sample = [1, 2, 500, 1_999, newest.id]
  const v0 = world.channels.map((c) => world.version(c.id))
  let last = world.posts(channel, sample)
  let lastTruth = world.truth(channel)
  wallMs += 7_200_000
  assertEquals([world.now(), world.asOf()], [1_900_007_200, 1_900_000_000], "now follows the wall, asOf stands")
  assertEquals(world.posts(channel, sample), last, "stable while only the wall clock moves")
  assertEquals(world.truth(channel), lastTruth)
  let moved = 0
  for (const step of [60, 3_600, 86_400, 30 * 86_400]) {
    world.advance(step)
    moved += step
    assertEquals([world.now(), world.asOf()], [1_900_007_200 + moved, 1_900_000_000 + moved])
    const now = world.posts(channel, sample)
    now.forEach((p, i) => {
      assert(p!.views >= last[i]!.views && p!.forwards >= last[i]!.forwards, "non-decreasing")
    })
    const truth = world.truth(channel)
    assert(truth.views >= lastTruth.views && truth.forwards >= lastTruth.forwards, "truth grows")
    last = now
    lastTruth = truth
  }
  assert(last.at(-1)!.views > newest.views, "a fresh post gains views")
  world.channels.forEach((c, i) => assertEquals(world.version(c.id), v0[i]! + 4))
  assertThrows(() => world.advance(-1))
  wallMs -= 3_600_000
  assertEquals(world.now(), 1_900_007_200 + moved, "dates never go back with the wall clock")
})

Deno.test("World: a published post ages by the moves since it was published, whenever the wall clock said", () => {
  const counters = (publishedAfterMs: number) => {
    let wallMs = 1_900_000_000_000
    const world = World.create({ ...small, clock: () => wallMs })
    const channel = world.channels[0]!.id
    world.advance(600)
    wallMs += publishedAfterMs
    const post = world.publish(channel, 1)[0]!
    wallMs += 5_000
    world.advance(86_400)
    const [aged] = world.posts(channel, [post.id])
    return { date: post.date, views: aged!.views, forwards: aged!.forwards, truth: world.truth(channel) }
  }
  const early = counters(1_000)
  const late = counters(1_234_000)
  assertEquals(late.date - early.date, 1_233, "dated by the wall clock")
  assertEquals([late.views, late.forwards, late.truth], [early.views, early.forwards, early.truth])
})

/** Backfill walk by offset_id. */
function walk(world: World, channel: number): Array<number> {
  const out: Array<number> = []
  for (let offsetId = 0;;) {
    const posts = world.history(channel, historyQuery({ offsetId })).posts
    if (posts.length === 0) return out
    out.push(...ids(posts))
    offsetId = posts.at(-1)!.id
  }
}
