/**
 * The session layer's rules where clients and Telegram meet: seqno parity of service messages, quick acks, limits on
 * gzip_packed, who gets updates and what they carry.
 */
import { gzipSync } from "node:zlib"
import { Api } from "telegram"
import { Reader, Writer } from "../transport/Bytes.ts"
import type { RawClient, ServerMessage } from "../session/RawClient.ts"
import { SERVICE as ID } from "../session/Service.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { sandboxTest, startSandbox } from "./support/sandbox.ts"
import {
  answerTo,
  badMsgCode,
  connected,
  decode,
  nearestDc,
  ping,
  pingDelayDisconnect,
  refersTo,
} from "./support/session.ts"

sandboxTest(
  "Session: service messages clients disagree on are taken with either seqno parity, as Telegram takes them",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    const ack = new Writer().uint32(ID.msgsAck).vectorLong([1n]).finish()
    const httpWait = new Writer().uint32(ID.httpWait).int32(0).int32(0).int32(0).finish()
    const salts = new Writer().uint32(ID.getFutureSalts).int32(1).finish()
    try {
      const sent: Array<bigint> = []
      for (const contentRelated of [true, false]) {
        const answered = [
          [client.send(ping(10n), { contentRelated }), ID.pong],
          [client.send(pingDelayDisconnect(11n, 60), { contentRelated }), ID.pong],
          [client.send(salts, { contentRelated }), ID.futureSalts],
        ] as const
        for (const [msgId, ctor] of answered) {
          const m = await client.next((m) => m.ctor === ctor && refersTo(m) === msgId)
          assertEquals(m.ctor, ctor)
          sent.push(msgId)
        }
        sent.push(client.send(ack, { contentRelated }), client.send(httpWait, { contentRelated }))
      }
      // A request after them all is answered; none of them got a bad_msg_notification.
      await client.next(answerTo(client.send(nearestDc())))
      const notices = client.pending().filter((m) => m.ctor === ID.badMsgNotification && sent.includes(refersTo(m)))
      assertEquals(notices.length, 0, "no bad_msg_notification")
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "Session: a request that asks for a quick ack gets its token (msg_key_large's first bits), then its answer",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      const msgId = client.send(nearestDc(), { quickAck: true })
      const token = client.expectedQuickAcks.get(msgId)!
      await client.quickAck(token)
      await client.next(answerTo(msgId))
      assertEquals(client.quickAcks, [token], "one token, the one the client computed")
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "Session: a gzip_packed that inflates past 8 MB, or packs another gzip_packed, closes its connection with one line",
  async () => {
    await using sandbox = await startSandbox()
    const other = await connected(sandbox, 1)
    try {
      // 64 MB of zeros in about 64 KB: inflating stops at 8 MB.
      const bomb = new Writer().uint32(ID.gzipPacked).bytes(gzipSync(new Uint8Array(64 * 1024 * 1024))).finish()
      const nested = new Writer().uint32(ID.gzipPacked).bytes(
        gzipSync(new Writer().uint32(ID.gzipPacked).bytes(gzipSync(nearestDc())).finish()),
      ).finish()
      for (const [body, reason] of [[bomb, "inflates past 8388608 bytes"], [nested, "inside gzip_packed"]] as const) {
        const before = sandbox.logs.length
        const client = await connected(sandbox)
        client.send(body)
        await client.closed
        const lines = sandbox.logs.slice(before).filter((l) => l.level === "warn")
        assertEquals(lines.length, 1, "one log line")
        assert(String(lines[0]!.fields?.reason).includes(reason), String(lines[0]!.fields?.reason))
      }
      // Everyone else is still served.
      await other.next(answerTo(other.send(nearestDc())))
    } finally {
      await other.close()
    }
  },
)

sandboxTest(
  "Session: updates go only to sessions that made a call not wrapped in invokeWithoutUpdates, as on Telegram",
  async () => {
    await using sandbox = await startSandbox()
    const channel = sandbox.world.channels.find((c) =>
      !c.isPrivate && c.memberUserIds.includes(sandbox.descriptor.accounts[0]!.userId)
    )!
    const quiet = await connected(sandbox)
    const listening = await connected(sandbox)
    const isUpdates = (m: ServerMessage) => m.ctor === Api.Updates.CONSTRUCTOR_ID
    /** A round trip on `client`: whatever the server wrote to it before is in its inbox after. */
    const roundTrip = async (client: RawClient, id: bigint) => {
      const sent = client.send(ping(id))
      await client.next((m) => m.ctor === ID.pong && refersTo(m) === sent)
    }
    try {
      const without = new Api.InvokeWithoutUpdates({ query: new Api.help.GetNearestDc() }).getBytes()
      await quiet.next(answerTo(quiet.send(without)))
      await listening.next(answerTo(listening.send(nearestDc())))
      sandbox.world.publish(channel.id, 1)
      await listening.next(isUpdates)
      await roundTrip(quiet, 20n)
      assertEquals(quiet.pending().filter(isUpdates).length, 0, "no update for the session that asked for none")
      // Its first call without the wrapper: from now on it gets them too.
      await quiet.next(answerTo(quiet.send(nearestDc())))
      sandbox.world.publish(channel.id, 1)
      await Promise.all([quiet.next(isUpdates), listening.next(isUpdates)])
    } finally {
      await quiet.close()
      await listening.close()
    }
  },
)

sandboxTest(
  "Session: a pushed megagroup message comes with its author in the Updates' users, as on Telegram",
  async () => {
    await using sandbox = await startSandbox()
    const self = sandbox.descriptor.accounts[0]!.userId
    const group = sandbox.world.channels.find((c) => c.kind === "megagroup" && c.memberUserIds.includes(self))!
    const client = await connected(sandbox)
    try {
      await client.next(answerTo(client.send(nearestDc())))
      const [post] = sandbox.world.publish(group.id, 1)
      assert(post?.fromUserId !== undefined, "a megagroup post has an author")
      const updates = decode((await client.next((m) => m.ctor === Api.Updates.CONSTRUCTOR_ID)).body)
      const message = updates.updates[0].message
      assertEquals(Number(message.fromId.userId), post.fromUserId)
      assertEquals(updates.users.map((u: any) => Number(u.id)), [post.fromUserId], "the author is in users")
      assertEquals(updates.chats.map((c: any) => Number(c.id)), [group.id])
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "SessionRules: an answer stays until acknowledged: sent again for the same msg_id, on msg_resend_req and on the " +
    "session's next connection, always as the same message; acknowledged, it is let go",
  async () => {
    await using sandbox = await startSandbox()
    const first = await connected(sandbox)
    const request = first.send(nearestDc())
    const answer = await first.next(answerTo(request))
    const handled = () => sandbox.control.log.since(0, "help.GetNearestDc").length
    try {
      // The request again, with its msg_id: the same answer, the handler not run again.
      first.send(nearestDc(), { msgId: request })
      assertEquals((await first.next(answerTo(request))).msgId, answer.msgId, "answered again, as the same message")
      assertEquals(handled(), 1, "handled once")
      first.send(new Writer().uint32(ID.msgResendReq).vectorLong([answer.msgId]).finish(), { contentRelated: false })
      assertEquals((await first.next(answerTo(request))).msgId, answer.msgId, "re-sent on msg_resend_req")
    } finally {
      await first.close()
    }
    // The session on a new connection: the answer it never acknowledged comes first.
    const second = await connected(sandbox, 0, first.sessionId)
    try {
      second.send(ping(30n))
      assertEquals((await second.next(answerTo(request))).msgId, answer.msgId, "re-sent on the next connection")
      second.send(new Writer().uint32(ID.msgsAck).vectorLong([answer.msgId]).finish(), { contentRelated: false })
      // A round trip after it: the server has taken the ack in when the pong comes (one connection is in order).
      const probe = second.send(ping(32n))
      await second.next((m) => m.ctor === ID.pong && refersTo(m) === probe)
    } finally {
      await second.close()
    }
    const third = await connected(sandbox, 0, first.sessionId)
    try {
      const probe = third.send(ping(31n))
      await third.next((m) => m.ctor === ID.pong && refersTo(m) === probe)
      assertEquals(third.pending().filter(answerTo(request)).length, 0, "acknowledged: not sent again")
    } finally {
      await third.close()
    }
  },
)

sandboxTest(
  "SessionRules: containers as Telegram checks them: one inside another, or of more than 1,024 messages, gets " +
    "code 64; a container's msg_id again gets code 19; the connection stays",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    const codeFor = (msgId: bigint) => badMsgCode(client, msgId)
    /** A container body of `items` (msg_id, seqno, body). */
    const container = (items: ReadonlyArray<readonly [bigint, number, Uint8Array]>) => {
      const w = new Writer().uint32(ID.msgContainer).int32(items.length)
      for (const [id, seq, body] of items) w.int64(id).int32(seq).int32(body.length).raw(body)
      return w.finish()
    }
    try {
      const innerPing = client.nextMsgId()
      const inner = container([[innerPing, client.nextSeqNo(true), ping(41n)]])
      const innerId = client.nextMsgId()
      const outerPing = client.nextMsgId()
      client.send(
        container([[outerPing, client.nextSeqNo(true), ping(40n)], [innerId, client.nextSeqNo(false), inner]]),
        {
          contentRelated: false,
        },
      )
      assertEquals(await codeFor(innerId), 64, "a container inside a container")
      await client.next((m) => m.ctor === ID.pong && refersTo(m) === outerPing)
      const tooMany = client.send(new Writer().uint32(ID.msgContainer).int32(1025).finish(), { contentRelated: false })
      assertEquals(await codeFor(tooMany), 64, "1,025 messages")
      const body = container([[client.nextMsgId(), client.nextSeqNo(true), ping(42n)]])
      const twice = client.send(body, { contentRelated: false })
      client.send(body, { msgId: twice, contentRelated: false })
      assertEquals(await codeFor(twice), 19, "the same container msg_id")
      await client.next(answerTo(client.send(nearestDc())))
      assertEquals(client.pending().filter((m) => m.ctor === ID.pong && refersTo(m) === innerPing).length, 0)
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "SessionRules: salts rotate every hour; get_future_salts names them ahead; the previous one is taken for half an " +
    "hour more, then gets bad_server_salt with the current one",
  async () => {
    let nowMs = Date.now()
    await using sandbox = await startSandbox({ clock: () => nowMs })
    const client = await connected(sandbox)
    const answered = async (salt: bigint) => {
      const request = client.send(nearestDc(), { salt })
      const m = await client.next((m) => refersTo(m) === request)
      return m.ctor === ID.rpcResult
        ? "answered"
        : m.ctor === ID.badServerSalt
        ? new Reader(m.body.subarray(20)).int64()
        : m.ctor
    }
    /** Moves the server's clock to `seconds`, and the client's msg_ids with it. */
    const at = (seconds: number) => {
      nowMs = seconds * 1000
      client.clockOffsetMs = nowMs - Date.now()
    }
    try {
      client.send(new Writer().uint32(ID.getFutureSalts).int32(3).finish())
      const r = new Reader((await client.next((m) => m.ctor === ID.futureSalts)).body.subarray(12))
      r.int32() // now; then a bare vector of bare future_salt
      const salts = Array.from({ length: r.int32() }, () => ({ since: r.int32(), until: r.int32(), salt: r.int64() }))
      assertEquals(salts.length, 3)
      assertEquals(salts[0]!.salt, client.salt, "the first is the current one")
      assertEquals(salts[1]!.since, salts[0]!.since + 3600, "an hour apart")
      assertEquals(salts[0]!.until, salts[1]!.since + 1800, "each taken half an hour into the next")
      assertEquals(new Set(salts.map((s) => s.salt)).size, 3, "all different")
      // Ten seconds into the next hour: both salts are taken.
      at(salts[1]!.since + 10)
      assertEquals(await answered(salts[0]!.salt), "answered")
      assertEquals(await answered(salts[1]!.salt), "answered")
      // Past the half hour: the old one gets bad_server_salt naming the current one.
      at(salts[0]!.until + 10)
      assertEquals(await answered(salts[0]!.salt), salts[1]!.salt)
      assertEquals(await answered(salts[1]!.salt), "answered")
    } finally {
      await client.close()
    }
  },
)

sandboxTest(
  "SessionRules: msg_resend_ans_req sends again the answer to a request named by its own msg_id; msgs_all_info and " +
    "msgs_state_info from the client are answered by nothing",
  async () => {
    await using sandbox = await startSandbox()
    const client = await connected(sandbox)
    try {
      const request = client.send(nearestDc())
      const answer = await client.next(answerTo(request))
      client.send(new Writer().uint32(ID.msgResendAnsReq).vectorLong([request]).finish(), { contentRelated: false })
      assertEquals((await client.next(answerTo(request))).msgId, answer.msgId, "the same answer, as the same message")
      // msgs_all_info#8cc0d131 msg_ids:Vector<long> info:string; msgs_state_info#04deb57d req_msg_id:long info:string
      const notices = [
        client.send(new Writer().uint32(ID.msgsAllInfo).vectorLong([request]).bytes(new Uint8Array([4])).finish()),
        client.send(new Writer().uint32(ID.msgsStateInfo).int64(1n).bytes(new Uint8Array([1])).finish()),
      ]
      const probe = client.send(ping(40n))
      await client.next((m) => m.ctor === ID.pong && refersTo(m) === probe)
      const said = client.pending().filter((m) => m.ctor !== ID.msgsAck && notices.includes(refersTo(m)))
      assertEquals(said.map((m) => m.ctor.toString(16)), [], "nothing answers the notices")
    } finally {
      await client.close()
    }
  },
)
