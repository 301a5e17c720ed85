/**
 * The method table of one DC: every handler of every TL namespace over one context, each (but those an unauthorized
 * key may call) answering 401 AUTH_KEY_UNREGISTERED to a key that is not signed in.
 */
import { type Caller, fail, type MethodHandler, type MethodTable, type RpcResult } from "../session/Rpc.ts"
import { authMethods } from "./auth.ts"
import { channelsMethods } from "./channels.ts"
import { contactsMethods } from "./contacts.ts"
import { helpMethods } from "./help.ts"
import { type Handlers, makeContext, type MethodsOptions } from "./MethodContext.ts"
import { messagesMethods } from "./messages.ts"
import { statsMethods } from "./stats.ts"
import { updatesMethods } from "./updates.ts"
import { usersMethods } from "./users.ts"

/** Methods a caller whose auth key is not authorized may call; everything else answers 401 AUTH_KEY_UNREGISTERED. */
export const UNAUTHORIZED_METHODS: ReadonlySet<string> = new Set([
  "help.GetConfig",
  "help.GetNearestDc",
  "auth.SendCode",
  "auth.SignIn",
  "auth.CheckPassword",
  "auth.ImportAuthorization",
  "account.GetPassword",
])

/** Every handler, by namespace. */
const HANDLERS: Handlers = {
  ...helpMethods,
  ...usersMethods,
  ...updatesMethods,
  ...contactsMethods,
  ...channelsMethods,
  ...messagesMethods,
  ...statsMethods,
  ...authMethods,
}

export function makeMethods(options: MethodsOptions): MethodTable {
  const ctx = makeContext(options)
  const table: Record<string, MethodHandler> = {}
  for (const [name, handler] of Object.entries(HANDLERS)) {
    table[name] = UNAUTHORIZED_METHODS.has(name)
      ? (request: any, caller: Caller): RpcResult | Promise<RpcResult> => handler(ctx, request, caller)
      : (request: any, caller: Caller): RpcResult | Promise<RpcResult> => {
        if (caller.userId === undefined) fail(401, "AUTH_KEY_UNREGISTERED")
        return handler(ctx, request, caller)
      }
  }
  return table
}
