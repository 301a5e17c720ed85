/**
 * auth.* and account.getPassword: sign-in with the test code, 2FA by SRP, authorizations exported between DCs, and
 * temporary keys bound to permanent ones.
 */
import { Buffer } from "node:buffer"
import { timingSafeEqual } from "node:crypto"
import { type Caller, fail } from "../session/Rpc.ts"
import { renderUser } from "../tl/Render.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"
import type { Account } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"

/** The confirmation code of every test phone. */
export const SANDBOX_CODE = "22222"

function authorization(account: Account): Api.auth.Authorization {
  return new Api.auth.Authorization({ user: renderUser(account, true) })
}

function sendCode(ctx: MethodContext, request: Api.auth.SendCode): Api.auth.SentCode {
  const { auth } = ctx
  const account = auth.accountByPhone(request.phoneNumber) ?? fail(400, "PHONE_NUMBER_INVALID")
  return new Api.auth.SentCode({
    type: new Api.auth.SentCodeTypeApp({ length: SANDBOX_CODE.length }),
    phoneCodeHash: auth.phoneCodeHash(account),
  })
}

function signIn(ctx: MethodContext, request: Api.auth.SignIn, caller: Caller): Api.auth.Authorization {
  const { auth } = ctx
  const account = auth.accountByPhone(request.phoneNumber) ?? fail(400, "PHONE_NUMBER_INVALID")
  if (request.phoneCodeHash !== auth.phoneCodeHash(account)) fail(400, "PHONE_CODE_EXPIRED")
  if (!request.phoneCode) fail(400, "PHONE_CODE_EMPTY")
  if (request.phoneCode !== SANDBOX_CODE) fail(400, "PHONE_CODE_INVALID")
  if (account.password !== undefined) {
    auth.codePassed(caller.authKeyId, account.userId)
    return fail(401, "SESSION_PASSWORD_NEEDED")
  }
  caller.authorize(account.userId)
  return authorization(account)
}

function getPassword(ctx: MethodContext, _request: Api.account.GetPassword, caller: Caller): Api.account.Password {
  const { auth, world } = ctx
  const userId = auth.pendingUser(caller.authKeyId) ?? caller.userId ?? fail(401, "AUTH_KEY_UNREGISTERED")
  const account = world.account(userId) ?? fail(401, "AUTH_KEY_UNREGISTERED")
  if (account.password === undefined) fail(400, "PASSWORD_EMPTY")
  return auth.passwordChallenge(account, caller.authKeyId)
}

function checkPassword(ctx: MethodContext, request: Api.auth.CheckPassword, caller: Caller): Api.auth.Authorization {
  const account = ctx.auth.checkPassword(request.password, caller.authKeyId)
  caller.authorize(account.userId)
  return authorization(account)
}

function exportAuthorization(ctx: MethodContext, request: Api.auth.ExportAuthorization, caller: Caller) {
  const { dcs, thisDc, auth } = ctx
  const userId = caller.userId!
  const dcId = Number(request.dcId)
  if (dcId === thisDc || !dcs.some((dc) => dc.id === dcId)) fail(400, "DC_ID_INVALID")
  return new Api.auth.ExportedAuthorization({ id: toLong(userId), bytes: auth.exportBytes(userId, dcId) })
}

function importAuthorization(ctx: MethodContext, request: Api.auth.ImportAuthorization, caller: Caller) {
  const { world, thisDc, auth } = ctx
  const userId = Number(fromLong(request.id))
  const account = world.account(userId) ?? fail(400, "AUTH_BYTES_INVALID")
  const expected = auth.exportBytes(userId, thisDc)
  const given = Buffer.from(request.bytes ?? [])
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) fail(400, "AUTH_BYTES_INVALID")
  caller.authorize(userId)
  return authorization(account)
}

/**
 * auth.bindTempAuthKey (core.telegram.org/method/auth.bindTempAuthKey): binds the caller's temporary key to a
 * permanent one; the session layer, which knows the keys, checks the binding message.
 */
function bindTempAuthKey(_ctx: MethodContext, request: Api.auth.BindTempAuthKey, caller: Caller): boolean {
  if (!caller.bindTempKey) return fail(400, "TEMP_AUTH_KEY_EMPTY")
  const refusal = caller.bindTempKey({
    permAuthKeyId: BigInt.asUintN(64, fromLong(request.permAuthKeyId)),
    nonce: fromLong(request.nonce),
    expiresAt: request.expiresAt,
    encryptedMessage: Uint8Array.from(request.encryptedMessage ?? []),
  })
  if (refusal !== undefined) fail(400, refusal)
  return true
}

function logOut(): Api.auth.LoggedOut {
  return new Api.auth.LoggedOut({})
}

export const authMethods: Handlers = {
  "auth.SendCode": sendCode,
  "auth.SignIn": signIn,
  "account.GetPassword": getPassword,
  "auth.CheckPassword": checkPassword,
  "auth.ExportAuthorization": exportAuthorization,
  "auth.ImportAuthorization": importAuthorization,
  "auth.LogOut": logOut,
  "auth.BindTempAuthKey": bindTempAuthKey,
}
