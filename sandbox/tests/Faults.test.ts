/** Tests of the sandbox's fault injection and of its in-memory request log. */
import type { LogEntry } from "../control/Control.ts"
import { Faults } from "../control/Faults.ts"
import { MemoryRequestLog } from "../control/RequestLog.ts"
import { assertEquals, assertThrows } from "./support/assert.ts"

const GH = "messages.GetHistory"
const GM = "channels.GetMessages"

Deno.test("Faults: nothing by default", () => {
  const faults = new Faults()
  assertEquals(faults.list(), [])
  assertEquals(faults.latency(GH), 0)
  assertEquals(faults.takeError(GH, 1), undefined)
  assertEquals(faults.authFault(1), undefined)
})

Deno.test("Faults: latency adds the global faults and those of the method", () => {
  const faults = new Faults()
  faults.add({ _tag: "Latency", ms: 100 })
  faults.add({ _tag: "Latency", ms: 30, method: GH })
  faults.add({ _tag: "Latency", ms: 5, method: GH })
  faults.add({ _tag: "Latency", ms: 1000, method: GM })
  assertEquals(faults.latency(GH), 135)
  assertEquals(faults.latency(GM), 1100)
  assertEquals(faults.latency("help.GetConfig"), 100)
  assertEquals(faults.latency(GH), 135, "latency faults are never used up")
})

Deno.test("Faults: rpc errors answer the next `times` matching calls, then disappear", () => {
  const faults = new Faults()
  faults.add({ _tag: "RpcError", method: GH, code: 500, message: "INTERNAL", times: 2 })
  assertEquals(faults.takeError(GM, 1), undefined, "another method")
  assertEquals(faults.list(), [{ _tag: "RpcError", method: GH, code: 500, message: "INTERNAL", times: 2 }])
  assertEquals(faults.takeError(GH, 1), { code: 500, message: "INTERNAL" })
  assertEquals(faults.list(), [{ _tag: "RpcError", method: GH, code: 500, message: "INTERNAL", times: 1 }])
  assertEquals(faults.takeError(GH, undefined), { code: 500, message: "INTERNAL" })
  assertEquals(faults.list(), [])
  assertEquals(faults.takeError(GH, 1), undefined)
})

Deno.test('Faults: rpc errors are consumed in insertion order; "*" matches every method', () => {
  const faults = new Faults()
  faults.add({ _tag: "RpcError", method: "*", code: 420, message: "FLOOD_WAIT_3", times: 1 })
  faults.add({ _tag: "RpcError", method: GH, code: 400, message: "CHANNEL_INVALID", times: 1 })
  faults.add({ _tag: "RpcError", method: GH, code: 500, message: "RPC_CALL_FAIL", times: 1 })
  assertEquals(faults.takeError(GH, 1), { code: 420, message: "FLOOD_WAIT_3" })
  assertEquals(faults.takeError(GH, 1), { code: 400, message: "CHANNEL_INVALID" })
  assertEquals(faults.takeError(GM, 1), undefined)
  assertEquals(faults.takeError(GH, 1), { code: 500, message: "RPC_CALL_FAIL" })
  assertEquals(faults.takeError(GH, 1), undefined)
})

Deno.test("Faults: an rpc error with userId only hits that account", () => {
  const faults = new Faults()
  faults.add({ _tag: "RpcError", method: GH, code: 401, message: "SESSION_REVOKED", times: 1, userId: 5 })
  faults.add({ _tag: "RpcError", method: GH, code: 500, message: "INTERNAL", times: 1 })
  assertEquals(faults.takeError(GH, undefined), { code: 500, message: "INTERNAL" }, "unauthorized call skips it")
  assertEquals(faults.takeError(GH, 6), undefined)
  assertEquals(faults.takeError(GH, 5), { code: 401, message: "SESSION_REVOKED" })
  assertEquals(faults.list(), [])
})

Deno.test("Faults: revoked and duplicated keys", () => {
  const faults = new Faults()
  faults.add({ _tag: "RevokeKey", userId: 1 })
  faults.add({ _tag: "DuplicateKey", userId: 2 })
  assertEquals(faults.authFault(1), { code: 401, message: "AUTH_KEY_UNREGISTERED" })
  assertEquals(faults.authFault(2), { code: 406, message: "AUTH_KEY_DUPLICATED" })
  assertEquals(faults.authFault(3), undefined)
  assertEquals(faults.authFault(1), { code: 401, message: "AUTH_KEY_UNREGISTERED" }, "auth faults stay")
  assertEquals(faults.takeError(GH, 1), undefined, "auth faults are not rpc errors")
  assertEquals(faults.latency(GH), 0)
  assertEquals(faults.list(), [{ _tag: "RevokeKey", userId: 1 }, { _tag: "DuplicateKey", userId: 2 }])
})

Deno.test("Faults: a bad key exchange spoils the next `times` exchanges, then wears out", () => {
  const faults = new Faults()
  assertEquals(faults.takeKeyExchangeFault(), false)
  faults.add({ _tag: "BadKeyExchange", times: 2 })
  faults.add({ _tag: "RpcError", method: GH, code: 500, message: "X", times: 1 })
  assertEquals(faults.takeKeyExchangeFault(), true)
  assertEquals(faults.list()[0], { _tag: "BadKeyExchange", times: 1 })
  assertEquals(faults.takeKeyExchangeFault(), true)
  assertEquals(faults.takeKeyExchangeFault(), false)
  assertEquals(faults.takeError(GH, 1), { code: 500, message: "X" }, "the rpc error fault is untouched")
  assertEquals(faults.list(), [])
})

Deno.test("Faults: clear removes everything; list returns copies", () => {
  const faults = new Faults()
  const fault = { _tag: "RpcError", method: GH, code: 500, message: "X", times: 3 } as const
  faults.add(fault)
  faults.add({ _tag: "Latency", ms: 10 })
  faults.takeError(GH, 1)
  assertEquals(fault.times, 3, "the caller's object is not changed")
  assertEquals(faults.list().length, 2)
  faults.clear()
  assertEquals(faults.list(), [])
  assertEquals(faults.latency(GH), 0)
})

const entry = (method: string, at = 0): Omit<LogEntry, "seq"> => ({
  at,
  dcId: 2,
  userId: 1,
  method,
  params: { limit: 100 },
  outcome: "ok",
  ms: 1,
})

Deno.test("MemoryRequestLog: numbers entries from 1 and filters by seq and method", () => {
  const log = new MemoryRequestLog()
  assertEquals(log.lastSeq, 0)
  assertEquals(log.since(0), [])
  log.append(entry(GH, 10))
  log.append(entry(GM, 11))
  log.append(entry(GH, 12))
  assertEquals(log.lastSeq, 3)
  assertEquals(log.since(0).map((e) => e.seq), [1, 2, 3])
  assertEquals(log.since(1).map((e) => e.seq), [2, 3])
  assertEquals(log.since(3), [])
  assertEquals(log.since(0, GH).map((e) => [e.seq, e.at]), [[1, 10], [3, 12]])
  assertEquals(log.since(0, "help.GetConfig"), [])
  assertEquals(log.since(0)[1], { seq: 2, ...entry(GM, 11) })
})

Deno.test("MemoryRequestLog: keeps the last `capacity` entries", () => {
  const log = new MemoryRequestLog(3)
  for (let i = 1; i <= 10; i++) log.append(entry(i % 2 ? GH : GM, i))
  assertEquals(log.lastSeq, 10)
  assertEquals(log.length, 3)
  assertEquals(log.since(0).map((e) => e.seq), [8, 9, 10])
  assertEquals(log.since(8).map((e) => e.seq), [9, 10])
  assertEquals(log.since(0, GH).map((e) => e.seq), [9])
  assertEquals(log.since(100), [])
  assertThrows(() => new MemoryRequestLog(0))
})

Deno.test("MemoryRequestLog: clear empties the buffer, seq keeps growing", () => {
  const log = new MemoryRequestLog(4)
  for (let i = 0; i < 6; i++) log.append(entry(GH))
  log.clear()
  assertEquals(log.since(0), [])
  assertEquals(log.lastSeq, 6)
  log.append(entry(GM))
  assertEquals(log.since(0).map((e) => [e.seq, e.method]), [[7, GM]])
  assertEquals(log.since(6).length, 1)
})
