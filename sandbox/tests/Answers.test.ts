/** A session's kept answers: let go when acknowledged, bounded by count and bytes, and the query flags they give. */
import { Answers, STATE, type StoredAnswer } from "../session/Answers.ts"
import { assertEquals } from "./support/assert.ts"

const answer = (n: number, bytes = 16): StoredAnswer => ({
  reqMsgId: BigInt(n) * 4n,
  body: new Uint8Array(bytes),
  msgId: BigInt(n) * 4n + 1n,
  seqNo: n * 2 + 1,
})

Deno.test("Answers: kept until acknowledged; found by request or by their own msg_id; flags for msgs_state_req", () => {
  const answers = new Answers()
  answers.started(4n)
  assertEquals(answers.queryState(4n), STATE.query, "running")
  answers.finished(answer(1))
  answers.finished(answer(2))
  assertEquals(answers.queryState(4n), STATE.query | STATE.answered)
  assertEquals(answers.queryState(400n), 0, "no request seen here")
  assertEquals(answers.toRequest(8n)?.msgId, 9n)
  assertEquals(answers.withMsgIds([5n, 77n]).map((a) => a.reqMsgId), [4n])
  answers.acknowledged([5n])
  assertEquals(answers.unacknowledged().map((a) => a.reqMsgId), [8n])
  assertEquals(answers.queryState(4n), STATE.query | STATE.answered, "still answered once acknowledged")
})

Deno.test("Answers: past 1,024 answers or 16 MB, the oldest go first", () => {
  const byCount = new Answers()
  for (let n = 1; n <= 1_030; n++) byCount.finished(answer(n))
  const kept = byCount.unacknowledged()
  assertEquals([kept.length, kept[0]!.reqMsgId], [1_024, 7n * 4n])
  const byBytes = new Answers()
  for (let n = 1; n <= 5; n++) byBytes.finished(answer(n, 5 * 1024 * 1024))
  assertEquals(byBytes.unacknowledged().map((a) => a.reqMsgId), [3n * 4n, 4n * 4n, 5n * 4n])
})
