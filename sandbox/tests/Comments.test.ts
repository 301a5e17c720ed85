/**
 * Discussion groups and comments: the group as a channel of the world, messages.getReplies paging a post's comments
 * exactly as getHistory pages posts, the admin API's truth and new comments, their pushes and the linked chats, through
 * the real GramJS client.
 */
import { Buffer } from "node:buffer"
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import { encodeMessage } from "../tl/Encode.ts"
import { renderMessage } from "../tl/Render.ts"
import { historyHash, historyQuery } from "../world/History.ts"
import type { HistoryQuery, WorldApi } from "../world/Model.ts"
import { World } from "../world/World.ts"
import { assert, assertEquals, assertRejects } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { type Channel, channelDifference, collect, connected, num, ptsOf } from "./support/updates.ts"

const peerOf = (c: { readonly id: number; readonly accessHash: string | bigint }) =>
  new Api.InputPeerChannel({ channelId: bigInt(c.id), accessHash: bigInt(String(c.accessHash)) })

/** Every existing id of a channel (or group), newest first, read through world.history by offset_id. */
function walk(world: WorldApi, channelId: number): Array<number> {
  const out: Array<number> = []
  for (let offsetId = 0;;) {
    const page = world.history(channelId, historyQuery({ offsetId }))
    out.push(...page.posts.map((p) => p.id))
    if (page.posts.length < 100) return out
    offsetId = page.posts[page.posts.length - 1]!.id
  }
}

Deno.test("Comments: a discussion group is a megagroup of the world: history, counts, replies and bytes agree", () => {
  const world = World.create({ seed: 11, channels: 3, posts: 700 })
  const [withGroup, , without] = world.channels
  const groupId = withGroup!.discussionGroupId!
  assertEquals(without!.discussionGroupId, undefined)
  assertEquals(world.groups.map((g) => [g.id, g.kind, g.linkedChannelId]), [
    [groupId, "megagroup", withGroup!.id],
    [world.channels[1]!.discussionGroupId!, "megagroup", world.channels[1]!.id],
  ])
  const group = world.channel(groupId)!
  // The group's members are its channel's (one array: a join reaches both).
  assert(group.memberUserIds === withGroup!.memberUserIds, "the same members")

  const ids = walk(world, groupId)
  assertEquals(ids.length, world.postCount(groupId), "the walk returns every message once")
  assertEquals(new Set(ids).size, ids.length)
  const messages = world.posts(groupId, ids)
  const discussions = messages.filter((m) => m!.fromChannelId !== undefined)
  const comments = messages.filter((m) => m!.replyTo !== undefined)
  assertEquals(discussions.length + comments.length, ids.length)
  // One discussion message per post that existed at the start, each forwarding its post.
  assertEquals(discussions.length, world.truth(withGroup!.id).count)
  for (const d of discussions) {
    assertEquals([d!.forward?.channelId, d!.forward?.saved], [withGroup!.id, true])
    const post = world.posts(withGroup!.id, [d!.forward!.messageId])[0]!
    assertEquals([d!.text, d!.replies, d!.repliesMaxId], [post.text, post.replies, post.repliesMaxId])
  }
  // Dates never go down with ids (offset_date works), and every message encodes to GramJS's own bytes.
  for (let i = 1; i < messages.length; i++) assert(messages[i]!.date <= messages[i - 1]!.date, "dates")
  for (const m of messages) {
    assert(Buffer.from(encodeMessage(m!)).equals(renderMessage(m!).getBytes()), `message ${m!.id} encodes`)
  }
  // Each post's replies are its comments in the group; the truths agree.
  const truth = world.commentTruth(withGroup!.id)
  assertEquals(truth.count, comments.length)
  assertEquals(truth.count, world.truth(withGroup!.id).replies)
  let replying = 0
  for (const [postId, n] of truth.posts) {
    const thread = world.replies(withGroup!.id, postId, historyQuery())
    assertEquals([thread.count, thread.posts.length], [n, n])
    const top = world.discussionMessage(withGroup!.id, postId).id
    for (const c of thread.posts) {
      assert(c.replyTo!.msgId === top || c.replyTo!.topId === top, "in the thread")
      if (c.replyTo!.topId !== undefined) replying++
    }
  }
  assert(replying > 0, "some comments answer a comment")
  // Mostly 0-3 comments a post, a few more.
  const counts = [...truth.posts.values()]
  const posts = world.truth(withGroup!.id).count
  assert(counts.filter((n) => n <= 3).length + (posts - counts.length) > 0.85 * posts, "mostly 0-3")
  assert(counts.some((n) => n > 3) && counts.every((n) => n <= 15), "a few more")
  // The group's own truth: its messages, comments and their reactions; a comment deleted in the group leaves its post.
  const groupTruth = world.truth(groupId)
  assertEquals(
    [groupTruth.count, groupTruth.minId, groupTruth.maxId, groupTruth.replies, groupTruth.deletedIds],
    [ids.length, ids[ids.length - 1], ids[0], comments.length, []],
  )
  assertEquals(groupTruth.reactions, comments.reduce((n, c) => n + (c!.reactions[0]?.count ?? 0), 0))
  const [postId, n] = [...truth.posts][0]!
  const gone = world.replies(withGroup!.id, postId, historyQuery()).posts[0]!.id
  assertEquals(world.delete(groupId, [gone]), [gone])
  assertEquals(world.truth(groupId).deletedIds, [gone])
  assertEquals(world.commentTruth(withGroup!.id).count, truth.count - 1)
  assertEquals(world.posts(withGroup!.id, [postId])[0]!.replies, n - 1)
  assertEquals(world.replies(withGroup!.id, postId, historyQuery()).count, n - 1)
  // A channel without a group: no comments, no replies on its posts.
  assertEquals(world.commentTruth(without!.id), { count: 0, groupId: undefined, posts: new Map() })
  assertEquals(world.truth(without!.id).replies, 0)
  assertEquals(world.posts(without!.id, [world.nthNewest(without!.id, 0)!])[0]!.commentsGroupId, undefined)
})

Deno.test("Comments: a thread is paged exactly as getHistory pages a channel", () => {
  const world = World.create({ seed: 11, channels: 1, posts: 700 })
  const channel = world.channels[0]!
  const [postId] = [...world.commentTruth(channel.id).posts].find(([, n]) => n >= 6)!
  const added = world.addComments(channel.id, postId, { count: 3 }).map((c) => c.id)
  const all = world.replies(channel.id, postId, historyQuery({ limit: 100 })).posts.map((p) => p.id)
  assert(all.length >= 9 && all.slice(0, 3).join() === [...added].reverse().join(), "newest first, added on top")
  const page = (q: Partial<HistoryQuery>) => world.replies(channel.id, postId, historyQuery(q))
  const ids = (q: Partial<HistoryQuery>) => page(q).posts.map((p) => p.id)
  // offset_id pages, limit
  const walked: Array<number> = []
  for (let offsetId = 0;;) {
    const p = ids({ offsetId, limit: 2 })
    walked.push(...p)
    if (p.length < 2) break
    offsetId = p[p.length - 1]!
  }
  assertEquals(walked, all)
  // add_offset (negative: the comments above the offset), max_id and min_id (after slicing), offset_date
  assertEquals(ids({ offsetId: all[4]!, addOffset: -2, limit: 3 }), all.slice(3, 6))
  assertEquals(ids({ minId: all[3]! }), all.slice(0, 3))
  assertEquals(ids({ maxId: all[1]!, limit: 3 }), all.slice(2, 3))
  const group = world.channels[0]!.discussionGroupId!
  const dates = world.posts(group, all).map((m) => m!.date)
  assertEquals(ids({ offsetDate: dates[0]! }), all.filter((_, i) => dates[i]! < dates[0]!))
  assertEquals(page({ offsetId: all[2]! }).offsetIdOffset, 3)
  assertEquals(page({}).count, all.length)
  // A matching hash: not modified; a post without comments: empty; a missing post: MSG_ID_INVALID.
  assert(page({ hash: historyHash(all) }).notModified, "not modified")
  const bare = world.publish(channel.id, 1)[0]!.id
  assertEquals([world.replies(channel.id, bare, historyQuery()).count, world.posts(channel.id, [bare])[0]!.replies], [
    0,
    0,
  ])
  let failed = ""
  try {
    world.replies(channel.id, world.truth(channel.id).deletedIds[0]!, historyQuery())
  } catch (error) {
    failed = (error as Error).message
  }
  assertEquals(failed, "MSG_ID_INVALID")
})

/** messages.getReplies of the thread of `msgId` in `channel` (a descriptor channel, or an input peer). */
async function replies(
  client: TelegramClient,
  channel: Channel | Api.InputPeerChannel,
  msgId: number,
  q: Partial<HistoryQuery> = {},
) {
  const { hash, ...rest } = historyQuery(q)
  const peer = channel instanceof Api.InputPeerChannel ? channel : peerOf(channel)
  return await client.invoke(
    new Api.messages.GetReplies({ peer, msgId, ...rest, hash: bigInt(hash.toString()) }),
  ) as any
}

/** Every comment of a post through getReplies pages of `limit`, newest first. */
async function allReplies(client: TelegramClient, channel: Channel, msgId: number, limit: number) {
  const out: Array<any> = []
  for (let offsetId = 0;;) {
    const page = await replies(client, channel, msgId, { offsetId, limit })
    out.push(...page.messages)
    if (page.messages.length < limit) return { messages: out, count: page.count, page }
    offsetId = page.messages[page.messages.length - 1].id
  }
}

sandboxTest(
  "Comments: getReplies through GramJS returns every post's comments as the admin truth counts them",
  async () => {
    await using sandbox = await startSandbox({ channels: 3, posts: 200 })
    const [channel, , without] = sandbox.descriptor.channels as [Channel, Channel, Channel]
    assertEquals(without.discussionGroupId, null)
    const groupId = channel.discussionGroupId!
    assert(typeof groupId === "number", "the descriptor names the group")
    const truth = await admin(sandbox, `/channels/${channel.id}/comments/truth`)
    assertEquals(truth.groupId, groupId)
    assert(truth.count > 100, `${truth.count} comments`)
    const client = gramClient(sandbox, { account: 0 })
    try {
      await client.connect()
      let seen = 0
      const posts: Array<any> = []
      for (let offsetId = 0;;) {
        const page = await client.invoke(
          new Api.messages.GetHistory({ peer: peerOf(channel), offsetId, limit: 100, hash: bigInt(0) } as any),
        ) as any
        posts.push(...page.messages)
        if (page.messages.length < 100) break
        offsetId = page.messages[page.messages.length - 1].id
      }
      for (const post of posts) {
        const n = truth.posts[String(post.id)] ?? 0
        // The post's replies say how many comments there are and where.
        assertEquals([post.replies.comments, num(post.replies.channelId), post.replies.replies], [true, groupId, n])
        if (n === 0) continue
        const { messages, count, page } = await allReplies(client, channel, post.id, 2)
        assertEquals([count, messages.length, new Set(messages.map((m) => m.id)).size], [n, n, n])
        assertEquals(num(post.replies.maxId), messages[0].id)
        for (let i = 1; i < messages.length; i++) assert(messages[i].id < messages[i - 1].id, "newest first")
        for (const m of messages) {
          assertEquals([m.peerId.className, num(m.peerId.channelId), m.fromId.className], [
            "PeerChannel",
            groupId,
            "PeerUser",
          ])
          assert(m.replyTo.replyToMsgId > 0, "a reply")
        }
        // The group and the channel are in chats; the authors in users.
        assertEquals(page.chats.map((c: any) => num(c.id)).sort(), [channel.id, groupId].sort())
        for (const m of page.messages) assert(page.users.some((u: any) => num(u.id) === num(m.fromId.userId)), "author")
        seen += n
      }
      assertEquals(seen, truth.count)

      // A channel without a group: its posts carry no replies and getReplies is MSG_ID_INVALID.
      const bare = await client.invoke(
        new Api.messages.GetHistory({ peer: peerOf(without), limit: 1, hash: bigInt(0) } as any),
      ) as any
      assertEquals(bare.messages[0].replies, null)
      await assertRejects(
        () => replies(client, without, bare.messages[0].id),
        (e) => assertEquals((e as { errorMessage?: string }).errorMessage, "MSG_ID_INVALID"),
      )
      assertEquals(await admin(sandbox, `/channels/${without.id}/comments/truth`), {
        count: 0,
        groupId: null,
        posts: {},
      })

      // linked_chat_id both ways, and the discussion message.
      const full = await client.invoke(new Api.channels.GetFullChannel({ channel: peerOf(channel) as any })) as any
      assertEquals(num(full.fullChat.linkedChatId), groupId)
      const group = full.chats.find((c: any) => num(c.id) === groupId)
      assert(group?.megagroup && group.hasLink, "the group is in chats, a linked megagroup")
      const back = await client.invoke(
        new Api.channels.GetFullChannel({
          channel: new Api.InputChannel({ channelId: bigInt(groupId), accessHash: group.accessHash }),
        }),
      ) as any
      assertEquals(num(back.fullChat.linkedChatId), channel.id)
      const barefull = await client.invoke(new Api.channels.GetFullChannel({ channel: peerOf(without) as any })) as any
      assertEquals(barefull.fullChat.linkedChatId, null)
      const [postId] = Object.keys(truth.posts).map(Number)
      const discussion = await client.invoke(
        new Api.messages.GetDiscussionMessage({ peer: peerOf(channel), msgId: postId! }),
      )
      const d = discussion.messages[0] as Api.Message
      assertEquals([num(d.fwdFrom!.savedFromMsgId), num((d.fwdFrom!.savedFromPeer as any).channelId)], [
        postId,
        channel.id,
      ])
      assertEquals(d.replies!.replies, truth.posts[String(postId)])
      // The same thread asked of the group by its discussion message; a comment is no thread there.
      const groupPeer = new Api.InputPeerChannel({ channelId: bigInt(groupId), accessHash: group.accessHash })
      const byGroup = await replies(client, groupPeer, d.id)
      const byChannel = await replies(client, channel, postId!)
      assertEquals(byGroup.messages.map((m: any) => m.id), byChannel.messages.map((m: any) => m.id))
      const again = await client.invoke(new Api.messages.GetDiscussionMessage({ peer: groupPeer, msgId: d.id }))
      assertEquals(again.messages[0]!.id, d.id)
      await assertRejects(
        () => replies(client, groupPeer, byChannel.messages[0].id),
        (e) => assertEquals((e as { errorMessage?: string }).errorMessage, "MSG_ID_INVALID"),
      )
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest(
  "Comments: a new comment is pushed to the group's members, raises replies and is read by min_id",
  async () => {
    await using sandbox = await startSandbox({ channels: 2, posts: 200 })
    const channel = sandbox.descriptor.channels[0]!
    const groupId = channel.discussionGroupId!
    const client = gramClient(sandbox, { account: 1 })
    try {
      await connected(client)
      const seen = await collect(client)
      const truth = await admin(sandbox, `/channels/${channel.id}/comments/truth`)
      const [postId, before] = Object.entries(truth.posts).map(([k, v]) => [Number(k), v as number] as const)[0]!
      const first = await replies(client, channel, postId!)
      const newest = first.messages[0].id
      const g0 = sandbox.world.pts(groupId)
      const added = await admin(sandbox, `/channels/${channel.id}/posts/${postId}/comments`, {
        body: { count: 2, text: "Hello from the admin API", fromUserId: 4242 },
      })
      assertEquals(added.groupId, groupId)
      assertEquals(added.ids.length, 2)
      assert(added.ids[0] > newest && added.ids[1] > added.ids[0], "later comments have higher ids")
      await seen.until(
        "2 comments pushed",
        () => seen.filter((u) => u.className === "UpdateNewChannelMessage").length >= 2,
      )
      const pushed = seen.filter((u) => u.className === "UpdateNewChannelMessage")
      assertEquals(pushed.map(ptsOf), [
        ["UpdateNewChannelMessage", g0 + 1, 1, [added.ids[0]]],
        ["UpdateNewChannelMessage", g0 + 2, 1, [added.ids[1]]],
      ])
      assertEquals(num(pushed[0].message.peerId.channelId), groupId)
      assertEquals(pushed[0].message.message, "Hello from the admin API")
      assertEquals(num(pushed[0].message.fromId.userId), 4242)
      // The post's replies went up; min_id = the newest comment seen reads only the new ones; count is all of them.
      const post = await client.invoke(
        new Api.channels.GetMessages({
          channel: new Api.InputChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) }),
          id: [new Api.InputMessageID({ id: postId! })],
        }),
      ) as any
      assertEquals([post.messages[0].replies.replies, num(post.messages[0].replies.maxId)], [before + 2, added.ids[1]])
      const incremental = await replies(client, channel, postId!, { minId: newest })
      assertEquals([incremental.messages.map((m: any) => m.id), incremental.count], [
        [...added.ids].reverse(),
        before + 2,
      ])
      const after = await admin(sandbox, `/channels/${channel.id}/comments/truth`)
      assertEquals([after.count, after.posts[String(postId)]], [truth.count + 2, before + 2])
      // getChannelDifference of the group replays them.
      const group = { id: groupId, accessHash: String(sandbox.world.channel(groupId)!.accessHash) } as Channel
      const diff = await channelDifference(client, group, g0)
      assertEquals(diff.newMessages.map((m: any) => m.id), added.ids)
      // getDifference names the changed group as it names any changed channel the account follows.
      const since = await client.invoke(new Api.updates.GetDifference({ pts: 1, date: pushed[0].message.date, qts: 0 }))
      assert(
        (since as any).otherUpdates.some((u: any) =>
          u.className === "UpdateChannelTooLong" && num(u.channelId) === groupId
        ),
        "the group in getDifference",
      )
      // The group's history shows the post as it is now: an edit of the post reaches its discussion message.
      const discussionOf = async () => {
        const top = sandbox.world.discussionMessage(channel.id, postId!).id
        const page = await client.invoke(
          new Api.messages.GetHistory({ peer: peerOf(group), offsetId: top + 1, limit: 1, hash: bigInt(0) } as any),
        ) as any
        return page.messages[0].message
      }
      // Asked twice: the DC caches a page the second time it is asked for.
      for (let i = 0; i < 2; i++) await discussionOf()
      await admin(sandbox, `/channels/${channel.id}/posts/${postId}/edit`, { body: { text: "Edited post" } })
      assertEquals(await discussionOf(), "Edited post")

      // A post published since the start: its first comment brings its discussion message (pushed first).
      const { ids: [fresh] } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
      assertEquals(await replies(client, channel, fresh).then((r: any) => r.count), 0)
      const { ids: [c1] } = await admin(sandbox, `/channels/${channel.id}/posts/${fresh}/comments`, { body: {} })
      await seen.until(
        "the discussion message and the comment",
        () =>
          seen.filter((u) => u.className === "UpdateNewChannelMessage" && num(u.message.peerId.channelId) === groupId)
            .length >= 4,
      )
      const inGroup = seen.filter((u) =>
        u.className === "UpdateNewChannelMessage" && num(u.message.peerId.channelId) === groupId
      ).slice(2)
      assertEquals(inGroup.map((u) => [u.pts, num(u.message.fwdFrom?.channelPost ?? 0)]), [[g0 + 3, fresh], [
        g0 + 4,
        0,
      ]])
      assertEquals([inGroup[1].message.id, inGroup[1].message.replyTo.replyToMsgId], [c1, inGroup[0].message.id])
      assertEquals((await replies(client, channel, fresh)).messages.map((m: any) => m.id), [c1])
    } finally {
      await client.destroy()
    }
  },
)

sandboxTest("Comments: the admin routes check what they are given", async () => {
  await using sandbox = await startSandbox({ channels: 3, posts: 50 })
  const [channel, , without] = sandbox.descriptor.channels as [Channel, Channel, Channel]
  const post = sandbox.world.nthNewest(channel.id, 0)!
  const status = async (path: string, body: unknown) => {
    const res = await fetch(`${sandbox.descriptor.admin}${path}`, { method: "POST", body: JSON.stringify(body) })
    return [res.status, (await res.json()).error]
  }
  assertEquals(await status(`/channels/${without.id}/posts/${sandbox.world.nthNewest(without.id, 0)}/comments`, {}), [
    400,
    `Channel ${without.id} has no discussion group (its posts have no comments)`,
  ])
  assertEquals((await status(`/channels/${channel.id}/posts/999999/comments`, {}))[0], 404)
  assertEquals(await status(`/channels/${channel.id}/posts/${post}/comments`, { count: 0 }), [
    400,
    'Field "count" must be a positive integer',
  ])
  assertEquals((await status(`/channels/${channel.id}/posts/${post}/comments`, { colour: 1 }))[0], 400)
  assertEquals((await status(`/channels/999/comments/truth`, {}))[0], 404)
  const root = await admin(sandbox, "/")
  for (const route of ["GET /channels/:id/comments/truth", "POST /channels/:id/posts/:msgId/comments"]) {
    assert(root.routes.some((r: string) => r.startsWith(route)), route)
  }
  const listed = await admin(sandbox, `/channels/${channel.id}/posts/${post}/comments`, { body: { count: 2 } })
  const { comments } = await admin(sandbox, `/channels/${channel.id}/posts/${post}/comments`)
  assertEquals(comments.slice(-2).map((c: any) => c.id), listed.ids)
})
