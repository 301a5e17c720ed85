/**
 * What keeps the sandbox's memory bounded under load: the history cache takes a page the second time it is asked for
 * and stays within its bounds, a connection's read buffer can be reused (packets are copies), scratch writers never
 * write over bytes they handed out, and acknowledged answers are freed at once.
 */
import { Answers, type StoredAnswer } from "../session/Answers.ts"
import { ByteLru } from "../methods/ByteLru.ts"
import { createHash } from "node:crypto"
import { release, Writer } from "../transport/Bytes.ts"
import { sha256 } from "../transport/Crypto.ts"
import { Framer } from "../transport/Framer.ts"
import { sha256 as sha256Plain } from "../transport/Sha256.ts"
import { assertEquals } from "./support/assert.ts"

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill)

Deno.test("ByteLru: a page is cached the second time it is asked for; a page asked for once is only remembered", () => {
  const lru = new ByteLru(10, 1_000)
  const page = bytes(100)
  lru.set("a", page)
  assertEquals([lru.get("a"), lru.size, lru.byteSize], [undefined, 0, 0], "asked once: not cached")
  lru.set("a", page)
  assertEquals([lru.get("a") === page, lru.size, lru.byteSize], [true, 1, 100], "asked again: cached")
  // Keys asked for once are remembered at most as many as the cache holds: the oldest is forgotten.
  for (let i = 0; i < 11; i++) lru.set(`once${i}`, bytes(10))
  lru.set("once0", bytes(10))
  assertEquals(lru.get("once0"), undefined, "forgotten, so asked once again")
  lru.set("once10", bytes(10))
  assertEquals(lru.get("once10")?.length, 10, "remembered")
})

Deno.test("ByteLru: bounded by entries and by bytes, the least recently used going first", () => {
  const offer = (lru: ByteLru, key: string, value: Uint8Array) => {
    lru.set(key, value)
    lru.set(key, value)
  }
  const byEntries = new ByteLru(3, 1_000_000)
  for (const key of ["a", "b", "c"]) offer(byEntries, key, bytes(10))
  byEntries.get("a")
  offer(byEntries, "d", bytes(10))
  assertEquals(["a", "b", "c", "d"].map((k) => byEntries.get(k) !== undefined), [true, false, true, true])
  const byBytes = new ByteLru(100, 250)
  for (const key of ["a", "b", "c"]) offer(byBytes, key, bytes(100))
  assertEquals([byBytes.size, byBytes.byteSize, byBytes.get("a")], [2, 200, undefined])
})

Deno.test("Framer: every packet is a copy of its own, so the reader may reuse its buffer for the next read", () => {
  const framer = new Framer()
  const read = new Uint8Array(64)
  const feed = (data: ReadonlyArray<number>) => {
    read.set(data)
    return framer.push(read.subarray(0, data.length))
  }
  assertEquals(feed([0xee, 0xee, 0xee, 0xee]), [])
  const first = feed([8, 0, 0, 0, 1, 2, 3, 4, 5, 6])
  const second = feed([7, 8, 8, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9])
  assertEquals([first.map((p) => [...p.bytes]), second.map((p) => [...p.bytes])], [
    [],
    [[1, 2, 3, 4, 5, 6, 7, 8], [9, 9, 9, 9, 9, 9, 9, 9]],
  ])
  read.fill(0)
  assertEquals([...second[0]!.bytes], [1, 2, 3, 4, 5, 6, 7, 8], "unchanged when the read buffer is reused")
  assertEquals(framer.buffered, 0)
})

Deno.test("Framer: a packet that came in many chunks is taken whole, and nothing is kept once it is taken", () => {
  const framer = new Framer()
  const payload = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251)
  const stream = new Writer().uint32(0xeeeeeeee).uint32(payload.length).raw(payload).finish()
  const packets = []
  for (let at = 0; at < stream.length; at += 16_384) {
    packets.push(...framer.push(stream.slice(at, at + 16_384)))
    assertEquals(framer.buffered, packets.length === 0 ? Math.min(at + 16_384, stream.length) - 4 : 0)
  }
  assertEquals([packets.length, packets[0]!.bytes.length, packets[0]!.bytes[250], packets[0]!.bytes[251]], [
    1,
    200_000,
    250,
    0,
  ])
  assertEquals(framer.reserved, 0, "the store the packet needed is let go")
})

Deno.test("Writer: a scratch writer reset after handing out its whole buffer writes into a new one", () => {
  const w = new Writer(8)
  const full = w.int32(1).int32(2).finish()
  assertEquals(full.length, 8)
  w.reset().int32(3).int32(4)
  assertEquals([...full], [1, 0, 0, 0, 2, 0, 0, 0], "the bytes handed out are untouched")
  const partial = w.reset().int32(5).finish()
  w.reset().int32(6)
  assertEquals([...partial], [5, 0, 0, 0], "a copy when the buffer is not full")
})

Deno.test("Answers: an acknowledged answer's bytes are freed at once, not at the next full garbage collection", () => {
  const answers = new Answers()
  const answer: StoredAnswer = { reqMsgId: 4n, body: bytes(50_000), msgId: 5n, seqNo: 1 }
  answers.finished(answer)
  assertEquals(answer.body.length, 50_000)
  answers.acknowledged([5n])
  assertEquals([answer.body.length, answer.body.buffer.byteLength], [0, 0])
})

Deno.test("release: frees a buffer held whole, and leaves alone a view of part of one", () => {
  const whole = bytes(100)
  release(whole)
  assertEquals(whole.length, 0)
  const shared = bytes(100)
  const part = shared.subarray(10, 20)
  release(part)
  assertEquals([part.length, shared.length], [10, 100])
})

Deno.test("sha256: the plain implementation (no native object per call) agrees with node:crypto, parts split anywhere", () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
  // FIPS 180-4's example "abc".
  assertEquals(
    hex(sha256Plain(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  )
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1_000, 8_191, 8_192, 20_000]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)
    const expected = createHash("sha256").update(data).digest("hex")
    const [a, b] = [Math.floor(n / 3), Math.floor((2 * n) / 3) + 1]
    const parts = [data.subarray(0, a), data.subarray(a, Math.min(b, n)), data.subarray(Math.min(b, n))]
    assertEquals([hex(sha256Plain(...parts)), hex(sha256(...parts))], [expected, expected], `${n} bytes`)
  }
})

Deno.test("Writer: strings are written as TL strings of their UTF-8, as TextEncoder encodes them", () => {
  const samples = [
    "",
    "a",
    "café",
    "日本",
    "👍🏽 ok",
    "x".repeat(84),
    "é".repeat(84),
    "y".repeat(300),
    "\ud800 lone",
    "lone \udfff",
  ]
  for (const s of samples) {
    const utf8 = new TextEncoder().encode(s)
    assertEquals([...new Writer(4).string(s).finish()], [...new Writer(4).bytes(utf8).finish()], JSON.stringify(s))
  }
})
