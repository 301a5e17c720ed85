/** The sandbox's MTProto 2.0 session layer, probed message by message with a raw client. */
import { deflateSync, gzipSync } from "node:zlib"
import { Api } from "telegram"
import { Reader, Writer } from "../transport/Bytes.ts"
import type { ServerMessage } from "../session/RawClient.ts"
import { SERVICE as ID } from "../session/Service.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { historyRequest, sandboxTest, startSandbox } from "./support/sandbox.ts"
import {
  answerTo,
  badMsgCode,
  connected,
  decode,
  nearestDc,
  ping,
  pingDelayDisconnect,
  refersTo,
  rpcResult,
} from "./support/session.ts"

sandboxTest(
  "Session: a wrong salt gets bad_server_salt; the first processed message gets new_session_created",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      const msgId = client.send(nearestDc())
      const created = await client.next((m) => m.ctor === ID.newSessionCreated)
      const r = new Reader(created.body)
      r.uint32()
      assertEquals(r.int64(), msgId, "first_msg_id")
      r.int64()
      assertEquals(r.int64(), client.salt, "server_salt")
      const answer = rpcResult(await client.next(answerTo(msgId)))
      assertEquals(decode(answer.result).className, "NearestDc")
      // Another message in the same session does not create it again.
      const second = client.send(nearestDc())
      await client.next(answerTo(second))
      assertEquals(client.pending().filter((m) => m.ctor === ID.newSessionCreated).length, 0)
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "Session: ping gets a bare pong; ping_delay_disconnect closes an idle connection after the delay",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      const msgId = client.send(ping(77n))
      const pong = await client.next((m) => m.ctor === ID.pong)
      const r = new Reader(pong.body)
      r.uint32()
      assertEquals([r.int64(), r.int64()], [msgId, 77n], "pong msg_id and ping_id")
      assertEquals(client.pending().filter((m) => m.ctor === ID.rpcResult).length, 0, "no rpc_result around it")

      // A later ping_delay_disconnect moves the deadline; without one the server closes after the delay. Told by the
      // order of the closes: `client` moves its deadline from 1 s to 4 s, `other` (asked after it) closes after 2 s.
      const other = await connected(sandbox, 1)
      try {
        client.send(pingDelayDisconnect(1n, 1))
        await client.next((m) => m.ctor === ID.pong)
        client.send(pingDelayDisconnect(2n, 4))
        await client.next((m) => m.ctor === ID.pong)
        other.send(pingDelayDisconnect(3n, 2))
        await other.next((m) => m.ctor === ID.pong)
        await other.closed
        assert(!client.isClosed, "still open after the first deadline passed")
        await client.closed
      } finally {
        await other.close()
      }
    } finally {
      await client.close()
    }
  },
)

sandboxTest("Session: every request in a msg_container gets its own rpc_result", async () => {
  await using sandbox = await startSandbox()
  const client = await connected(sandbox)
  try {
    const ids = client.sendContainer([nearestDc(), new Api.help.GetConfig().getBytes(), nearestDc()])
    const classes = []
    for (const id of ids) classes.push(decode(rpcResult(await client.next(answerTo(id))).result).className)
    assertEquals(classes, ["NearestDc", "Config", "NearestDc"])
  } finally {
    await client.close()
  }
})

sandboxTest(
  "Session: gzip_packed requests in gzip and zlib framing are answered; large answers come gzipped",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      for (const pack of [gzipSync, deflateSync]) {
        const msgId = client.send(new Writer().uint32(ID.gzipPacked).bytes(pack(nearestDc())).finish())
        const answer = rpcResult(await client.next(answerTo(msgId)))
        assertEquals(decode(answer.result).className, "NearestDc", pack.name)
        assert(!answer.gzipped, "a small answer goes as it is")
      }
      const channel = sandbox.descriptor.channels[0]!
      const msgId = client.send(historyRequest(channel).getBytes())
      const answer = rpcResult(await client.next(answerTo(msgId)))
      assert(answer.gzipped, "a 100-post page is sent gzip_packed")
      assertEquals(decode(answer.result).messages.length, 100)
    } finally {
      await client.close()
    }
  },
)

sandboxTest("Session: get_future_salts answers future_salts as the schema lays them out", async () => {
  await using sandbox = await startSandbox()
  const client = await connected(sandbox)
  try {
    const msgId = client.send(new Writer().uint32(ID.getFutureSalts).int32(3).finish())
    const answer = await client.next((m) => m.ctor === ID.futureSalts)
    // future_salts#ae500895 req_msg_id:long now:int salts:vector<future_salt>: a bare vector of bare future_salt
    // (GramJS 2.26 cannot decode this type at all and never asks for it; the layout follows the schema).
    const r = new Reader(answer.body.subarray(4))
    assertEquals(r.int64(), msgId, "req_msg_id")
    const now = r.int32()
    const count = r.int32()
    assertEquals(count, 3)
    for (let i = 0; i < count; i++) {
      const since = r.int32()
      const until = r.int32()
      const salt = r.int64()
      if (i === 0) assertEquals(salt, client.salt, "the first is the salt in force")
      assert(since < until && (i > 0 || (since <= now && now < until)), "validity windows")
    }
    assertEquals(r.remaining, 0, "nothing after the last salt")
  } finally {
    await client.close()
  }
})

sandboxTest("Session: msgs_state_req, destroy_session and rpc_drop_answer get their service answers", async () => {
  await using sandbox = await startSandbox()
  const client = await connected(sandbox)
  try {
    const known = client.send(nearestDc())
    await client.next(answerTo(known))
    // Never sent: within the ids seen (the state request comes after it), below them all, above them all.
    const unknown = client.nextMsgId()
    const tooLow = 1n << 32n
    const tooHigh = (BigInt(Math.floor(Date.now() / 1000)) + 3_600n) << 32n
    const stateReq = client.send(
      new Writer().uint32(ID.msgsStateReq).vectorLong([known, unknown, tooLow, tooHigh]).finish(),
    )
    const info = new Reader((await client.next((m) => m.ctor === ID.msgsStateInfo)).body.subarray(4))
    assertEquals(info.int64(), stateReq, "req_msg_id")
    // 4 received | 32 a query | 64 answered; 2 not received; 1 too low; 3 too high.
    assertEquals([...info.bytes()], [4 | 32 | 64, 2, 1, 3])

    // Another session of the same key, then destroy it from this one.
    const mine = client.sessionId
    client.sessionId = mine + 1n
    const other = client.send(nearestDc())
    await client.next(answerTo(other))
    client.sessionId = mine
    client.send(new Writer().uint32(ID.destroySession).int64(mine + 1n).finish())
    const ok = new Reader((await client.next((m) => m.ctor === ID.destroySessionOk)).body)
    ok.uint32()
    assertEquals(ok.int64(), mine + 1n)
    client.send(new Writer().uint32(ID.destroySession).int64(mine + 99n).finish())
    await client.next((m) => m.ctor === ID.destroySessionNone)

    const drop = client.send(new Writer().uint32(ID.rpcDropAnswer).int64(known).finish())
    const dropped = rpcResult(await client.next(answerTo(drop)))
    assertEquals(new Reader(dropped.result).uint32(), ID.rpcAnswerUnknown)
  } finally {
    await client.close()
  }
})

sandboxTest("Session: msg_id and seqno rules answer bad_msg_notification; a repeated msg_id is ignored", async () => {
  await using sandbox = await startSandbox()
  const client = await connected(sandbox)
  const now = () => BigInt(Math.floor(Date.now() / 1000))
  const codeFor = (msgId: bigint) => badMsgCode(client, msgId)
  try {
    const cases: Array<[string, () => bigint, number]> = [
      ["msg_id not divisible by 4", () => client.send(ping(1n), { msgId: client.nextMsgId() + 1n }), 18],
      ["msg_id too old", () => client.send(ping(2n), { msgId: (now() - 400n) << 32n }), 16],
      ["msg_id too new", () => client.send(ping(3n), { msgId: (now() + 60n) << 32n }), 17],
      ["a request with an even seqno", () => client.send(nearestDc(), { seqNo: 2 }), 35],
      [
        "a container with an odd seqno",
        () => client.send(new Writer().uint32(ID.msgContainer).int32(0).finish(), { seqNo: 7 }),
        34,
      ],
    ]
    for (const [name, send, code] of cases) assertEquals(await codeFor(send()), code, name)

    const msgId = client.nextMsgId()
    client.send(ping(5n), { msgId })
    client.send(ping(6n), { msgId, seqNo: client.nextSeqNo(true) })
    const after = client.send(nearestDc())
    await client.next(answerTo(after))
    const pongs = client.pending().filter((m) => m.ctor === ID.pong)
    assertEquals(pongs.length, 1, "the repeated msg_id got no second answer")
    assertEquals(client.pending().filter((m) => m.ctor === ID.msgsAck).length, 0, "acks are never answered")
  } finally {
    await client.close()
  }
})

sandboxTest(
  "Session: server msg_ids grow and are 1 mod 4; content-related answers have odd, growing seqnos",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      const ids = Array.from({ length: 20 }, () => client.send(nearestDc()))
      const answers: Array<ServerMessage> = []
      for (const id of ids) answers.push(await client.next(answerTo(id)))
      const msgIds = answers.map((m) => m.msgId)
      assert(msgIds.every((id) => (id & 3n) === 1n), "answers are 1 mod 4")
      assert(msgIds.every((id, i) => i === 0 || id > msgIds[i - 1]!), "msg_ids increase")
      const seqs = answers.map((m) => m.seqNo)
      assert(seqs.every((s) => s % 2 === 1), "odd seqnos")
      assert(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), "seqnos increase")
    } finally {
      await client.close()
    }
  },
)

sandboxTest("Session: a slow request does not hold up the others on the same connection", async () => {
  await using sandbox = await startSandbox()
  sandbox.control.faults.add({ _tag: "Latency", ms: 1_500, method: "help.GetConfig" })
  const client = await connected(sandbox)
  try {
    const slow = client.send(new Api.help.GetConfig().getBytes())
    const quick = client.send(nearestDc())
    const first = await client.next((m) => m.ctor === ID.rpcResult)
    assertEquals(refersTo(first), quick, "the quick request was answered first")
    await client.next(answerTo(slow))
  } finally {
    await client.close()
  }
})

sandboxTest("Session: a message whose msg_key does not match closes that connection with one log line", async () => {
  await using sandbox = await startSandbox()
  const client = await connected(sandbox)
  const intact = await connected(sandbox, 1)
  const dc = sandbox.descriptor.dcs[0]!
  try {
    // Flip one byte of the ciphertext: the server's msg_key check fails.
    const conn = await Deno.connect({ hostname: dc.host, port: dc.port })
    const forged = new Writer().uint32(0xeeeeeeee).int32(24 + 48).int64(1n).raw(new Uint8Array(16)).raw(
      new Uint8Array(48),
    ).finish()
    // An auth key id the DC knows, so the packet reaches the msg_key check.
    const keyId = [...sandbox.dcs.get(dc.id)!.keys.keys()][0]!
    new DataView(forged.buffer).setBigUint64(8, keyId, true)
    await conn.write(forged)
    const closed = await conn.read(new Uint8Array(16)).catch(() => null)
    assertEquals(closed, null, "the server closed the connection")
    conn.close()
    const warnings = sandbox.logs.filter((l) => l.level === "warn")
    assertEquals(warnings.length, 1, "one log line")
    assert(String(warnings[0]!.fields?.reason).includes("msg_key"), "it names the msg_key check")
    // Both clients are still served.
    for (const c of [client, intact]) {
      const id = c.send(nearestDc())
      await c.next(answerTo(id))
    }
  } finally {
    await client.close()
    await intact.close()
  }
})
