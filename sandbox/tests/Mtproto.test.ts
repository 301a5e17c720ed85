/** The sandbox DC against the real GramJS client: transports, handshakes, errors, migrate, updates, bad input. */
import { Buffer } from "node:buffer"
import { connect } from "node:net"
import { Api } from "telegram"
import { NewMessage, type NewMessageEvent } from "telegram/events/index.js"
import { FloodWaitError, RPCError } from "telegram/errors/index.js"
import { computeCheck } from "telegram/Password.js"
import { assert, assertEquals, assertRejects } from "./support/assert.ts"
import {
  admin,
  type ConnectionClass,
  ConnectionTCPIntermediate,
  ConnectionTCPPadded,
  gramClient,
  sandboxTest,
  startSandbox,
  unlessHung,
} from "./support/sandbox.ts"

const TRANSPORTS: ReadonlyArray<
  [string, { transport?: "full" | "abridged" | "obfuscated"; connection?: ConnectionClass }]
> = [
  ["full", { transport: "full" }],
  ["abridged", { transport: "abridged" }],
  ["obfuscated", { transport: "obfuscated" }],
  ["intermediate", { connection: ConnectionTCPIntermediate }],
  ["padded intermediate", { connection: ConnectionTCPPadded }],
]

sandboxTest("Sandbox completes a fresh handshake and answers on every transport", async () => {
  await using sandbox = await startSandbox()
  for (const [name, options] of TRANSPORTS) {
    const client = gramClient(sandbox, options)
    try {
      await client.connect()
      const nearest = await client.invoke(new Api.help.GetNearestDc())
      assertEquals(nearest.thisDc, sandbox.descriptor.mainDc, `${name}: thisDc`)
      const config = await client.invoke(new Api.help.GetConfig())
      assertEquals(
        config.dcOptions.map((o) => [o.id, o.port]),
        sandbox.descriptor.dcs.map((d) => [d.id, d.port]),
        `${name}: dc_options lists every sandbox DC`,
      )
      // An unauthorized key may not call user methods.
      await assertRejects(() => client.invoke(new Api.updates.GetState()), (e) => {
        assert(e instanceof RPCError, `${name}: RPCError expected`)
        assertEquals(e.errorMessage, "AUTH_KEY_UNREGISTERED")
      })
    } finally {
      await client.destroy()
    }
  }
  assertEquals(sandbox.logs.filter((l) => l.level !== "info"), [], "no warnings for well-behaved clients")
})

sandboxTest("Sandbox serves 60 fresh handshakes with no failure reaching the caller", async () => {
  await using sandbox = await startSandbox()
  const total = 60
  let failures = 0
  const worker = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const client = gramClient(sandbox)
      try {
        await client.connect()
        await client.invoke(new Api.help.GetNearestDc())
      } catch {
        failures++
      } finally {
        await client.destroy()
      }
    }
  }
  const dc = sandbox.dcs.get(sandbox.descriptor.mainDc)!
  const provisioned = dc.keys.size
  await Promise.all([worker(total / 3), worker(total / 3), worker(total / 3)])
  assertEquals(failures, 0)
  // A key with a leading zero byte fails GramJS's step 3 check and is followed by a new exchange on that connection.
  const zeroLed = [...dc.keys.values()].filter((k) => k.key[0] === 0).length
  assert(
    dc.keys.size - provisioned >= total + zeroLed,
    `each handshake made a key, and each zero-led one another (${dc.keys.size - provisioned}, ${zeroLed} zero-led)`,
  )
})

sandboxTest("Sandbox: a failed key exchange starts over on the same connection, unseen by the caller", async () => {
  await using sandbox = await startSandbox()
  const dc = sandbox.dcs.get(sandbox.descriptor.mainDc)!
  const keysBefore = dc.keys.size
  await admin(sandbox, "/faults", { body: { _tag: "BadKeyExchange", times: 2 } })
  const client = gramClient(sandbox)
  try {
    await client.connect()
    const nearest = await client.invoke(new Api.help.GetNearestDc())
    assertEquals(nearest.thisDc, sandbox.descriptor.mainDc)
    assertEquals(dc.keys.size - keysBefore, 3, "two spoiled exchanges and a good one")
    assertEquals(dc.accepted, 1, "all on one connection")
    assertEquals(sandbox.control.faults.list(), [], "the fault wore out")
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox accounts: ready sessions are authorized; getUsers returns self", async () => {
  await using sandbox = await startSandbox()
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const me = await client.getMe()
    assertEquals(Number(me.id.toString()), sandbox.descriptor.accounts[0]!.userId)
    assert(me.self === true, "self flag")
    const state = await client.invoke(new Api.updates.GetState())
    assert(state.date > 0, "updates.getState answers")
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox FLOOD_WAIT_X arrives as FloodWaitError with the budget's seconds", async () => {
  await using sandbox = await startSandbox()
  const account = sandbox.descriptor.accounts[0]!
  await admin(sandbox, "/flood", {
    method: "PUT",
    body: { method: "help.GetNearestDc", userId: account.userId, rate: 0.1, burst: 2 },
  })
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    await client.invoke(new Api.help.GetNearestDc())
    await client.invoke(new Api.help.GetNearestDc())
    const error = await assertRejects(() => client.invoke(new Api.help.GetNearestDc()))
    assert(error instanceof FloodWaitError, `FloodWaitError expected, got ${error}`)
    assertEquals(error.seconds, 10, "one token at 0.1/s takes 10 s")
    // Another account is not affected by this account's budget.
    const other = gramClient(sandbox, { account: 1 })
    try {
      await other.connect()
      for (let i = 0; i < 3; i++) await other.invoke(new Api.help.GetNearestDc())
    } finally {
      await other.destroy()
    }
  } finally {
    await client.destroy()
  }
})

sandboxTest(
  "Sandbox faults: a revoked key answers AUTH_KEY_UNREGISTERED, a duplicated one AUTH_KEY_DUPLICATED",
  async () => {
    await using sandbox = await startSandbox()
    const [a, b] = sandbox.descriptor.accounts
    const client = gramClient(sandbox, { account: 0 })
    const other = gramClient(sandbox, { account: 1 })
    try {
      await client.connect()
      await other.connect()
      await client.invoke(new Api.updates.GetState())
      await admin(sandbox, "/faults", { body: { _tag: "RevokeKey", userId: a!.userId } })
      await admin(sandbox, "/faults", { body: { _tag: "DuplicateKey", userId: b!.userId } })
      await assertRejects(() => client.invoke(new Api.updates.GetState()), (e) => {
        assertEquals((e as RPCError).errorMessage, "AUTH_KEY_UNREGISTERED")
      })
      await assertRejects(() => other.invoke(new Api.updates.GetState()), (e) => {
        assertEquals((e as RPCError).errorMessage, "AUTH_KEY_DUPLICATED")
      })
      await admin(sandbox, "/faults", { method: "DELETE" })
      await client.invoke(new Api.updates.GetState())
    } finally {
      await client.destroy()
      await other.destroy()
    }
  },
)

sandboxTest("Sandbox answers an unknown or unimplemented method with an error, never a hang", async () => {
  await using sandbox = await startSandbox()
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    await assertRejects(() => client.invoke(new Api.messages.GetDialogFilters()), (e) => {
      assert(e instanceof RPCError)
      assertEquals(e.errorMessage, "INPUT_METHOD_INVALID")
    })
    // The session is still usable afterwards.
    const nearest = await client.invoke(new Api.help.GetNearestDc())
    assertEquals(nearest.thisDc, 2)
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox before login: what Telegram allows is never 401 (unimplemented: 400), the rest is", async () => {
  await using sandbox = await startSandbox()
  const client = gramClient(sandbox)
  const fails = async (request: Parameters<typeof client.invoke>[0], message: string) =>
    await assertRejects(() => client.invoke(request), (e) => {
      assert(e instanceof RPCError, String(e))
      assertEquals(e.errorMessage, message, request.className)
    })
  try {
    await client.connect()
    await fails(new Api.langpack.GetLangPack({ langPack: "tdesktop", langCode: "en" }), "INPUT_METHOD_INVALID")
    await fails(new Api.help.GetCountriesList({ langCode: "en", hash: 0 }), "INPUT_METHOD_INVALID")
    await fails(new Api.updates.GetState(), "AUTH_KEY_UNREGISTERED")
    await fails(new Api.auth.ExportAuthorization({ dcId: 4 }), "AUTH_KEY_UNREGISTERED")
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox sign-in: test code, then 2FA password; a phone on DC 4 migrates there", async () => {
  await using sandbox = await startSandbox()
  const accounts = sandbox.world.accounts
  // Plain account: code 22222.
  const plain = accounts.find((a) => a.password === undefined && a.phone.startsWith("999662"))!
  const client = gramClient(sandbox)
  try {
    await client.connect()
    const sent = await client.invoke(
      new Api.auth.SendCode({
        phoneNumber: plain.phone,
        apiId: sandbox.descriptor.apiId,
        apiHash: sandbox.descriptor.apiHash,
        settings: new Api.CodeSettings({}),
      }),
    ) as Api.auth.SentCode
    await assertRejects(() =>
      client.invoke(
        new Api.auth.SignIn({ phoneNumber: plain.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: "11111" }),
      ), (e) => assertEquals((e as RPCError).errorMessage, "PHONE_CODE_INVALID"))
    const auth = await client.invoke(
      new Api.auth.SignIn({ phoneNumber: plain.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: "22222" }),
    ) as Api.auth.Authorization
    assertEquals(Number(auth.user.id.toString()), plain.userId)
    const me = await client.getMe()
    assertEquals(Number(me.id.toString()), plain.userId)
  } finally {
    await client.destroy()
  }
  // 2FA account: code, SESSION_PASSWORD_NEEDED, then the SRP check with GramJS's own computation.
  const secured = accounts.find((a) => a.password !== undefined)!
  const client2 = gramClient(sandbox)
  try {
    await client2.connect()
    const sent = await client2.invoke(
      new Api.auth.SendCode({
        phoneNumber: secured.phone,
        apiId: sandbox.descriptor.apiId,
        apiHash: sandbox.descriptor.apiHash,
        settings: new Api.CodeSettings({}),
      }),
    ) as Api.auth.SentCode
    await assertRejects(() =>
      client2.invoke(
        new Api.auth.SignIn({ phoneNumber: secured.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: "22222" }),
      ), (e) => assertEquals((e as RPCError).errorMessage, "SESSION_PASSWORD_NEEDED"))
    const wrong = await client2.invoke(new Api.account.GetPassword())
    await assertRejects(
      async () => client2.invoke(new Api.auth.CheckPassword({ password: await computeCheck(wrong, "not-it") })),
      (e) => assertEquals((e as RPCError).errorMessage, "PASSWORD_HASH_INVALID"),
    )
    const info = await client2.invoke(new Api.account.GetPassword())
    const auth = await client2.invoke(
      new Api.auth.CheckPassword({ password: await computeCheck(info, secured.password!) }),
    ) as Api.auth.Authorization
    assertEquals(Number(auth.user.id.toString()), secured.userId)
  } finally {
    await client2.destroy()
  }
  // An account homed on DC 4: GramJS's own login follows PHONE_MIGRATE_4 to the other DC.
  const far = accounts.find((a) => a.phone.startsWith("999664"))
  assert(far, "the world has an account on DC 4")
  const client3 = gramClient(sandbox)
  try {
    await client3.start({
      phoneNumber: far.phone,
      phoneCode: () => Promise.resolve("22222"),
      password: () => Promise.resolve(far.password ?? ""),
      onError: (e) => {
        throw e
      },
    })
    const me = await client3.getMe()
    assertEquals(Number(me.id.toString()), far.userId)
    assertEquals(client3.session.dcId, 4, "the client moved to DC 4")
    const log = sandbox.control.log.since(0, "auth.SendCode").filter((e) => e.params.phoneNumber === far.phone)
    assertEquals(log.map((e) => [e.dcId, e.outcome]), [[2, "PHONE_MIGRATE_4"], [4, "ok"]])
    assertEquals(log.map((e) => e.params.apiHash), ["***", "***"], "the api hash never reaches the request log")
    const signIns = sandbox.control.log.since(0, "auth.SignIn").map((e) => [e.params.phoneCode, e.params.phoneCodeHash])
    assert(signIns.length > 0 && signIns.every((p) => p.every((v) => v === "***")), "codes are masked")
  } finally {
    await client3.destroy()
  }
})

sandboxTest("Sandbox: a call to the other DC goes through an exported sender; the main connection stays", async () => {
  await using sandbox = await startSandbox()
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const state = await client.invoke(new Api.updates.GetState(), 4)
    assert(state.date > 0, "updates.getState answered on DC 4")
    assertEquals(client.session.dcId, 2, "the main connection did not move")
    const outcomes = (method: string) => sandbox.control.log.since(0, method).map((e) => [e.dcId, e.outcome])
    assertEquals(outcomes("auth.ExportAuthorization"), [[2, "ok"]])
    assertEquals(outcomes("auth.ImportAuthorization"), [[4, "ok"]])
    assertEquals(outcomes("updates.GetState"), [[4, "ok"]])
    assertEquals((await client.invoke(new Api.help.GetNearestDc())).thisDc, 2, "and still answers on DC 2")
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox pushes a published post to a connected member's handler", async () => {
  await using sandbox = await startSandbox()
  const client = gramClient(sandbox, { account: 0 })
  const channel = sandbox.descriptor.channels[0]!
  try {
    await client.connect()
    const received = new Promise<NewMessageEvent>((resolve) => client.addEventHandler(resolve, new NewMessage({})))
    const { ids } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
    const event = await unlessHung("the pushed post", received)
    assertEquals(event.message.id, ids[0])
    assertEquals(event.message.text, sandbox.world.posts(channel.id, ids)[0]!.text)
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox: same seed, same truth; another seed, another world", async () => {
  const truths = async (seed: number) => {
    await using sandbox = await startSandbox({ seed, channels: 3, posts: 500 })
    return await Promise.all(sandbox.descriptor.channels.map((c) => admin(sandbox, `/channels/${c.id}/truth`)))
  }
  const a = await truths(7)
  const b = await truths(7)
  const c = await truths(8)
  assertEquals(a, b)
  assert(JSON.stringify(a) !== JSON.stringify(c), "a different seed gives a different world")
  assertEquals(a[0].count, 500)
})

/** Opens a raw TCP connection to a DC, writes `bytes`, and resolves when the server closes it. */
function rawExchange(port: number, bytes: Uint8Array): Promise<{ closed: boolean; received: Buffer }> {
  const chunks: Array<Buffer> = []
  const socket = connect(port, "127.0.0.1", () => socket.write(bytes))
  const closed = new Promise<{ closed: boolean; received: Buffer }>((resolve) => {
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("error", () => {})
    socket.on("close", () => resolve({ closed: true, received: Buffer.concat(chunks) }))
  })
  return unlessHung("the server closing the connection", closed).finally(() => socket.destroy())
}

sandboxTest("Sandbox survives bad input: garbage, an unknown auth key, a truncated packet", async () => {
  await using sandbox = await startSandbox()
  const port = sandbox.descriptor.dcs[0]!.port
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    // 1. Garbage: 64 random bytes look like an obfuscated header with a bad protocol tag.
    const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff)
    const g = await rawExchange(port, garbage)
    assert(g.closed, "garbage closes the connection")
    // 2. An unknown auth key over the intermediate transport: transport error -404, then close.
    const packet = Buffer.alloc(4 + 4 + 8 + 16 + 32)
    packet.writeUInt32LE(0xeeeeeeee, 0)
    packet.writeUInt32LE(8 + 16 + 32, 4)
    packet.writeBigUInt64LE(0x1234567890abcdefn, 8)
    const u = await rawExchange(port, packet)
    assert(u.closed, "unknown key closes the connection")
    assertEquals(u.received.length, 8)
    assertEquals(u.received.readInt32LE(4), -404)
    // 3. A truncated unencrypted packet (its length field points past the end) over abridged.
    const trunc = Buffer.alloc(1 + 1 + 20)
    trunc[0] = 0xef
    trunc[1] = 5
    trunc.writeInt32LE(1000, 2 + 16)
    const t = await rawExchange(port, trunc)
    assert(t.closed, "a truncated packet closes the connection")
    const warnings = sandbox.logs.filter((l) => l.level === "warn")
    assertEquals(warnings.length, 3, "one log line per bad connection")
    // Everyone else is still served.
    const nearest = await client.invoke(new Api.help.GetNearestDc())
    assertEquals(nearest.thisDc, 2)
  } finally {
    await client.destroy()
  }
})

sandboxTest("Sandbox.start on a port in use fails and leaves nothing listening", async () => {
  await using running = await startSandbox()
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = probe.addr.port
  probe.close()
  const adminPort = Number(new URL(running.descriptor.admin).port)
  await assertRejects(() => startSandbox({ port, adminPort }), (e) => assert(e instanceof Deno.errors.AddrInUse))
  const again = Deno.listen({ hostname: "127.0.0.1", port })
  again.close()
})
