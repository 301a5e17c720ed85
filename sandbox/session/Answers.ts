/**
 * A session's answers to its requests, kept until the client acknowledges them, as Telegram keeps them: sent again
 * after the session comes back on a new connection, on msg_resend_req, and when a request comes again with the same
 * msg_id. An answer keeps the msg_id and seqno it was first given, so a client that had it already sees a duplicate.
 * Bounded: the oldest answers go first past MAX_ANSWERS or MAX_BYTES per session.
 */
import { release } from "../transport/Bytes.ts"

/** Answers kept per session, and their bytes. */
const MAX_ANSWERS = 1024
const MAX_BYTES = 16 * 1024 * 1024
/** Requests remembered as answered (for msgs_state_req) after their answers were acknowledged. */
const MAX_ANSWERED = 4096

/** One answer as it goes to the client. */
export interface StoredAnswer {
  readonly reqMsgId: bigint
  readonly body: Uint8Array
  readonly msgId: bigint
  readonly seqNo: number
}

/** msgs_state_info flags (core.telegram.org/mtproto/service_messages_about_messages). */
export const STATE = {
  tooLow: 1,
  notReceived: 2,
  tooHigh: 3,
  received: 4,
  /** An RPC query being processed, or processed. */
  query: 32,
  /** Its content-related answer was generated. */
  answered: 64,
} as const

export class Answers {
  private readonly byRequest = new Map<bigint, StoredAnswer>()
  private readonly byMsgId = new Map<bigint, bigint>()
  private readonly running = new Set<bigint>()
  private readonly answered = new Set<bigint>()
  private readonly answeredOrder: Array<bigint> = []
  private bytes = 0

  /** A request began. */
  started(reqMsgId: bigint): void {
    this.running.add(reqMsgId)
  }

  /** A request's answer, with the msg_id and seqno it goes under; kept until acknowledged. */
  finished(answer: StoredAnswer): void {
    this.running.delete(answer.reqMsgId)
    this.remember(answer.reqMsgId)
    this.byRequest.set(answer.reqMsgId, answer)
    this.byMsgId.set(answer.msgId, answer.reqMsgId)
    this.bytes += answer.body.length
    while (this.byRequest.size > MAX_ANSWERS || this.bytes > MAX_BYTES) {
      const oldest = this.byRequest.values().next().value
      if (oldest === undefined) break
      this.drop(oldest)
    }
  }

  /** The client acknowledged these server msg_ids (msgs_ack): their answers are let go. */
  acknowledged(msgIds: Iterable<bigint>): void {
    for (const answer of this.withMsgIds(msgIds)) this.drop(answer)
  }

  /** The kept answer to the request `reqMsgId` (a request sent again). */
  toRequest(reqMsgId: bigint): StoredAnswer | undefined {
    return this.byRequest.get(reqMsgId)
  }

  /** The kept answers among these server msg_ids (msg_resend_req). */
  withMsgIds(msgIds: Iterable<bigint>): Array<StoredAnswer> {
    const out: Array<StoredAnswer> = []
    for (const id of msgIds) {
      const reqMsgId = this.byMsgId.get(id)
      const answer = reqMsgId === undefined ? undefined : this.byRequest.get(reqMsgId)
      if (answer) out.push(answer)
    }
    return out
  }

  /** Every answer not acknowledged yet, oldest first. */
  unacknowledged(): Array<StoredAnswer> {
    return [...this.byRequest.values()]
  }

  /** The query flags of a received message for msgs_state_info: 0 when it was no request seen here. */
  queryState(reqMsgId: bigint): number {
    if (this.running.has(reqMsgId)) return STATE.query
    return this.answered.has(reqMsgId) ? STATE.query | STATE.answered : 0
  }

  /** Lets an answer go, and frees its bytes at once (only this session holds them; see `release`). */
  private drop(answer: StoredAnswer): void {
    this.byRequest.delete(answer.reqMsgId)
    this.byMsgId.delete(answer.msgId)
    this.bytes -= answer.body.length
    release(answer.body)
  }

  private remember(reqMsgId: bigint): void {
    this.answered.add(reqMsgId)
    this.answeredOrder.push(reqMsgId)
    if (this.answeredOrder.length > MAX_ANSWERED) this.answered.delete(this.answeredOrder.shift()!)
  }
}
