/** A request's rpc_result (gzip_packed when that is smaller, or an rpc_error), and inflating gzip_packed messages. */
import { gzipSync, unzipSync } from "node:zlib"
import { tlBytesLength, Writer } from "../transport/Bytes.ts"
import type { Answer } from "./Dispatch.ts"
import { ProtocolError } from "./ProtocolError.ts"
import { SERVICE as ID } from "./Service.ts"

/** `rpc_result req_msg_id result`: the answer (gzip_packed from `gzipThreshold` bytes, 0: never), or an rpc_error. */
export function rpcResult(reqMsgId: bigint, answer: Answer, gzipThreshold: number): Uint8Array {
  if ("ok" in answer) {
    let result = answer.ok
    if (gzipThreshold > 0 && result.length >= gzipThreshold) result = gzipPacked(result)
    // Written once, into a buffer of its exact size (no copy of the result besides).
    return new Writer(12 + result.length).uint32(ID.rpcResult).int64(reqMsgId).raw(result).finish()
  }
  const message = new TextEncoder().encode(answer.message)
  return new Writer(20 + tlBytesLength(message.length)).uint32(ID.rpcResult).int64(reqMsgId).uint32(ID.rpcError)
    .int32(answer.code).bytes(message).finish()
}

/** Cached answers come back as the same bytes object, so their gzip_packed form is cached beside them. */
const packedCache = new WeakMap<Uint8Array, Uint8Array>()

/** The gzip_packed form of `result` when that is smaller, else `result` itself. */
function gzipPacked(result: Uint8Array): Uint8Array {
  let packed = packedCache.get(result)
  if (!packed) {
    const deflated = gzipSync(result)
    const gz = new Writer(4 + tlBytesLength(deflated.length)).uint32(ID.gzipPacked).bytes(deflated).finish()
    packed = gz.length < result.length ? gz : result
    packedCache.set(result, packed)
  }
  return packed
}

/**
 * The most a gzip_packed message may inflate to: what the sandbox accepts as one packet (Telegram publishes no limit;
 * the sandbox's is generous). Inflating stops there, so a small "bomb" costs neither memory nor time.
 */
export const MAX_UNPACKED = 8 * 1024 * 1024

/** Inflates gzip_packed data; accepts gzip and zlib framing; throws ProtocolError past MAX_UNPACKED bytes. */
export function inflate(data: Uint8Array): Uint8Array {
  try {
    return unzipSync(data, { maxOutputLength: MAX_UNPACKED })
  } catch (error) {
    const code = (error as { readonly code?: unknown }).code
    if (code === "ERR_BUFFER_TOO_LARGE") {
      throw new ProtocolError(`gzip_packed data inflates past ${MAX_UNPACKED} bytes`)
    }
    throw new ProtocolError(`Bad gzip_packed data: ${error instanceof Error ? error.message : String(error)}`)
  }
}
