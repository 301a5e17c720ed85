/** Test support for the method handlers: a world, its method table, fake callers and GramJS requests. */
import { Buffer } from "node:buffer"
import { assert, assertEquals, assertRejects } from "./assert.ts"
import { makeMethods } from "../../methods/Methods.ts"
import type { ChannelInfo, HistoryQuery } from "../../world/Model.ts"
import { type Caller, type MethodTable, RpcFailure, serializeResult } from "../../session/Rpc.ts"
import { Api, fromLong, readObject, toLong } from "../../tl/Tl.ts"
import { historyQuery } from "../../world/History.ts"
import { World } from "../../world/World.ts"

export const DCS = [{ id: 2, host: "127.0.0.1", port: 12_002 }, { id: 4, host: "127.0.0.1", port: 12_004 }]

export class FakeCaller implements Caller {
  readonly layer = 198
  constructor(
    readonly authKeyId: bigint,
    public userId: number | undefined = undefined,
    readonly dcId = 2,
    readonly connectionId = 1,
  ) {}
  authorize(userId: number): void {
    this.userId = userId
  }
}

let nextKey = 1n

export const caller = (userId?: number, dcId = 2) => new FakeCaller(nextKey++, userId, dcId)

export function setup(posts = 600) {
  const world = World.create({ seed: 5, channels: 4, posts })
  const methods = makeMethods({ world, dcs: DCS, mainDc: 2, thisDc: 2 })
  const [broadcast, , , megagroup, secret] = world.channels as [
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
    ChannelInfo,
  ]
  assertEquals(megagroup.kind, "megagroup")
  assert(secret.isPrivate)
  return { world, methods, broadcast, megagroup, secret, accounts: world.accounts }
}

/** Runs a request the way the session layer does: encoded, decoded by GramJS, handled, serialized. */
export async function raw(methods: MethodTable, request: { getBytes(): Buffer; className: string }, who: Caller) {
  const decoded = readObject(request.getBytes()) as any
  const handler = methods[decoded.className]
  assert(handler, `no handler for ${decoded.className}`)
  return serializeResult(await handler(decoded, who))
}

export async function call<T = any>(
  methods: MethodTable,
  request: { getBytes(): Buffer; className: string },
  who: Caller,
) {
  return readObject(await raw(methods, request, who)) as T
}

export async function rejects(code: number, message: string, fn: () => Promise<unknown>): Promise<void> {
  await assertRejects(fn, (error) => {
    assert(error instanceof RpcFailure, `expected an RpcFailure, got ${error}`)
    assertEquals([error.code, error.errorMessage], [code, message])
  })
}

export const inputChannel = (c: ChannelInfo, hash = c.accessHash) =>
  new Api.InputChannel({ channelId: toLong(c.id), accessHash: toLong(hash) })

export const inputPeer = (c: ChannelInfo, hash = c.accessHash) =>
  new Api.InputPeerChannel({ channelId: toLong(c.id), accessHash: toLong(hash) })

export const getHistory = (c: ChannelInfo, q: Partial<HistoryQuery> = {}, peer: Api.TypeInputPeer = inputPeer(c)) => {
  const full = historyQuery(q)
  return new Api.messages.GetHistory({ peer, ...full, hash: toLong(full.hash) })
}

export const ids = (messages: ReadonlyArray<any>) => messages.map((m) => m.id as number)

export const num = (v: any) => Number(fromLong(v))
