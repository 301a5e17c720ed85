/** users.*: the test accounts as users (getUsers, getFullUser). */
import { type Caller, fail } from "../session/Rpc.ts"
import { renderUser } from "../tl/Render.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"
import type { Account, WorldApi } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"

/** The test account an InputUser (or InputUserSelf) names, if any. */
function accountOfInputUser(world: WorldApi, input: any, caller: Caller): Account | undefined {
  switch (input?.className) {
    case "InputUserSelf":
      return caller.userId === undefined ? undefined : world.account(caller.userId)
    case "InputUser":
    case "InputPeerUser":
      return world.account(Number(fromLong(input.userId)))
    default:
      return undefined
  }
}

function getUsers(ctx: MethodContext, request: Api.users.GetUsers, caller: Caller): Array<Api.User> {
  const out: Array<Api.User> = []
  for (const input of request.id ?? []) {
    const account = accountOfInputUser(ctx.world, input, caller)
    if (account) out.push(renderUser(account, account.userId === caller.userId))
  }
  return out
}

function getFullUser(ctx: MethodContext, request: Api.users.GetFullUser, caller: Caller): Api.users.UserFull {
  const account = accountOfInputUser(ctx.world, request.id, caller) ?? fail(400, "USER_ID_INVALID")
  return new Api.users.UserFull({
    fullUser: new Api.UserFull({
      id: toLong(account.userId),
      about: "",
      settings: new Api.PeerSettings({}),
      notifySettings: new Api.PeerNotifySettings({}),
      commonChatsCount: 0,
    }),
    chats: [],
    users: [renderUser(account, account.userId === caller.userId)],
  })
}

export const usersMethods: Handlers = {
  "users.GetUsers": getUsers,
  "users.GetFullUser": getFullUser,
}
