/**
 * Temporary auth keys and auth.bindTempAuthKey (core.telegram.org/api/pfs, core.telegram.org/method/auth.bindTempAuthKey)
 * with a raw client: keys made over the wire with p_q_inner_data_temp_dc, bound with an MTProto 1.0 binding message.
 */
import { Buffer } from "node:buffer"
import { Api } from "telegram"
import { authKeyOfSession, type RawClient } from "../session/RawClient.ts"
import { authKeyId, deriveAesKeyIvV1, random } from "../transport/Crypto.ts"
import { toLong } from "../tl/Tl.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, eventually, sandboxTest, startSandbox, unlessHung } from "./support/sandbox.ts"
import { answerTo, connected } from "./support/session.ts"
import { type Binding, bindingMessage, connectedWith, exchangeKey, outcome } from "./support/tempKeys.ts"

/** Sends `request` and waits for its answer: a value, or "CODE MESSAGE". */
async function ask(client: RawClient, request: { getBytes(): Buffer }, msgId = client.nextMsgId()): Promise<unknown> {
  client.send(request.getBytes(), { msgId })
  return outcome(await client.next(answerTo(msgId)))
}

const me = () => new Api.users.GetUsers({ id: [new Api.InputUserSelf()] })
const userIdOf = (users: unknown) => Number((users as Array<Api.User>)[0]!.id.toString())

/**
 * auth.bindTempAuthKey of `client`'s temporary key `tempId` to `permKey`: the binding message as a client builds it,
 * with `spoil` changing any of its parts (or the request's), sent in a request of its own.
 */
function bind(
  client: RawClient,
  tempId: bigint,
  permKey: Uint8Array,
  spoil: (b: Binding & { outerNonce: bigint; outerExpiresAt: number; outerPerm: bigint }) => Partial<
    Binding & { outerNonce: bigint; outerExpiresAt: number; outerPerm: bigint; message: Uint8Array }
  > = () => ({}),
): Promise<unknown> {
  const msgId = client.nextMsgId()
  const nonce = BigInt.asIntN(64, Buffer.from(random(8)).readBigInt64LE(0))
  const expiresAt = Math.floor(Date.now() / 1000) + 3600
  const base = {
    msgId,
    nonce,
    tempAuthKeyId: BigInt.asIntN(64, tempId),
    permAuthKeyId: BigInt.asIntN(64, authKeyId(permKey)),
    tempSessionId: client.sessionId,
    expiresAt,
    outerNonce: nonce,
    outerExpiresAt: expiresAt,
    outerPerm: BigInt.asIntN(64, authKeyId(permKey)),
  }
  const b = { ...base, ...spoil(base) }
  const request = new Api.auth.BindTempAuthKey({
    permAuthKeyId: toLong(b.outerPerm),
    nonce: toLong(b.outerNonce),
    expiresAt: b.outerExpiresAt,
    encryptedMessage: Buffer.from(b.message ?? bindingMessage(permKey, b)),
  })
  return ask(client, request, msgId)
}

Deno.test("TempKeys: MTProto 1.0 keys from msg_key are those of a published known answer", () => {
  // Telethon's test_calc_key (telethon_tests/crypto_tests.py, from its MTProto 1.0 days): client side (x = 0).
  const authKey = Buffer.from(
    "bcd26db7ca76f45d5b88832720f3118a73d0349431ae2a4f03869a2f48231a8cb56ae924e04976436d5ee7301a3543091603d29da989d6" +
      "ce08500f6472a0b3ebfe63761adf4a14969816a347ab0414215ceb0abc6edfc425c609b716149c2781153db0af0e0b52aa04363673f0" +
      "cfb7b83e2c449478d7f8e084cb25d305b2e8954d723fa2e8496ef90b5b459baa0c587f0e69deee641d782f4aceea5e7d303ba83342bb" +
      "52a1bf6504b91ea122663da54d409edd8180c9a5fbfc67dd150370210f6644168932eacab141994fa93450a9a2c63bb243391d4335d2" +
      "0dec4cd9ab772d030d79c276175d02150c426197cea5b1e45d8ee02ccf437b6ffa9966a4704d00",
    "hex",
  )
  const { key, iv } = deriveAesKeyIvV1(authKey, Buffer.from("ba1acfdaa85e43626cfab60c3a9bb0fc", "hex"), 0)
  assertEquals(Buffer.from(key).toString("hex"), "afe384516de0210cd931e49aa0765f676378a1b0c9bc162776cf2c9d4daec6a5")
  assertEquals(Buffer.from(iv).toString("hex"), "b851f3c5a35dc6df9ee051bd228d13090e9a9d5e38a2f8e70077d9c1a7a0f70f")
})

sandboxTest(
  "TempKeys: an unbound temporary key may call bindTempAuthKey, help.getConfig and help.getNearestDc only (401 " +
    "AUTH_KEY_PERM_EMPTY); bound to an account's permanent key it acts as that account",
  async () => {
    await using sandbox = await startSandbox()
    const account = sandbox.descriptor.accounts[0]!
    const temp = await exchangeKey(sandbox, { expiresIn: 3600 })
    const client = await connectedWith(sandbox, temp)
    try {
      assertEquals(await ask(client, me()), "401 AUTH_KEY_PERM_EMPTY")
      assertEquals(await ask(client, new Api.updates.GetState()), "401 AUTH_KEY_PERM_EMPTY")
      // Even what an unauthorized permanent key may call (core.telegram.org/api/pfs lists three methods).
      const sendCode = new Api.auth.SendCode({
        phoneNumber: account.phone,
        apiId: sandbox.descriptor.apiId,
        apiHash: sandbox.descriptor.apiHash,
        settings: new Api.CodeSettings({}),
      })
      assertEquals(await ask(client, sendCode), "401 AUTH_KEY_PERM_EMPTY")
      assert((await ask(client, new Api.help.GetNearestDc())) instanceof Api.NearestDc)
      assert((await ask(client, new Api.help.GetConfig())) instanceof Api.Config)
      assertEquals(await bind(client, temp.id, authKeyOfSession(account.session)), true)
      assertEquals(userIdOf(await ask(client, me())), account.userId)
      assertEquals(await bind(client, temp.id, authKeyOfSession(account.session)), true, "the same binding again")
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "TempKeys: a binding message that does not check out is refused with ENCRYPTED_MESSAGE_INVALID, a permanent key's " +
    "bind with TEMP_AUTH_KEY_EMPTY, a bound key's bind to another key with TEMP_AUTH_KEY_ALREADY_BOUND",
  async () => {
    await using sandbox = await startSandbox()
    const [first, second] = sandbox.descriptor.accounts.map((a) => authKeyOfSession(a.session)) as [
      Uint8Array,
      Uint8Array,
    ]
    const temp = await exchangeKey(sandbox, { expiresIn: 3600 })
    const client = await connectedWith(sandbox, temp)
    const perm = await connected(sandbox, 0)
    try {
      const unknown = random(256)
      const spoiled: Array<[string, Parameters<typeof bind>[3]]> = [
        ["another nonce inside", (b) => ({ nonce: b.nonce + 1n })],
        ["another nonce outside", (b) => ({ outerNonce: b.nonce + 1n })],
        ["another temp_auth_key_id", (b) => ({ tempAuthKeyId: b.tempAuthKeyId + 1n })],
        ["another perm_auth_key_id inside", () => ({ permAuthKeyId: BigInt.asIntN(64, authKeyId(second)) })],
        ["another temp_session_id", (b) => ({ tempSessionId: b.tempSessionId + 1n })],
        ["another expires_at inside", (b) => ({ expiresAt: b.expiresAt + 1 })],
        ["another expires_at outside", (b) => ({ outerExpiresAt: b.expiresAt + 1 })],
        ["another msg_id inside", (b) => ({ msgId: b.msgId + 4n })],
        ["a key the server does not know", () => ({ outerPerm: BigInt.asIntN(64, authKeyId(unknown)) })],
        ["encrypted with a key the server does not know", (b) => ({
          outerPerm: BigInt.asIntN(64, authKeyId(unknown)),
          permAuthKeyId: BigInt.asIntN(64, authKeyId(unknown)),
          message: bindingMessage(unknown, { ...b, permAuthKeyId: BigInt.asIntN(64, authKeyId(unknown)) }),
        })],
        ["a msg_key of another plaintext", (b) => ({ message: bindingMessage(first, b, { wrongMsgKey: true }) })],
        ["seqno 1", (b) => ({ message: bindingMessage(first, b, { seqNo: 1 }) })],
        ["24 bytes of padding", (b) => ({ message: bindingMessage(first, b, { padding: 24 }) })],
        ["another key's id before msg_key", (b) => ({
          message: bindingMessage(first, b, { keyId: authKeyId(second) }),
        })],
        ["a flipped bit in the ciphertext", (b) => {
          const message = bindingMessage(first, b)
          message[40]! ^= 1
          return { message }
        }],
        ["a temporary key as the permanent one", (b) => ({
          outerPerm: b.tempAuthKeyId,
          permAuthKeyId: b.tempAuthKeyId,
          message: bindingMessage(temp.authKey, { ...b, permAuthKeyId: b.tempAuthKeyId }),
        })],
      ]
      for (const [what, spoil] of spoiled) {
        assertEquals(await bind(client, temp.id, first, spoil), "400 ENCRYPTED_MESSAGE_INVALID", what)
      }
      assertEquals(await ask(client, me()), "401 AUTH_KEY_PERM_EMPTY", "still unbound")
      const permId = authKeyId(first)
      assertEquals(await bind(perm, permId, first), "400 TEMP_AUTH_KEY_EMPTY", "over a permanent key")
      assertEquals(await bind(client, temp.id, first), true)
      assertEquals(await bind(client, temp.id, second), "400 TEMP_AUTH_KEY_ALREADY_BOUND")
      assertEquals(userIdOf(await ask(client, me())), sandbox.descriptor.accounts[0]!.userId, "still the first")
    } finally {
      await client.close()
      await perm.close()
    }
  },
)

sandboxTest(
  "TempKeys: a permanent key has one temporary key at a time (a new binding unbinds the old one); signing in on a " +
    "bound temporary key signs in its permanent key",
  async () => {
    await using sandbox = await startSandbox()
    const account = sandbox.world.accounts.find((a) => a.password === undefined && a.phone.startsWith("999662"))!
    const perm = await exchangeKey(sandbox)
    const [old, next] = [await exchangeKey(sandbox, { expiresIn: 600 }), await exchangeKey(sandbox, { expiresIn: 600 })]
    const oldClient = await connectedWith(sandbox, old)
    const client = await connectedWith(sandbox, next)
    const permClient = await connectedWith(sandbox, perm)
    try {
      assertEquals(await bind(oldClient, old.id, perm.authKey), true)
      assertEquals(await ask(oldClient, me()), "401 AUTH_KEY_UNREGISTERED", "bound to a key not signed in")
      assertEquals(await bind(client, next.id, perm.authKey), true)
      assertEquals(await ask(oldClient, me()), "401 AUTH_KEY_PERM_EMPTY", "the old one is unbound")
      const sent = await ask(
        client,
        new Api.auth.SendCode({
          phoneNumber: account.phone,
          apiId: sandbox.descriptor.apiId,
          apiHash: sandbox.descriptor.apiHash,
          settings: new Api.CodeSettings({}),
        }),
      ) as Api.auth.SentCode
      const signIn = new Api.auth.SignIn({
        phoneNumber: account.phone,
        phoneCodeHash: sent.phoneCodeHash,
        phoneCode: "22222",
      })
      assert((await ask(client, signIn)) instanceof Api.auth.Authorization)
      assertEquals(userIdOf(await ask(permClient, me())), account.userId, "the permanent key is signed in")
      assertEquals(userIdOf(await ask(client, me())), account.userId)
    } finally {
      await oldClient.close()
      await client.close()
      await permClient.close()
    }
  },
)

sandboxTest(
  "TempKeys: a bound temporary key gets its user's pushes until its expires_in (or its binding's earlier expires_at), " +
    "then none, and transport error -404 as for a key the server never knew, on its connection and on a new one",
  async () => {
    let nowMs = Date.now()
    await using sandbox = await startSandbox({ clock: () => nowMs })
    const account = sandbox.descriptor.accounts[0]!
    const temp = await exchangeKey(sandbox, { expiresIn: 120 })
    const client = await connectedWith(sandbox, temp)
    const shorter = await exchangeKey(sandbox, { expiresIn: 3600 })
    const other = await connectedWith(sandbox, shorter)
    /** Moves the server's clock `seconds` ahead, and the clients' msg_ids with it. */
    const ahead = (seconds: number) => {
      nowMs += seconds * 1000
      for (const c of [client, other]) c.clockOffsetMs = nowMs - Date.now()
    }
    try {
      assertEquals(await bind(client, temp.id, authKeyOfSession(account.session)), true)
      const expiresAt = Math.floor(nowMs / 1000) + 60
      const bound = await bind(
        other,
        shorter.id,
        authKeyOfSession(sandbox.descriptor.accounts[1]!.session),
        () => ({ expiresAt, outerExpiresAt: expiresAt }),
      )
      assertEquals(bound, true)
      // A bound key gets its user's pushes (the first account's key gets them too if it is a member).
      const second = sandbox.descriptor.accounts[1]!.userId
      const channel = sandbox.world.channels.find((c) => c.memberUserIds.includes(second))!
      const firstToo = channel.memberUserIds.includes(account.userId) ? 1 : 0
      sandbox.world.publish(channel.id, 1)
      await other.next((m) => m.ctor === Api.Updates.CONSTRUCTOR_ID)
      ahead(50)
      assertEquals(userIdOf(await ask(client, me())), account.userId, "before expires_in")
      assert((await ask(other, new Api.help.GetNearestDc())) instanceof Api.NearestDc, "before expires_at")
      ahead(20)
      // Past expires_at and before the connection says anything: nothing is pushed to the key any more.
      const [post] = sandbox.world.publish(channel.id, 1)
      let sent: number | undefined
      await eventually("the push in the push log", async () => {
        const log = await admin(sandbox, `/pushes?channelId=${channel.id}`)
        sent = log.entries.find((e: { ids: Array<number> }) => e.ids.includes(post!.id))?.sent
        return sent !== undefined
      })
      assertEquals(sent, firstToo, "no push to the expired key")
      other.send(new Api.help.GetNearestDc().getBytes())
      await unlessHung("the server closing the connection", other.closed)
      assertEquals(other.transportErrors, [-404], "past the binding's expires_at")
      ahead(60)
      client.send(me().getBytes())
      await unlessHung("the server closing the connection", client.closed)
      assertEquals(client.transportErrors, [-404], "past expires_in")
      const again = await connectedWith(sandbox, temp)
      again.send(me().getBytes())
      await unlessHung("the server closing the connection", again.closed)
      assertEquals(again.transportErrors, [-404], "a new connection with the key")
      assert(!sandbox.dcs.get(sandbox.descriptor.mainDc)!.keys.has(temp.id), "the expired key is forgotten")
    } finally {
      await client.close()
      await other.close()
    }
  },
)
