/** contacts.*: username resolution (channels first, then the test accounts). */
import { type Caller, fail } from "../session/Rpc.ts"
import { peerChannel, peerUser, renderChannel, renderUser } from "../tl/Render.ts"
import { Api } from "../tl/Tl.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"

const USERNAME = /^[a-zA-Z]\w{3,31}$/

function resolveUsername(ctx: MethodContext, request: Api.contacts.ResolveUsername, caller: Caller) {
  const { world } = ctx
  const username = String(request.username ?? "").replace(/^@/, "")
  if (!USERNAME.test(username)) fail(400, "USERNAME_INVALID")
  const lower = username.toLowerCase()
  const info = world.channelByUsername(username) ?? world.channels.find((c) => c.username.toLowerCase() === lower)
  if (info) {
    return new Api.contacts.ResolvedPeer({
      peer: peerChannel(info.id),
      chats: [renderChannel(info, caller.userId)],
      users: [],
    })
  }
  const account = world.accounts.find((a) => a.username.toLowerCase() === lower)
  if (account) {
    return new Api.contacts.ResolvedPeer({
      peer: peerUser(account.userId),
      chats: [],
      users: [renderUser(account, account.userId === caller.userId)],
    })
  }
  return fail(400, "USERNAME_NOT_OCCUPIED")
}

export const contactsMethods: Handlers = {
  "contacts.ResolveUsername": resolveUsername,
}
