/**
 * The method table of one DC: every handler of every TL namespace over one context, each (but those an unauthorized
 * key may call) answering 401 AUTH_KEY_UNREGISTERED to a key that is not signed in.
 */
import { type Caller, fail, type MethodHandler, type MethodTable, type RpcResult } from "../session/Rpc.ts"
import { authMethods } from "./auth.ts"
import { channelsMethods } from "./channels.ts"
import { contactsMethods } from "./contacts.ts"
import { dialogsMethods } from "./dialogs.ts"
import { helpMethods } from "./help.ts"
import { type Handlers, makeContext, type MethodsOptions } from "./MethodContext.ts"
import { messagesMethods } from "./messages.ts"
import { repliesMethods } from "./replies.ts"
import { statsMethods } from "./stats.ts"
import { updatesMethods } from "./updates.ts"
import { uploadMethods } from "./upload.ts"
import { usersMethods } from "./users.ts"

/**
 * Methods a caller whose auth key is not authorized may call, as on Telegram: signing in, the help methods an app calls
 * before its user logs in, and langpack.* (those the sandbox does not implement answer 400 INPUT_METHOD_INVALID, not
 * 401); everything else answers 401 AUTH_KEY_UNREGISTERED.
 */
export function allowedBeforeLogin(method: string): boolean {
  return BEFORE_LOGIN.has(method) || method.startsWith("langpack.")
}

const BEFORE_LOGIN: ReadonlySet<string> = new Set([
  "auth.SendCode",
  "auth.ResendCode",
  "auth.CancelCode",
  "auth.SignIn",
  "auth.SignUp",
  "auth.CheckPassword",
  "auth.RequestPasswordRecovery",
  "auth.RecoverPassword",
  "auth.ImportAuthorization",
  "auth.ImportBotAuthorization",
  "auth.ExportLoginToken",
  "auth.ImportLoginToken",
  "auth.BindTempAuthKey",
  "account.GetPassword",
  "help.GetConfig",
  "help.GetNearestDc",
  "help.GetAppConfig",
  "help.GetAppUpdate",
  "help.GetCdnConfig",
  "help.GetCountriesList",
  "help.GetTermsOfServiceUpdate",
])

/** Every handler, by namespace. */
const HANDLERS: Handlers = {
  ...helpMethods,
  ...usersMethods,
  ...updatesMethods,
  ...contactsMethods,
  ...channelsMethods,
  ...messagesMethods,
  ...repliesMethods,
  ...dialogsMethods,
  ...statsMethods,
  ...authMethods,
  ...uploadMethods,
}

export function makeMethods(options: MethodsOptions): MethodTable {
  const ctx = makeContext(options)
  const table: Record<string, MethodHandler> = {}
  for (const [name, handler] of Object.entries(HANDLERS)) {
    table[name] = allowedBeforeLogin(name)
      ? (request: any, caller: Caller): RpcResult | Promise<RpcResult> => handler(ctx, request, caller)
      : (request: any, caller: Caller): RpcResult | Promise<RpcResult> => {
        if (caller.userId === undefined) fail(401, "AUTH_KEY_UNREGISTERED")
        return handler(ctx, request, caller)
      }
  }
  return table
}
