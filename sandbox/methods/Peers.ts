/** Peers and access for the method handlers: input channels checked, users rendered, the chats and users of posts. */
import { fail } from "../session/Rpc.ts"
import { renderChannel, renderUserAs } from "../tl/Render.ts"
import { fromLong } from "../tl/Tl.ts"
import type { Writer } from "../transport/Bytes.ts"
import type { Account, ChannelInfo, Post, WorldApi } from "../world/Model.ts"
import type { Caller } from "../session/Rpc.ts"

function canRead(info: ChannelInfo, userId: number | undefined): boolean {
  return !info.isPrivate ||
    (userId !== undefined && (info.memberUserIds.includes(userId) || info.adminUserIds.includes(userId)))
}

/** An InputPeerChannel / InputChannel whose id and access hash match a world channel. */
export function channelOf(world: WorldApi, input: any): ChannelInfo {
  const name: string | undefined = input?.className
  if (name === "InputChannelEmpty") return fail(400, "CHANNEL_INVALID")
  if (name !== "InputPeerChannel" && name !== "InputChannel") return fail(400, "PEER_ID_INVALID")
  const info = world.channel(Number(fromLong(input.channelId)))
  if (!info || info.accessHash !== fromLong(input.accessHash)) return fail(400, "CHANNEL_INVALID")
  return info
}

/** `info` when the caller may read the channel (a private one: its members and admins); 406 CHANNEL_PRIVATE if not. */
export function mayRead(info: ChannelInfo, caller: Caller): ChannelInfo {
  if (!canRead(info, caller.userId)) fail(406, "CHANNEL_PRIVATE")
  return info
}

/** As `channelOf`, and the caller must be allowed to read it. */
export function readable(world: WorldApi, input: any, caller: Caller): ChannelInfo {
  return mayRead(channelOf(world, input), caller)
}

/**
 * Serialized chats and users, as a viewer sees them: every page names the same few, and GramJS's getBytes of them
 * allocated more per page than the page's 100 posts (garbage that drives the DC's memory under load). Keyed weakly by
 * the world's own objects: bounded by its channels (a channel looks different only to its creator, its admins and the
 * others, as renderChannel has it) and its accounts (to themselves and to the others).
 */
const channelBytes = new WeakMap<ChannelInfo, Array<Uint8Array | undefined>>()
const accountBytes = new WeakMap<Account, Array<Uint8Array | undefined>>()

function channelAs(info: ChannelInfo, viewer: number | undefined): Uint8Array {
  const admin = viewer === undefined ? -1 : info.adminUserIds.indexOf(viewer)
  const role = admin === 0 ? 0 : admin > 0 ? 1 : 2
  let byRole = channelBytes.get(info)
  if (byRole === undefined) channelBytes.set(info, byRole = [])
  return byRole[role] ??= renderChannel(info, viewer).getBytes()
}

function userAs(world: WorldApi, id: number, viewer: number | undefined): Uint8Array {
  const account = world.account(id)
  if (account === undefined) return renderUserAs(world, id, viewer).getBytes()
  const self = id === viewer ? 0 : 1
  let bySelf = accountBytes.get(account)
  if (bySelf === undefined) accountBytes.set(account, bySelf = [])
  return bySelf[self] ??= renderUserAs(world, id, viewer).getBytes()
}

/** Chats and users referenced by posts: the channel, forward sources, megagroup authors. */
function related(
  world: WorldApi,
  info: ChannelInfo,
  posts: ReadonlyArray<Post | undefined>,
  viewer: number | undefined,
  extra: ReadonlyArray<ChannelInfo> = [],
) {
  const chatIds = new Set<number>([info.id, ...extra.map((c) => c.id)])
  const userIds = new Set<number>()
  for (const p of posts) {
    if (!p) continue
    if (p.forward) chatIds.add(p.forward.channelId)
    if (p.fromUserId !== undefined) userIds.add(p.fromUserId)
  }
  const chats: Array<Uint8Array> = []
  for (const id of chatIds) {
    const c = id === info.id ? info : world.channel(id)
    if (c) chats.push(channelAs(c, viewer))
  }
  return { chats, users: [...userIds].map((id) => userAs(world, id, viewer)) }
}

/** Writes the chats and users vectors for `posts` of the channel. */
export function writeRelated(
  w: Writer,
  world: WorldApi,
  page: {
    readonly info: ChannelInfo
    readonly posts: ReadonlyArray<Post | undefined>
    readonly viewer: number | undefined
    readonly chats?: ReadonlyArray<ChannelInfo>
  },
): void {
  const { chats, users } = related(world, page.info, page.posts, page.viewer, page.chats)
  w.vector(chats.length)
  for (const c of chats) w.raw(c)
  w.vector(users.length)
  for (const u of users) w.raw(u)
}
