/** updates.*: the common box, getDifference, getChannelDifference over the pts log (core.telegram.org/api/updates). */
import { type Caller, fail, RawResult } from "../session/Rpc.ts"
import { writeMessage, writeUpdate } from "../tl/Encode.ts"
import { peerChannel, renderChannel } from "../tl/Render.ts"
import { Api, toLong } from "../tl/Tl.ts"
import { Writer } from "../transport/Bytes.ts"
import { historyQuery } from "../world/History.ts"
import type { ChannelInfo, Post, PtsChange, WorldApi } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { readable, writeRelated } from "./Peers.ts"

/** updates.getChannelDifference: the largest `limit` (larger ones are capped), and the re-poll `timeout` in seconds. */
const DIFFERENCE_MAX_LIMIT = 100_000
const DIFFERENCE_TIMEOUT = 30
/** Posts a channelDifferenceTooLong carries at most (the newest ones). */
const TOO_LONG_MESSAGES = 100

/** Channels whose changes `userId` is told about (members get their pushes; admins see them too). */
function follows(info: ChannelInfo, userId: number): boolean {
  return info.memberUserIds.includes(userId) || info.adminUserIds.includes(userId)
}

// The common box holds no events here (channels have their own pts), so its pts stays 1.
function updatesState(world: WorldApi): Api.updates.State {
  return new Api.updates.State({ pts: 1, qts: 0, date: world.now(), seq: 0, unreadCount: 0 })
}

/** channelDifferenceTooLong: the dialog at the current pts and the newest posts; the client re-syncs history. */
function channelDifferenceTooLong(
  world: WorldApi,
  info: ChannelInfo,
  viewer: number | undefined,
  limit: number,
): Uint8Array {
  const posts = world.history(info.id, historyQuery({ limit: Math.min(limit, TOO_LONG_MESSAGES) })).posts
  const top = posts[0]?.id ?? 0
  const dialog = new Api.Dialog({
    peer: peerChannel(info.id),
    topMessage: top,
    readInboxMaxId: top,
    readOutboxMaxId: top,
    unreadCount: 0,
    unreadMentionsCount: 0,
    unreadReactionsCount: 0,
    notifySettings: new Api.PeerNotifySettings({}),
    pts: world.pts(info.id),
  })
  const w = new Writer(4096 + posts.length * 600)
  // flags: final (0), timeout (1)
  w.uint32(Api.updates.ChannelDifferenceTooLong.CONSTRUCTOR_ID).uint32(0b11).int32(DIFFERENCE_TIMEOUT)
  w.raw(dialog.getBytes())
  w.vector(posts.length)
  for (const p of posts) writeMessage(w, p)
  writeRelated(w, world, { info, posts, viewer })
  return w.finish()
}

/**
 * updates.channelDifference for changes after `pts` (oldest first), as many as fit in `limit` pts but at least one
 * (a change's pts_count is never split). New posts and edits are sent as they are now; those deleted since are left
 * out (a later deletion covers them).
 */
function channelDifference(
  world: WorldApi,
  info: ChannelInfo,
  viewer: number | undefined,
  after: { readonly pts: number; readonly changes: ReadonlyArray<PtsChange>; readonly limit: number },
): Uint8Array {
  const { pts, changes, limit } = after
  let end = 1
  while (end < changes.length && changes[end]!.pts - pts <= limit) end++
  const page = changes.slice(0, end)
  const final = end === changes.length
  const wanted = page.flatMap((c) => (c.kind === "delete" ? [] : c.ids))
  const now = new Map<number, Post>()
  world.posts(info.id, wanted).forEach((p) => p && now.set(p.id, p))
  const newPosts: Array<Post> = []
  const edited: Array<Post> = []
  for (const c of page) {
    if (c.kind === "new") {
      const post = now.get(c.ids[0]!)
      if (post) newPosts.push(post)
    }
  }
  const w = new Writer(4096 + wanted.length * 600)
  // flags: final (0), timeout (1)
  w.uint32(Api.updates.ChannelDifference.CONSTRUCTOR_ID).uint32(final ? 0b11 : 0b10)
  w.int32(page[page.length - 1]!.pts).int32(DIFFERENCE_TIMEOUT)
  w.vector(newPosts.length)
  for (const p of newPosts) writeMessage(w, p)
  const other = page.filter((c) => c.kind === "delete" || (c.kind === "edit" && now.has(c.ids[0]!)))
  w.vector(other.length)
  for (const c of other) {
    if (c.kind === "delete") writeUpdate(w, { _tag: "DeletePosts", channelId: info.id, ids: c.ids, pts: c.pts })
    else {
      const post = now.get(c.ids[0]!)!
      edited.push(post)
      writeUpdate(w, { _tag: "EditPost", channelId: info.id, post, pts: c.pts })
    }
  }
  writeRelated(w, world, { info, posts: [...newPosts, ...edited], viewer })
  return w.finish()
}

function getState(ctx: MethodContext): Api.updates.State {
  return updatesState(ctx.world)
}

// A channel changed at or after `date` (the sandbox's clock, whole seconds: the same second counts) is announced with
// updateChannelTooLong, as Telegram does for channels a client must catch up on with getChannelDifference.
function getDifference(ctx: MethodContext, request: Api.updates.GetDifference, caller: Caller) {
  const { world } = ctx
  const since = Math.trunc(Number(request.date) || 0)
  const userId = caller.userId!
  // Discussion groups are channels too (not listed in `channels`): their members follow them.
  const changed = [...world.channels, ...world.groups].filter((c) =>
    follows(c, userId) && (world.lastChangeDate(c.id) ?? Number.NEGATIVE_INFINITY) >= since
  )
  if (changed.length === 0) return new Api.updates.DifferenceEmpty({ date: world.now(), seq: 0 })
  return new Api.updates.Difference({
    newMessages: [],
    newEncryptedMessages: [],
    otherUpdates: changed.map((c) => new Api.UpdateChannelTooLong({ channelId: toLong(c.id), pts: world.pts(c.id) })),
    chats: changed.map((c) => renderChannel(c, userId)),
    users: [],
    state: updatesState(world),
  })
}

/**
 * Errors as core.telegram.org/method/updates.getChannelDifference lists them: a pts left empty (0) is
 * PERSISTENT_TIMESTAMP_EMPTY and one the channel never reached (ahead of its pts, or negative) is
 * PERSISTENT_TIMESTAMP_INVALID; only a pts older than the log keeps is channelDifferenceTooLong ("the passed pts is too
 * old", core.telegram.org/constructor/updates.channelDifferenceTooLong).
 */
function getChannelDifference(ctx: MethodContext, request: Api.updates.GetChannelDifference, caller: Caller) {
  const { world } = ctx
  const info = readable(world, request.channel, caller)
  const pts = Math.trunc(Number(request.pts) || 0)
  const limit = Math.min(DIFFERENCE_MAX_LIMIT, Math.max(1, Math.trunc(Number(request.limit) || 0)))
  const current = world.pts(info.id)
  if (pts === 0) return fail(400, "PERSISTENT_TIMESTAMP_EMPTY")
  if (pts < 0 || pts > current) return fail(400, "PERSISTENT_TIMESTAMP_INVALID")
  const changes = world.changesSince(info.id, pts)
  if (changes === undefined) return new RawResult(channelDifferenceTooLong(world, info, caller.userId, limit))
  if (changes.length === 0) {
    return new Api.updates.ChannelDifferenceEmpty({ final: true, pts: current, timeout: DIFFERENCE_TIMEOUT })
  }
  return new RawResult(channelDifference(world, info, caller.userId, { pts, changes, limit }))
}

export const updatesMethods: Handlers = {
  "updates.GetState": getState,
  "updates.GetDifference": getDifference,
  "updates.GetChannelDifference": getChannelDifference,
}
