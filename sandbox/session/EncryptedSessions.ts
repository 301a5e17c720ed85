/**
 * The MTProto 2.0 encrypted messages of one connection: decryption and the msg_key check, sessions and server salts,
 * the msg_id and seqno rules, service messages, requests answered side by side, and the encryption of what goes back.
 */
import { Buffer } from "node:buffer"
import { igeDecrypt, igeEncrypt } from "../transport/Aes.ts"
import { bytesEqual, Reader, VECTOR_ID, Writer } from "../transport/Bytes.ts"
import { deriveAesKeyIv, messageKey, messageKeyLarge, random } from "../transport/Crypto.ts"
import type { Connection } from "./Connection.ts"
import type { AuthKeyEntry, Dc, SessionCaller } from "./Dc.ts"
import { ProtocolError } from "./ProtocolError.ts"
import { STATE, type StoredAnswer } from "./Answers.ts"
import { currentSalt, futureSalts, saltTaken } from "./Salts.ts"
import { newSession, type SessionState } from "./SessionState.ts"
import { inflate, rpcResult } from "./RpcResult.ts"
import { SERVICE as ID } from "./Service.ts"
import { bindTempKey } from "./TempKeys.ts"

/**
 * Service messages whose seqno parity clients disagree on, accepted with either, as Telegram does: several libraries
 * send acks as content-related (odd), tdlib, Pyrogram and gotd send pings and http_wait as not content-related (even).
 * Requests must be content-related (odd: code 35 otherwise) and containers not (even: code 34 otherwise).
 */
const EITHER_PARITY: ReadonlySet<number> = new Set([
  ID.msgsAck,
  ID.ping,
  ID.pingDelayDisconnect,
  ID.httpWait,
  ID.msgsStateReq,
  ID.msgResendReq,
  ID.msgResendAnsReq,
  ID.getFutureSalts,
  ID.destroySession,
])

export interface Outgoing {
  readonly body: Uint8Array
  readonly contentRelated: boolean
  readonly unsolicited?: boolean
  /** The msg_id and seqno it was given before (an answer sent again), instead of new ones. */
  readonly msgId?: bigint
  readonly seqNo?: number
}

/** The encrypted side of one connection (every session of every key that speaks on it). */
export class EncryptedSessions {
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  /** The layer this connection announced with invokeWithLayer (0: none yet); pushes on it are written in it. */
  layer = 0

  constructor(private readonly dc: Dc, private readonly connection: Connection) {}

  /** Cancels a pending ping_delay_disconnect (the connection is closing). */
  stop(): void {
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer)
  }

  /** One encrypted packet; `quickAck`: its sender asked for a quick ack, sent once its msg_key checks out. */
  onEncrypted(entry: AuthKeyEntry, packet: Uint8Array, quickAck = false): void {
    // Padded intermediate may append up to 15 bytes; the encrypted part is a whole number of blocks.
    const bodyLen = packet.length - 24
    if (bodyLen < 32) throw new ProtocolError("Encrypted message too short")
    const msgKey = packet.subarray(8, 24)
    const encrypted = packet.subarray(24, 24 + bodyLen - (bodyLen % 16))
    const { key, iv } = deriveAesKeyIv(entry.key, msgKey, 0)
    const plain = igeDecrypt(encrypted, key, iv)
    const large = messageKeyLarge(entry.key, plain, 0)
    if (!bytesEqual(large.subarray(8, 24), msgKey)) throw new ProtocolError("msg_key mismatch")
    // A quick ack: the first 32 bits of msg_key_large, the top bit set.
    if (quickAck) this.connection.writeQuickAck((readUint32(large) | 0x80000000) >>> 0)
    const r = new Reader(plain)
    const salt = r.int64()
    const sessionId = r.int64()
    const msgId = r.int64()
    const seqNo = r.int32()
    const len = r.int32()
    if (len < 0 || len > r.remaining || len % 4 !== 0) throw new ProtocolError(`Bad message length ${len}`)
    const padding = r.remaining - len
    if (padding < 12 || padding > 1024) throw new ProtocolError(`Bad padding length ${padding}`)
    const body = r.raw(len)
    this.connection.entry = entry

    let session = entry.sessions.get(sessionId)
    const out: Array<Outgoing> = []
    const nowSec = this.dc.env.nowMs() / 1000
    if (this.dc.env.strictSalt && !saltTaken(entry, salt, nowSec)) {
      // Nothing of this message is processed, so a new session is not created yet (new_session_created comes with
      // the first message that is).
      const w = new Writer().uint32(ID.badServerSalt).int64(msgId).int32(seqNo).int32(48)
        .int64(currentSalt(entry, nowSec))
      return this.sendEncrypted(entry, session ?? newSession(sessionId, undefined), [{
        body: w.finish(),
        contentRelated: false,
      }])
    }
    if (!session) {
      session = this.openSession(entry, sessionId)
      out.push({
        body: new Writer().uint32(ID.newSessionCreated).int64(msgId).int64(random8()).int64(currentSalt(entry, nowSec))
          .finish(),
        contentRelated: true,
      })
    }
    // Back on a new connection: what it was not seen to receive comes again (Telegram re-sends unacknowledged
    // messages; a client that had them sees the same msg_ids again).
    const resumed = session.connection !== this.connection && out.length === 0
    session.connection = this.connection
    if (resumed) out.push(...session.answers.unacknowledged().map(again))
    const notice = this.checkMsgId(session, msgId, seqNo, body)
    if (notice !== undefined) {
      if (notice !== 0) out.push(badMsg(msgId, seqNo, notice))
      else if (!resumed) out.push(...answerAgain(session, msgId))
      if (out.length) this.sendEncrypted(entry, session, out)
      return
    }
    if (out.length) this.sendEncrypted(entry, session, out)
    this.onMessage(entry, session, msgId, body, seqNo)
  }

  private openSession(entry: AuthKeyEntry, id: bigint): SessionState {
    const session = newSession(id, this.connection)
    entry.sessions.set(id, session)
    if (entry.sessions.size > 64) {
      const oldest = entry.sessions.keys().next().value
      if (oldest !== undefined && oldest !== id) entry.sessions.delete(oldest)
    }
    return session
  }

  /** MTProto msg_id and seqno rules. Returns undefined to process, 0 to drop silently, or a bad_msg error code. */
  private checkMsgId(session: SessionState, msgId: bigint, seqNo: number, body: Uint8Array): number | undefined {
    if ((msgId & 3n) !== 0n) return 18
    const serverSeconds = this.dc.env.nowMs() / 1000
    const msgSeconds = Number(msgId >> 32n)
    if (msgSeconds < serverSeconds - 300) return 16
    if (msgSeconds > serverSeconds + 30) return 17
    // A message again is ignored (its kept answer goes again); a container again is an error (19).
    if (session.seen.has(msgId)) return readUint32(body) === ID.msgContainer ? 19 : 0
    this.remember(session, msgId)
    const ctor = readUint32(body)
    if (EITHER_PARITY.has(ctor)) return undefined
    const content = ctor !== ID.msgContainer
    if (content && seqNo % 2 === 0) return 35
    if (!content && seqNo % 2 === 1) return 34
    return undefined
  }

  private remember(session: SessionState, msgId: bigint): void {
    session.seen.add(msgId)
    session.seenOrder.push(msgId)
    if (session.seenOrder.length > 1000) session.seen.delete(session.seenOrder.shift()!)
  }

  private onMessage(entry: AuthKeyEntry, session: SessionState, msgId: bigint, body: Uint8Array, seqNo = 0): void {
    const r = new Reader(body)
    const ctor = r.uint32()
    switch (ctor) {
      case ID.msgContainer: {
        const count = r.int32()
        // More messages than a container may hold: code 64 (invalid container), none of them is taken.
        if (count < 0 || count > MAX_CONTAINER) return this.sendEncrypted(entry, session, [badMsg(msgId, seqNo, 64)])
        const inner: Array<{ id: bigint; seq: number; body: Uint8Array }> = []
        for (let i = 0; i < count; i++) {
          const id = r.int64()
          const seq = r.int32()
          const len = r.int32()
          if (len < 4 || len > r.remaining) throw new ProtocolError(`Bad container item length ${len}`)
          inner.push({ id, seq, body: r.raw(len) })
        }
        for (const m of inner) {
          // A container inside a container: code 64 for it, the others are taken.
          if (readUint32(m.body) === ID.msgContainer) {
            this.sendEncrypted(entry, session, [badMsg(m.id, m.seq, 64)])
            continue
          }
          const notice = this.checkMsgId(session, m.id, m.seq, m.body)
          if (notice === undefined) this.onMessage(entry, session, m.id, m.body, m.seq)
          else {this.sendEncrypted(
              entry,
              session,
              notice === 0 ? answerAgain(session, m.id) : [badMsg(m.id, m.seq, notice)],
            )}
        }
        return
      }
      case ID.gzipPacked: {
        const inner = inflate(r.bytes())
        // One level only: Telegram never nests gzip_packed, and nesting would multiply the inflated size.
        if (readUint32(inner) === ID.gzipPacked) {
          throw new ProtocolError("gzip_packed inside gzip_packed")
        }
        return this.onMessage(entry, session, msgId, inner)
      }
      case ID.msgsAck:
        return session.answers.acknowledged(longs(r, "msgs_ack"))
      case ID.httpWait:
        return
      case ID.ping:
      case ID.pingDelayDisconnect: {
        const pingId = r.int64()
        if (ctor === ID.pingDelayDisconnect) this.armDisconnect(r.int32())
        const pong = new Writer().uint32(ID.pong).int64(msgId).int64(pingId).finish()
        return this.sendEncrypted(entry, session, [{ body: pong, contentRelated: false }])
      }
      case ID.getFutureSalts: {
        const num = Math.max(1, Math.min(64, r.int32()))
        const now = Math.floor(this.dc.env.nowMs() / 1000)
        // salts:vector<future_salt> is a bare vector of bare future_salt: no constructor ids inside.
        const w = new Writer().uint32(ID.futureSalts).int64(msgId).int32(now).int32(num)
        for (const f of futureSalts(entry, now, num)) w.int32(f.validSince).int32(f.validUntil).int64(f.salt)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: true }])
      }
      case ID.msgsStateReq: {
        const info = Uint8Array.from(longs(r, "msgs_state_req"), (id) => this.stateOf(session, id))
        const w = new Writer().uint32(ID.msgsStateInfo).int64(msgId).bytes(info)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: false }])
      }
      case ID.msgResendReq:
        return this.sendEncrypted(entry, session, session.answers.withMsgIds(longs(r, "msg_resend_req")).map(again))
      case ID.msgResendAnsReq: {
        // The answers to these requests, named by the client's own msg_ids (service_messages_about_messages).
        const ids = longs(r, "msg_resend_ans_req")
        return this.sendEncrypted(entry, session, ids.flatMap((id) => answerAgain(session, id)))
      }
      case ID.msgsAllInfo:
      case ID.msgsStateInfo:
      case ID.msgDetailedInfo:
      case ID.msgNewDetailedInfo:
        // What the client tells of its own state: informative, answered by nothing (an acknowledgment at most).
        return
      case ID.destroySession: {
        const target = r.int64()
        const existed = target !== session.id && entry.sessions.delete(target)
        const w = new Writer().uint32(existed ? ID.destroySessionOk : ID.destroySessionNone).int64(target)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: false }])
      }
      case ID.rpcDropAnswer: {
        const w = new Writer().uint32(ID.rpcResult).int64(msgId).uint32(ID.rpcAnswerUnknown)
        return this.sendEncrypted(entry, session, [{ body: w.finish(), contentRelated: true }])
      }
      default:
        // Requests run side by side, as on Telegram: a slow one (an injected latency) never holds up the others.
        this.onRequest(entry, session, msgId, body).catch((error) => this.connection.fail(error))
        return
    }
  }

  private armDisconnect(delaySeconds: number): void {
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer)
    if (delaySeconds <= 0) return
    const timer = setTimeout(() => this.connection.close("ping_delay_disconnect"), delaySeconds * 1000)
    Deno.unrefTimer(timer)
    this.pingTimer = timer
  }

  private async onRequest(entry: AuthKeyEntry, session: SessionState, msgId: bigint, body: Uint8Array): Promise<void> {
    const setLayer = (value: number) => (this.layer = value)
    const getLayer = () => this.layer
    const keyDuplicated = this.keyDuplicated(entry, session)
    const caller: SessionCaller = {
      keyDuplicated,
      dcId: this.dc.id,
      connectionId: this.connection.id,
      authKeyId: entry.id,
      get userId() {
        return entry.userId
      },
      authorize(userId) {
        entry.userId = userId
      },
      get layer() {
        return getLayer()
      },
      set layer(value) {
        setLayer(value)
      },
      wantsUpdates() {
        session.updates = true
      },
      unboundTempKey: entry.temp !== undefined && entry.temp.perm === undefined,
      bindTempKey: (binding) => bindTempKey(this.dc.keys, { temp: entry, msgId, sessionId: session.id }, binding),
    }
    session.answers.started(msgId)
    const answer = await this.dc.env.invoke(body, caller)
    const kept = {
      reqMsgId: msgId,
      body: rpcResult(msgId, answer, this.dc.env.gzipThreshold),
      msgId: this.dc.nextMsgId(false),
      seqNo: session.outContent++ * 2 + 1,
    }
    session.answers.finished(kept)
    // On the connection the session is on now (the request's may have closed meanwhile); none: sent on its return.
    const live = session.connection !== undefined && !session.connection.closed ? session.connection : undefined
    live?.encrypted.sendEncrypted(entry, session, [again(kept)])
  }

  /** msgs_state_info's byte for the client's message `id`. */
  private stateOf(session: SessionState, id: bigint): number {
    if (session.seen.has(id)) return STATE.received | session.answers.queryState(id)
    const oldest = session.seenOrder[0]
    if (oldest === undefined || id < oldest) return STATE.tooLow
    return id > session.seenOrder[session.seenOrder.length - 1]! ? STATE.tooHigh : STATE.notReceived
  }

  /**
   * Whether this call meets AUTH_KEY_DUPLICATED: its authorized key is in use by another session on another live
   * connection (counted once per session), or was so while duplicated keys are refused (then the key stays refused).
   */
  private keyDuplicated(entry: AuthKeyEntry, session: SessionState): boolean {
    if (entry.duplicated) return true
    if (entry.userId === undefined) return false
    const elsewhere = [...entry.sessions.values()].some((s) =>
      s !== session && s.connection !== undefined && s.connection !== this.connection && !s.connection.closed
    )
    if (!elsewhere) return false
    const keys = this.dc.env.keys
    if (!session.shared) {
      session.shared = true
      keys.sessionShared()
      this.dc.env.log("warn", "auth key used by two sessions at once", { userId: entry.userId, dcId: this.dc.id })
    }
    if (keys.refuse) entry.duplicated = true
    return keys.refuse
  }

  /** Encrypts and writes messages for a session (several go in one msg_container). */
  sendEncrypted(entry: AuthKeyEntry, session: SessionState, messages: ReadonlyArray<Outgoing>): void {
    if (this.connection.closed || messages.length === 0) return
    const seqFor = (m: Outgoing) => m.contentRelated ? session.outContent++ * 2 + 1 : session.outContent * 2
    let msgId: bigint
    let seqNo: number
    let payload: Uint8Array
    if (messages.length === 1) {
      const m = messages[0]!
      msgId = m.msgId ?? this.dc.nextMsgId(m.unsolicited ?? false)
      seqNo = m.seqNo ?? seqFor(m)
      payload = m.body
    } else {
      const w = new Writer().uint32(ID.msgContainer).int32(messages.length)
      for (const m of messages) {
        w.int64(m.msgId ?? this.dc.nextMsgId(m.unsolicited ?? false)).int32(m.seqNo ?? seqFor(m))
          .int32(m.body.length).raw(m.body)
      }
      msgId = this.dc.nextMsgId(false)
      seqNo = session.outContent * 2
      payload = w.finish()
    }
    // One buffer (the connection takes it over): auth_key_id, msg_key (set below), the plaintext encrypted in place.
    const padLen = 12 + ((16 - ((32 + payload.length + 12) % 16)) % 16)
    const packet = new Writer(24 + 32 + payload.length + padLen).int64(entry.id).zeros(16)
      .int64(currentSalt(entry, this.dc.env.nowMs() / 1000)).int64(session.id).int64(msgId).int32(seqNo)
      .int32(payload.length).raw(payload).raw(random(padLen)).finish()
    const plain = packet.subarray(24)
    const msgKey = messageKey(entry.key, plain, 8)
    packet.set(msgKey, 8)
    const { key, iv } = deriveAesKeyIv(entry.key, msgKey, 8)
    igeEncrypt(plain, key, iv, plain)
    this.connection.write(packet)
  }
}

function random8(): bigint {
  return Buffer.from(random(8)).readBigInt64LE(0)
}

/** The first 4 bytes of `bytes` as a little-endian unsigned number (a constructor id); 0 when shorter. */
function readUint32(bytes: Uint8Array): number {
  return bytes.length >= 4 ? Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32LE(0) : 0
}

/** The most messages a container may hold (Telegram answers more with code 64; GramJS sends at most 100). */
const MAX_CONTAINER = 1024

/** bad_msg_notification for the client's message `id` (`seq`) with error `code`. */
function badMsg(id: bigint, seq: number, code: number): Outgoing {
  return {
    body: new Writer().uint32(ID.badMsgNotification).int64(id).int32(seq).int32(code).finish(),
    contentRelated: false,
  }
}

/** A request that came again: its kept answer goes again, if there is one (none: it is still running, or gone). */
function answerAgain(session: SessionState, reqMsgId: bigint): Array<Outgoing> {
  const kept = session.answers.toRequest(reqMsgId)
  return kept ? [again(kept)] : []
}

/** A kept answer as it goes again: the same msg_id and seqno. */
function again(answer: StoredAnswer): Outgoing {
  return { body: answer.body, contentRelated: true, msgId: answer.msgId, seqNo: answer.seqNo }
}

/** A `Vector<long>` of a service message (at most 8,192 ids are read). */
function longs(r: Reader, what: string): Array<bigint> {
  if (r.uint32() !== VECTOR_ID) throw new ProtocolError(`${what} without a vector`)
  const n = r.int32()
  if (n < 0 || n > 8192) throw new ProtocolError(`${what} with ${n} ids`)
  return Array.from({ length: n }, () => r.int64())
}
