/** The contract between the sandbox's MTProto session layer and its method handlers: callers, results, errors. */
import { Buffer } from "node:buffer"
import type { TlObject } from "./Tl.ts"

/** An rpc_error answer: `throw new RpcFailure(400, "CHANNEL_INVALID")` from any handler. */
export class RpcFailure extends Error {
  constructor(readonly code: number, readonly errorMessage: string) {
    super(`${code} ${errorMessage}`)
  }
}

/** Throws the rpc_error `code message` from a handler. */
export function fail(code: number, message: string): never {
  throw new RpcFailure(code, message)
}

/** Raw bytes already in TL form (for cached, pre-serialized answers). */
export class RawResult {
  constructor(readonly bytes: Uint8Array) {}
}

/** A `Vector<long>` / `Vector<int>` answer (bare numbers inside a boxed vector). */
export class IntVector {
  constructor(readonly values: ReadonlyArray<number>, readonly kind: "int" | "long" = "int") {}
}

/** What a handler may return: a TL object, a Bool, a boxed vector of results, or raw TL bytes. */
export type RpcResult = TlObject | boolean | RawResult | IntVector | ReadonlyArray<TlObject>

/** Who is calling: one MTProto session on one connection of one DC. */
export interface Caller {
  readonly dcId: number
  readonly connectionId: number
  /** auth_key_id as an unsigned 64-bit integer. */
  readonly authKeyId: bigint
  /** The user this auth key is authorized as, if any. */
  readonly userId: number | undefined
  /** Authorizes this auth key as `userId` (after auth.signIn / auth.checkPassword / auth.importAuthorization). */
  authorize(userId: number): void
  /** Layer announced by invokeWithLayer (0 if none yet). */
  readonly layer: number
}

export type MethodHandler = (request: any, caller: Caller) => RpcResult | Promise<RpcResult>

/** Handlers keyed by GramJS class name, e.g. `"messages.GetHistory"`, `"help.GetConfig"`. */
export type MethodTable = Readonly<Record<string, MethodHandler>>

const VECTOR = 0x1cb5c415
const BOOL_TRUE = 0x997275b5
const BOOL_FALSE = 0xbc799737

/** Serializes an RpcResult to TL bytes. */
export function serializeResult(result: RpcResult): Uint8Array {
  if (result instanceof RawResult) return result.bytes
  if (typeof result === "boolean") {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(result ? BOOL_TRUE : BOOL_FALSE, 0)
    return b
  }
  if (result instanceof IntVector) {
    const size = result.kind === "int" ? 4 : 8
    const b = Buffer.alloc(8 + size * result.values.length)
    b.writeUInt32LE(VECTOR, 0)
    b.writeInt32LE(result.values.length, 4)
    result.values.forEach((v, i) => {
      if (size === 4) b.writeInt32LE(v, 8 + i * 4)
      else b.writeBigInt64LE(BigInt(v), 8 + i * 8)
    })
    return b
  }
  if (Array.isArray(result)) {
    const head = Buffer.alloc(8)
    head.writeUInt32LE(VECTOR, 0)
    head.writeInt32LE(result.length, 4)
    return Buffer.concat([head, ...result.map((item: TlObject) => item.getBytes())])
  }
  return (result as TlObject).getBytes()
}
