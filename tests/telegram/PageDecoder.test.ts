/**
 * Page decoding off the connection's thread: GramJS's longs read by the buffer and its answers inflated by node:zlib
 * give what GramJS's own code gives; a getHistory answer's bytes decode to the page the decoded answer normalizes to, inline and on the workers;
 * undecodable bytes fail that page only; a closed decoder fails what it holds.
 */
import { Api } from "telegram"
import { BinaryReader } from "telegram/extensions/BinaryReader.js"
import { Buffer } from "node:buffer"
import { renderMessage, World } from "@tgpulse/sandbox"
import { readLongOriginal, ungzipOriginal } from "../../src/telegram/FastPaths.ts"
import { GZIPPacked } from "telegram/tl/core/GZIPPacked.js"
import { gzipSync } from "node:zlib"
import { historyPage } from "../../src/telegram/Normalize.ts"
import { inlineDecoder, startPageDecoder } from "../../src/telegram/PageDecoder.ts"
import { RawHistoryRequest } from "../../src/telegram/PageDecoding.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { historyQuery } from "../support/world.ts"

const world = World.create({ seed: 11, channels: 2, posts: 600 })
const channel = world.channels.find((c) => !c.isPrivate)!

/** The bytes of a messages.channelMessages answer holding the world's page below `offsetId`. */
function answerBytes(offsetId: number): Uint8Array<ArrayBuffer> {
  const page = world.history(channel.id, historyQuery({ offsetId }))
  const answer = new Api.messages.ChannelMessages({
    pts: 77,
    count: page.count,
    offsetIdOffset: page.offsetIdOffset,
    messages: page.posts.map(renderMessage),
    topics: [],
    chats: [],
    users: [],
  })
  return new Uint8Array(answer.getBytes())
}

/** The page as GramJS decodes the answer on the calling thread, then normalizes it. */
const expected = (bytes: Uint8Array) => historyPage(new BinaryReader(Buffer.from(bytes)).tgReadObject(), channel.id)

Deno.test("FastPaths reads every long as GramJS's own reader does, and fails past the end as it does", () => {
  assert(BinaryReader.prototype.readLong !== readLongOriginal, "the fast reader is installed")
  const values = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 7n, 0x1234_5678_9abc_def0n]
  for (let i = 0; i < 200; i++) values.push(BigInt.asIntN(64, BigInt(Math.floor(Math.random() * 2 ** 52)) << 12n))
  const buffer = Buffer.alloc(8 * values.length)
  values.forEach((v, i) => buffer.writeBigInt64LE(v, 8 * i))
  for (const signed of [true, false]) {
    const fast = new BinaryReader(buffer)
    const slow = new BinaryReader(buffer)
    for (const v of values) {
      const a = fast.readLong(signed)
      const b = readLongOriginal.call(slow as never, signed)
      assertEquals(a.toString(), b.toString())
      assertEquals(a.toString(), (signed ? v : BigInt.asUintN(64, v)).toString())
    }
  }
  const short = new BinaryReader(Buffer.alloc(4))
  let message = ""
  try {
    short.readLong()
  } catch (e) {
    message = (e as Error).message
  }
  assert(message.startsWith("No more data left to read"), message)
})

Deno.test("FastPaths inflates a gzip-packed answer to the bytes GramJS's own inflate gives", () => {
  const bytes = answerBytes(0)
  const gzipped = gzipSync(bytes)
  const fast = (GZIPPacked as unknown as { ungzip(b: Buffer): Buffer }).ungzip(gzipped)
  assert(fast.length > 10_000)
  assertEquals(Buffer.compare(fast, ungzipOriginal(gzipped)), 0)
  assertEquals(Buffer.compare(fast, Buffer.from(bytes)), 0)
})

Deno.test("RawHistoryRequest hands its answer over as bytes GramJS did not decode", () => {
  const bytes = answerBytes(0)
  const raw = new RawHistoryRequest({ offsetId: 0, limit: 100 } as never).readResult(
    new BinaryReader(Buffer.from(bytes)),
  )
  assertEquals([...raw.bytes], [...bytes])
  assert(raw.bytes.buffer.byteLength === bytes.byteLength, "the bytes own their buffer (transferable alone)")
  assert(!("length" in raw), "not array-like: GramJS's entity cache must not walk it")
})

Deno.test("PageDecoder decodes on the calling thread what GramJS decodes and normalizes", async () => {
  const bytes = answerBytes(0)
  const page = await inlineDecoder.history(bytes.slice(), channel.id)
  assertEquals(page, expected(bytes))
  assertEquals(page.posts.length, 100)
  assertEquals(page.pts, 77)
})

Deno.test("PageDecoder's workers decode pages in parallel, each answer to its own page", async () => {
  const decoder = startPageDecoder(2)
  try {
    assertEquals(await decoder.started(), 2)
    const answers = [0, 500, 400, 300, 200, 100].map(answerBytes)
    const wanted = answers.map(expected)
    const pages = await Promise.all(answers.map((a) => decoder.history(a, channel.id)))
    assertEquals(pages, wanted)
    assert(answers.every((a) => a.byteLength === 0), "the bytes were transferred, not copied")
    assertEquals(new Set(pages.map((p) => p.ids[0])).size, 6)
  } finally {
    decoder.close()
  }
})

Deno.test("PageDecoder: undecodable bytes fail their page with a clear error; the worker goes on; close fails the rest", async () => {
  const decoder = startPageDecoder(1)
  let closedError = ""
  try {
    assertEquals(await decoder.started(), 1)
    const garbage = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const failed = await decoder.history(garbage, channel.id).then(() => "", (e: Error) => e.message)
    assert(failed.startsWith("could not decode a history page:"), failed)
    const good = answerBytes(300)
    const wanted = expected(good)
    assertEquals(await decoder.history(good, channel.id), wanted)
  } finally {
    decoder.close()
    closedError = await decoder.history(answerBytes(0), channel.id).then(() => "", (e: Error) => e.message)
  }
  assertEquals(closedError, "the page decoder is closed")
})

Deno.test("PageDecoder: pages wait for no worker: decoded on this thread until one is ready, and when none can start", async () => {
  const starting = startPageDecoder(1)
  const broken = startPageDecoder(1, new URL("./NoSuchDecodeWorker.ts", import.meta.url))
  try {
    // The worker is still loading GramJS: this page is decoded here, its bytes stay here.
    const early = answerBytes(500)
    assertEquals(await starting.history(early, channel.id), expected(early))
    assert(early.byteLength > 0, "decoded on this thread: its bytes were not transferred")
    assertEquals(await broken.started(), 0)
    const late = answerBytes(200)
    assertEquals(await broken.history(late, channel.id), expected(late))
    assert(late.byteLength > 0, "no worker started: decoded on this thread")
  } finally {
    starting.close()
    broken.close()
  }
})
