/** Fault injection: added latency, scripted rpc errors and revoked or duplicated authorization keys. */
import type { Fault, FaultControl } from "./Control.ts"

type RpcErrorFault = Extract<Fault, { readonly _tag: "RpcError" }>

/** A stored fault; RpcError faults keep a mutable count of the calls they still answer. */
type Stored = { fault: Exclude<Fault, RpcErrorFault> } | { fault: RpcErrorFault; remaining: number }

/**
 * The active faults, in insertion order. Latency faults add up (the global ones plus those of the method); RpcError
 * faults answer the next `times` matching calls, the oldest first, and disappear when used up; RevokeKey and
 * DuplicateKey stay until `clear`.
 */
export class Faults implements FaultControl {
  private faults: Array<Stored> = []

  add(fault: Fault): void {
    if (fault._tag === "RpcError") {
      if (!(fault.times > 0)) return
      this.faults.push({ fault: { ...fault }, remaining: fault.times })
    } else {
      this.faults.push({ fault: { ...fault } })
    }
  }

  clear(): void {
    this.faults = []
  }

  list(): ReadonlyArray<Fault> {
    return this.faults.map((s) => "remaining" in s ? { ...s.fault, times: s.remaining } : { ...s.fault })
  }

  latency(method: string): number {
    let ms = 0
    for (const { fault } of this.faults) {
      if (fault._tag !== "Latency") continue
      if (fault.method === undefined || fault.method === "*" || fault.method === method) ms += fault.ms
    }
    return ms
  }

  takeError(
    method: string,
    userId: number | undefined,
  ): { readonly code: number; readonly message: string } | undefined {
    for (let i = 0; i < this.faults.length; i++) {
      const stored = this.faults[i]!
      if (!("remaining" in stored)) continue
      const fault = stored.fault
      if (fault.method !== "*" && fault.method !== method) continue
      if (fault.userId !== undefined && fault.userId !== userId) continue
      stored.remaining--
      if (stored.remaining <= 0) this.faults.splice(i, 1)
      return { code: fault.code, message: fault.message }
    }
    return undefined
  }

  authFault(userId: number): { readonly code: number; readonly message: string } | undefined {
    for (const { fault } of this.faults) {
      if (fault._tag === "RevokeKey" && fault.userId === userId) return { code: 401, message: "AUTH_KEY_UNREGISTERED" }
      if (fault._tag === "DuplicateKey" && fault.userId === userId) return { code: 406, message: "AUTH_KEY_DUPLICATED" }
    }
    return undefined
  }
}
