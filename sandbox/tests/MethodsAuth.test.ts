/** Sign-in called directly: test codes, 2FA by SRP, authorizations exported to the other DC. */
import { Buffer } from "node:buffer"
import { computeCheck } from "telegram/Password.js"
import { assert, assertEquals } from "./support/assert.ts"
import { SANDBOX_CODE } from "../methods/auth.ts"
import { makeMethods } from "../methods/Methods.ts"
import { Api } from "../tl/Tl.ts"
import { SANDBOX_PASSWORD } from "../world/Genesis.ts"
import { call, caller, DCS, num, raw, rejects, setup } from "./support/methods.ts"

Deno.test("Methods: sign in with the code; errors for unknown phones, wrong hashes and wrong codes", async () => {
  const { methods, accounts } = setup(20)
  const account = accounts[0]!
  assertEquals(account.password, undefined)
  const me = caller()
  const sendCode = (phone: string) =>
    new Api.auth.SendCode({ phoneNumber: phone, apiId: 1, apiHash: "x", settings: new Api.CodeSettings({}) })
  const sent = await call<Api.auth.SentCode>(methods, sendCode(`+${account.phone}`), me)
  assert(sent.type instanceof Api.auth.SentCodeTypeApp)
  assertEquals(sent.type.length, 5)
  const again = await call<Api.auth.SentCode>(methods, sendCode(account.phone), me)
  assertEquals(again.phoneCodeHash, sent.phoneCodeHash)
  await rejects(400, "PHONE_NUMBER_INVALID", () => raw(methods, sendCode("+15551234567"), me))
  const signIn = (hash: string, code: string) =>
    new Api.auth.SignIn({ phoneNumber: account.phone, phoneCodeHash: hash, phoneCode: code })
  await rejects(400, "PHONE_CODE_INVALID", () => raw(methods, signIn(sent.phoneCodeHash, "11111"), me))
  await rejects(400, "PHONE_CODE_EXPIRED", () => raw(methods, signIn("nope", SANDBOX_CODE), me))
  assertEquals(me.userId, undefined)
  const auth = await call<Api.auth.Authorization>(methods, signIn(sent.phoneCodeHash, "22222"), me)
  assert(auth instanceof Api.auth.Authorization)
  assertEquals([num(auth.user.id), (auth.user as Api.User).self], [account.userId, true])
  assertEquals(me.userId, account.userId)
  const out = await call(methods, new Api.auth.LogOut(), me)
  assert(out instanceof Api.auth.LoggedOut)
})

Deno.test("Methods: 2FA sign-in verifies GramJS's SRP proof (computeCheck) server-side", async () => {
  const { methods, accounts } = setup(20)
  const account = accounts[1]!
  assertEquals(account.password, SANDBOX_PASSWORD)
  const me = caller()
  const sent = await call<Api.auth.SentCode>(
    methods,
    new Api.auth.SendCode({ phoneNumber: account.phone, apiId: 1, apiHash: "x", settings: new Api.CodeSettings({}) }),
    me,
  )
  // No code step yet on this key: nothing to answer.
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), me))
  await rejects(
    401,
    "SESSION_PASSWORD_NEEDED",
    () =>
      raw(
        methods,
        new Api.auth.SignIn({ phoneNumber: account.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: SANDBOX_CODE }),
        me,
      ),
  )
  assertEquals(me.userId, undefined)
  // Another key did not pass the code step.
  await rejects(401, "AUTH_KEY_UNREGISTERED", () => raw(methods, new Api.account.GetPassword(), caller()))

  const password = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  assert(password.hasPassword)
  assert(password.currentAlgo instanceof Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow)
  assertEquals(password.currentAlgo.g, 3)
  assertEquals(password.currentAlgo.p.length, 256)
  const wrong = await computeCheck(password, "not-the-password")
  await rejects(400, "PASSWORD_HASH_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: wrong }), me))
  // The challenge is single use.
  await rejects(400, "SRP_ID_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: wrong }), me))
  assertEquals(me.userId, undefined)

  const fresh = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  const right = await computeCheck(fresh, SANDBOX_PASSWORD)
  // A challenge belongs to the key that asked for it.
  const thief = caller()
  await rejects(400, "SRP_ID_INVALID", () => raw(methods, new Api.auth.CheckPassword({ password: right }), thief))
  const again = await call<Api.account.Password>(methods, new Api.account.GetPassword(), me)
  const auth = await call<Api.auth.Authorization>(
    methods,
    new Api.auth.CheckPassword({ password: await computeCheck(again, SANDBOX_PASSWORD) }),
    me,
  )
  assertEquals(num(auth.user.id), account.userId)
  assertEquals(me.userId, account.userId)
})

Deno.test("Methods: auth.exportAuthorization on one DC imports on the other; forged bytes fail", async () => {
  const { world, methods, accounts } = setup(20)
  const other = makeMethods({ world, dcs: DCS, mainDc: 2, thisDc: 4 })
  const account = accounts[0]!
  const exported = await call<Api.auth.ExportedAuthorization>(
    methods,
    new Api.auth.ExportAuthorization({ dcId: 4 }),
    caller(account.userId),
  )
  assertEquals(num(exported.id), account.userId)
  assertEquals(exported.bytes.length, 32)
  await rejects(
    400,
    "DC_ID_INVALID",
    () => raw(methods, new Api.auth.ExportAuthorization({ dcId: 9 }), caller(account.userId)),
  )
  const forged = Buffer.from(exported.bytes)
  forged[0] = forged[0]! ^ 1
  const bad = caller(undefined, 4)
  await rejects(
    400,
    "AUTH_BYTES_INVALID",
    () => raw(other, new Api.auth.ImportAuthorization({ id: exported.id, bytes: forged }), bad),
  )
  // Bytes exported for DC 4 do not import on DC 2.
  await rejects(
    400,
    "AUTH_BYTES_INVALID",
    () => raw(methods, new Api.auth.ImportAuthorization({ id: exported.id, bytes: exported.bytes }), caller()),
  )
  assertEquals(bad.userId, undefined)
  const fresh = caller(undefined, 4)
  const auth = await call<Api.auth.Authorization>(
    other,
    new Api.auth.ImportAuthorization({ id: exported.id, bytes: exported.bytes }),
    fresh,
  )
  assertEquals(num(auth.user.id), account.userId)
  assertEquals(fresh.userId, account.userId)
})
