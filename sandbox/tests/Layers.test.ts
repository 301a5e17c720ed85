/**
 * Other API layers: a client announcing layer 223 is answered in it. mtcute's own layer-223 codec (its published
 * schema's generated reader and writer, `@mtcute/tl`) writes the requests and reads the answers and pushes, so what is
 * checked is what a layer-223 client sees, not what the sandbox's own translation thinks it wrote.
 */
import Long from "long"
import { TlBinaryReader, TlBinaryWriter } from "@mtcute/tl-runtime"
import { __tlReaderMap } from "@mtcute/tl/binary/reader.js"
import { __tlWriterMap } from "@mtcute/tl/binary/writer.js"
import { Api } from "telegram"
import { KNOWN_LAYERS, loadSchema, requestToOwn, servedLayer } from "../tl/Layers.ts"
import { LAYER, readObject } from "../tl/Tl.ts"
import { SERVICE as ID } from "../session/Service.ts"
import { Reader } from "../transport/Bytes.ts"
import type { RawClient } from "../session/RawClient.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { sandboxTest, startSandbox } from "./support/sandbox.ts"
import { answerTo, connected, decode, rpcResult } from "./support/session.ts"

// deno-lint-ignore no-explicit-any
type Tl = any

const write223 = (obj: Tl): Uint8Array => TlBinaryWriter.serializeObject(__tlWriterMap, obj)
const read223 = (bytes: Uint8Array): Tl => new TlBinaryReader(__tlReaderMap, bytes).object()

/** `query` wrapped as a layer-`layer` client sends its first call on a connection. */
function withLayer(layer: number, query: Tl, apiId = 0): Tl {
  return {
    _: "invokeWithLayer",
    layer,
    query: {
      _: "initConnection",
      apiId,
      deviceModel: "test",
      systemVersion: "1",
      appVersion: "1",
      systemLangCode: "en",
      langPack: "",
      langCode: "en",
      query,
    },
  }
}

/** Sends `body` and returns the result bytes of its answer (or throws with the rpc_error it got). */
async function call(client: RawClient, body: Uint8Array): Promise<Uint8Array> {
  const msgId = client.send(body)
  const { result } = rpcResult(await client.next(answerTo(msgId)))
  const r = new Reader(result)
  if (r.uint32() === ID.rpcError) throw new Error(`${r.int32()} ${new TextDecoder().decode(r.bytes())}`)
  return result
}

async function rpcErrorOf(client: RawClient, body: Uint8Array): Promise<string> {
  try {
    await call(client, body)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error("an rpc_error expected")
}

Deno.test("the layer served: known ones as announced, newer ones in the newest, older than all refused", () => {
  assertEquals(KNOWN_LAYERS, [LAYER, 223])
  assertEquals(servedLayer(0), LAYER)
  assertEquals(servedLayer(LAYER), LAYER)
  assertEquals(servedLayer(223), 223)
  assertEquals(servedLayer(227), 223)
  assertEquals(servedLayer(210), LAYER)
  assertEquals(servedLayer(LAYER - 1), undefined)
})

Deno.test("the sandbox's own schema is GramJS's: its ids are the ones GramJS writes", async () => {
  const own = await loadSchema(LAYER)
  const pairs: ReadonlyArray<readonly [string, { readonly CONSTRUCTOR_ID: number }]> = [
    ["message", Api.Message],
    ["channel", Api.Channel],
    ["user", Api.User],
    ["config", Api.Config],
    ["messages.getHistory", Api.messages.GetHistory],
    ["initConnection", Api.InitConnection],
  ]
  for (const [name, cls] of pairs) assertEquals(own.byName.get(name)?.id, cls.CONSTRUCTOR_ID, name)
})

Deno.test("a layer-223 request is read into the sandbox's layer, wrappers and all", async () => {
  const schema = await loadSchema(223)
  const peer = { _: "inputPeerChannel", channelId: 1000001, accessHash: Long.fromString("-4242") }
  const history = {
    _: "messages.getHistory",
    peer,
    offsetId: 500,
    offsetDate: 0,
    addOffset: 0,
    limit: 50,
    maxId: 0,
    minId: 0,
    hash: Long.ZERO,
  }
  const translated = requestToOwn(write223(withLayer(223, history)), schema)
  assertEquals(translated.method, "messages.getHistory")
  const request = readObject(translated.bytes) as Api.InvokeWithLayer
  assertEquals(request.layer, 223)
  const inner = (request.query as Api.InitConnection).query as Api.messages.GetHistory
  assert(inner instanceof Api.messages.GetHistory, "messages.GetHistory inside")
  assertEquals([inner.offsetId, inner.limit], [500, 50])
  const p = inner.peer as Api.InputPeerChannel
  assertEquals([p.channelId.toString(), p.accessHash.toString()], ["1000001", "-4242"])
})

sandboxTest("a client announcing layer 223 reads its answers and pushes with layer 223's own reader", async () => {
  const sandbox = await startSandbox({ channels: 2, posts: 300 })
  const client = await connected(sandbox)
  const gram = await connected(sandbox, 0)
  try {
    const config = read223(
      await call(client, write223(withLayer(223, { _: "help.getConfig" }, sandbox.descriptor.apiId))),
    )
    assertEquals(config._, "config")
    assertEquals(config.thisDc, sandbox.descriptor.mainDc)
    assert(config.dcOptions.length >= sandbox.descriptor.dcs.length, "every DC advertised")

    const channel = sandbox.descriptor.channels.find((c) => c.kind === "broadcast" && !c.private)!
    const peer = { _: "inputPeerChannel", channelId: channel.id, accessHash: Long.fromString(channel.accessHash) }
    const page = { offsetId: 0, offsetDate: 0, addOffset: 0, limit: 100, maxId: 0, minId: 0 }
    const theirs = read223(await call(client, write223({ _: "messages.getHistory", peer, ...page, hash: Long.ZERO })))
    // The same page as the sandbox's own layer gives it, read by GramJS.
    const ours = decode(
      await call(
        gram,
        new Api.messages.GetHistory({
          peer: new Api.InputPeerChannel({ channelId: channel.id as never, accessHash: channel.accessHash as never }),
          ...page,
          hash: 0 as never,
        }).getBytes(),
      ),
    ) as Api.messages.ChannelMessages
    assertEquals(theirs._, "messages.channelMessages")
    assertEquals(theirs.count, ours.count)
    const mine = (ours.messages as Array<Api.Message>).map((
      m,
    ) => [m.id, m.message, m.views, m.date, m.media?.className])
    const got = theirs.messages.map((m: Tl) => [m.id, m.message, m.views, m.date, m.media?._])
    assertEquals(got.length, mine.length)
    for (let i = 0; i < got.length; i++) {
      assertEquals(got[i].slice(0, 4), mine[i]!.slice(0, 4), `post ${mine[i]![0]}`)
      const kind = mine[i]![4] as string | undefined
      assertEquals(got[i][4], kind && kind.charAt(0).toLowerCase() + kind.slice(1), `media of post ${mine[i]![0]}`)
    }
    assertEquals(theirs.chats[0]._, "channel")
    assertEquals(theirs.chats[0].title, channel.title)

    // A new post reaches the layer-223 session as an Updates its own reader reads.
    sandbox.world.publish(channel.id, 1)
    const pushed = await client.next((m) => m.ctor === 0x74ae4240)
    const updates = read223(pushed.body)
    const update = updates.updates.find((u: Tl) => u._ === "updateNewChannelMessage")
    assertEquals(update?.message?.id, sandbox.world.nthNewest(channel.id, 0))
    assert(updates.chats.some((c: Tl) => c._ === "channel" && c.id === channel.id), "the channel comes with it")
  } finally {
    await client.close()
    await gram.close()
    await sandbox.stop()
  }
})

sandboxTest("a layer older than any the sandbox knows is refused; a newer one is answered in layer 223", async () => {
  const sandbox = await startSandbox({ channels: 1, posts: 10 })
  const client = await connected(sandbox)
  try {
    assertEquals(
      await rpcErrorOf(client, write223(withLayer(150, { _: "help.getNearestDc" }, sandbox.descriptor.apiId))),
      "400 CONNECTION_LAYER_INVALID",
    )
    const nearest = read223(
      await call(client, write223(withLayer(230, { _: "help.getNearestDc" }, sandbox.descriptor.apiId))),
    )
    assertEquals([nearest._, nearest.thisDc], ["nearestDc", sandbox.descriptor.mainDc])
  } finally {
    await client.close()
    await sandbox.stop()
  }
})
