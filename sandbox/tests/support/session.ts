/** Helpers for probing the session layer with a raw client: connecting, common requests, reading answers. */
import { Buffer } from "node:buffer"
import { gunzipSync } from "node:zlib"
import { Api } from "telegram"
import { BinaryReader } from "telegram/extensions/BinaryReader.js"
import { Reader, Writer } from "../../transport/Bytes.ts"
import { authKeyOfSession, RawClient, type ServerMessage } from "../../session/RawClient.ts"
import type { Sandbox } from "../../Sandbox.ts"
import { SERVICE as ID } from "../../session/Service.ts"
import { assertEquals } from "./assert.ts"

/** The msg_id a service answer refers to (bad_msg_id, first_msg_id, req_msg_id: the field after the constructor). */
export const refersTo = (m: ServerMessage): bigint => new Reader(m.body.subarray(4)).int64()

/**
 * A raw client on the main DC with an account's provisioned key (in session `sessionId`, default a new one), its salt
 * learnt from bad_server_salt.
 */
export async function connected(sandbox: Sandbox, account = 0, sessionId?: bigint): Promise<RawClient> {
  const dc = sandbox.descriptor.dcs[0]!
  const session = sandbox.descriptor.accounts[account]!.session
  const client = await RawClient.connect(dc.host, dc.port, authKeyOfSession(session))
  if (sessionId !== undefined) client.sessionId = sessionId
  const probe = client.send(ping(1n))
  const bad = await client.next((m) => m.ctor === ID.badServerSalt && refersTo(m) === probe)
  // bad_server_salt#edab447b bad_msg_id:long bad_msg_seqno:int error_code:int new_server_salt:long
  client.salt = new Reader(bad.body.subarray(20)).int64()
  return client
}

export const ping = (id: bigint) => new Writer().uint32(ID.ping).int64(id).finish()
export const pingDelayDisconnect = (id: bigint, seconds: number) =>
  new Writer().uint32(ID.pingDelayDisconnect).int64(id).int32(seconds).finish()
export const nearestDc = () => new Api.help.GetNearestDc().getBytes()

/** The req_msg_id and result of an rpc_result (the result inflated when it came gzip_packed). */
export function rpcResult(m: ServerMessage): { reqMsgId: bigint; gzipped: boolean; result: Uint8Array } {
  const r = new Reader(m.body)
  assertEquals(r.uint32(), ID.rpcResult, "an rpc_result")
  const reqMsgId = r.int64()
  const rest = r.raw(r.remaining)
  if (new Reader(rest).uint32() !== ID.gzipPacked) return { reqMsgId, gzipped: false, result: rest }
  return { reqMsgId, gzipped: true, result: gunzipSync(new Reader(rest.subarray(4)).bytes()) }
}

export const answerTo = (msgId: bigint) => (m: ServerMessage) => m.ctor === ID.rpcResult && refersTo(m) === msgId

/** GramJS's own decoding of a TL object. */
export const decode = (bytes: Uint8Array): any => new BinaryReader(Buffer.from(bytes)).tgReadObject()

/** The error code of the bad_msg_notification `client` gets for its message `msgId`. */
export async function badMsgCode(client: RawClient, msgId: bigint): Promise<number> {
  const m = await client.next((m) => m.ctor === ID.badMsgNotification && refersTo(m) === msgId)
  // bad_msg_notification#a7eff811 bad_msg_id:long bad_msg_seqno:int error_code:int
  return new Reader(m.body.subarray(16)).int32()
}
