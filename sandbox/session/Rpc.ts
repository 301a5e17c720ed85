/** The contract between the sandbox's MTProto session layer and its method handlers: callers, results, errors. */
import { Writer } from "../transport/Bytes.ts"
import type { TlObject } from "../tl/Tl.ts"

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
  /** The key is duplicated and refused: the call answers 406 AUTH_KEY_DUPLICATED. */
  readonly keyDuplicated?: boolean
  /** A temporary key bound to no permanent key: only a few methods are open to it (401 AUTH_KEY_PERM_EMPTY). */
  readonly unboundTempKey?: boolean
  /**
   * Binds the caller's temporary key (auth.bindTempAuthKey, checked by the session layer, which knows the keys, the
   * request's msg_id and session); the refusal's error message, or undefined once bound. None: a caller without keys.
   */
  bindTempKey?(binding: TempKeyBinding): string | undefined
}

/** The arguments of auth.bindTempAuthKey (perm_auth_key_id as an unsigned 64-bit integer, as auth key ids are). */
export interface TempKeyBinding {
  readonly permAuthKeyId: bigint
  readonly nonce: bigint
  readonly expiresAt: number
  readonly encryptedMessage: Uint8Array
}

export type MethodHandler = (request: any, caller: Caller) => RpcResult | Promise<RpcResult>

/** Handlers keyed by GramJS class name, e.g. `"messages.GetHistory"`, `"help.GetConfig"`. */
export type MethodTable = Readonly<Record<string, MethodHandler>>

const BOOL_TRUE = 0x997275b5
const BOOL_FALSE = 0xbc799737

/** Serializes an RpcResult to TL bytes. */
export function serializeResult(result: RpcResult): Uint8Array {
  if (result instanceof RawResult) return result.bytes
  if (typeof result === "boolean") return new Writer(4).uint32(result ? BOOL_TRUE : BOOL_FALSE).finish()
  if (result instanceof IntVector) {
    const w = new Writer().vector(result.values.length)
    for (const v of result.values) result.kind === "int" ? w.int32(v) : w.int64(BigInt(v))
    return w.finish()
  }
  if (Array.isArray(result)) {
    const w = new Writer().vector(result.length)
    for (const item of result as ReadonlyArray<TlObject>) w.raw(item.getBytes())
    return w.finish()
  }
  return (result as TlObject).getBytes()
}
