/** Turns one decoded API request into an answer: wrappers, authorization, faults, flood budgets, the request log. */
import type { KeyWatch } from "../control/KeyWatch.ts"
import type { FaultControl, FloodControl, RequestLog } from "../control/Control.ts"
import type { SessionCaller } from "./Dc.ts"
import type { WorldApi } from "../world/Model.ts"
import { type MethodTable, RpcFailure, serializeResult } from "./Rpc.ts"
import { UNBOUND_TEMP_KEY_METHODS } from "./TempKeys.ts"
import { Api, LAYER, readObject } from "../tl/Tl.ts"
import { answerFromOwn, LayerError, loadSchema, requestToOwn, servedLayer } from "../tl/Layers.ts"
import type { TlSchema } from "../tl/Schema.ts"

export type Answer = { readonly ok: Uint8Array } | { readonly code: number; readonly message: string }

export interface DispatchOptions {
  readonly dcId: number
  readonly apiId: number
  readonly world: WorldApi
  readonly methods: MethodTable
  /** Whether an unauthorized key may call the method. */
  readonly allowedBeforeLogin: (method: string) => boolean
  readonly flood: FloodControl
  readonly faults: FaultControl
  /** Counts the calls refused as AUTH_KEY_DUPLICATED. */
  readonly keys: KeyWatch
  readonly log: RequestLog
  nowMs(): number
  sleep(ms: number): Promise<void>
  onInternalError(method: string, error: unknown): void
}

/** Home DC of a test phone: Telegram's test numbers are 99966XYYYY, X being the DC. */
export function homeDcOfPhone(phone: string): number | undefined {
  const m = /^\+?99966(\d)\d{4}$/.exec(phone)
  return m ? Number(m[1]) : undefined
}

const PHONE_METHODS: ReadonlySet<string> = new Set(["auth.SendCode", "auth.SignIn", "auth.ResendCode"])

export function makeDispatcher(
  options: DispatchOptions,
): (bytes: Uint8Array, caller: SessionCaller) => Promise<Answer> {
  const { methods, faults, flood, log } = options
  return async (bytes, caller) => {
    const started = options.nowMs()
    // A client on another layer: its request is read in that layer, and its answer written in it.
    const announced = announcedLayer(bytes) ?? caller.layer
    const served = servedLayer(announced)
    if (served === undefined) return { code: 400, message: "CONNECTION_LAYER_INVALID" }
    let theirs: { readonly schema: TlSchema; readonly method: string } | undefined
    let request: any
    try {
      if (served !== LAYER) {
        const schema = await loadSchema(served)
        const translated = requestToOwn(bytes, schema)
        theirs = { schema, method: translated.method }
        bytes = translated.bytes
      }
      request = readObject(bytes)
    } catch {
      log.append({
        at: started,
        dcId: options.dcId,
        userId: caller.userId,
        method: "unknown",
        params: {},
        outcome: "INPUT_METHOD_INVALID",
        ms: 0,
      })
      return { code: 400, message: "INPUT_METHOD_INVALID" }
    }
    // Unwrap invokeWithLayer / initConnection / invokeWithoutUpdates / invokeAfterMsg(s).
    let apiIdError = false
    let withoutUpdates = false
    for (;;) {
      if (request instanceof Api.InvokeWithLayer) {
        caller.layer = request.layer
        request = request.query
      } else if (request instanceof Api.InitConnection) {
        if (request.apiId !== options.apiId) apiIdError = true
        request = request.query
      } else if (request instanceof Api.InvokeWithoutUpdates) {
        withoutUpdates = true
        request = request.query
      } else if (request instanceof Api.InvokeAfterMsg || request instanceof Api.InvokeAfterMsgs) {
        request = request.query
      } else break
    }
    const method: string = request?.className ?? "unknown"
    if (!withoutUpdates) caller.wantsUpdates()
    const finish = (outcome: string) =>
      log.append({
        at: started,
        dcId: options.dcId,
        userId: caller.userId,
        method,
        params: summarize(request),
        outcome,
        ms: options.nowMs() - started,
      })
    const fail = (code: number, message: string): Answer => {
      finish(message)
      return { code, message }
    }
    if (apiIdError) return fail(400, "API_ID_INVALID")
    if (caller.unboundTempKey && !UNBOUND_TEMP_KEY_METHODS.has(method)) return fail(401, "AUTH_KEY_PERM_EMPTY")
    const userId = caller.userId
    if (userId === undefined && !options.allowedBeforeLogin(method)) return fail(401, "AUTH_KEY_UNREGISTERED")
    if (userId !== undefined) {
      if (caller.keyDuplicated) {
        options.keys.refused()
        return fail(406, "AUTH_KEY_DUPLICATED")
      }
      const auth = faults.authFault(userId)
      if (auth) return fail(auth.code, auth.message)
    }
    if (PHONE_METHODS.has(method) && typeof request.phoneNumber === "string") {
      const home = homeDcOfPhone(request.phoneNumber)
      if (home !== undefined && home !== options.dcId) return fail(303, `PHONE_MIGRATE_${home}`)
    }
    const injected = faults.takeError(method, userId)
    if (injected) return fail(injected.code, injected.message)
    if (userId !== undefined) {
      const wait = flood.check(userId, method)
      if (wait > 0) return fail(420, `${flood.premiumLimited(method) ? "FLOOD_PREMIUM_WAIT" : "FLOOD_WAIT"}_${wait}`)
    }
    const delay = faults.latency(method)
    if (delay > 0) await options.sleep(delay)
    const handler = methods[method]
    if (!handler) return fail(400, "INPUT_METHOD_INVALID")
    try {
      const result = await handler(request, caller)
      const own = serializeResult(result)
      const ok = theirs ? answerFromOwn(own, theirs.method, theirs.schema) : own
      finish("ok")
      return { ok }
    } catch (error) {
      if (error instanceof RpcFailure) return fail(error.code, error.errorMessage)
      if (error instanceof LayerError) options.onInternalError(`${method} (layer ${served})`, error)
      else options.onInternalError(method, error)
      return fail(500, "INTERNAL_SERVER_ERROR")
    }
  }
}

const INVOKE_WITH_LAYER = 0xda9b0d0d

/** The layer of an invokeWithLayer request (its id and layer come first in every layer), or undefined. */
function announcedLayer(bytes: Uint8Array): number | undefined {
  if (bytes.length < 8) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(0, true) === INVOKE_WITH_LAYER ? view.getInt32(4, true) : undefined
}

/** Arguments that never reach the request log: api hashes, passwords, codes and authorization bytes. */
const SECRET_FIELD = /hash$|password|code$|^bytes$/i

/** A small flat summary of a request's arguments for the request log (secrets masked). */
export function summarize(request: any): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {}
  if (!request || typeof request !== "object") return out
  for (const [key, value] of Object.entries(request)) {
    if (key === "className" || key === "classType" || key === "CONSTRUCTOR_ID" || key === "SUBCLASS_OF_ID") continue
    if (key === "flags" || key === "originalArgs") continue
    if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") {
      out[key] = SECRET_FIELD.test(key) ? "***" : value
    } else if (Array.isArray(value)) {
      out[`${key}Count`] = value.length
    } else if (value && typeof value === "object") {
      const v = value as any
      if (v.channelId !== undefined) out[key] = Number(v.channelId.toString())
      else if (v.userId !== undefined) out[key] = Number(v.userId.toString())
      else if (typeof v.toJSNumber === "function") out[key] = v.toString()
    }
  }
  return out
}
