/** Fault injection: added latency, scripted rpc errors and revoked or duplicated authorization keys. */
import type { Fault, FaultControl } from "./Control.ts"

/** Faults that wear out: they keep a count of the calls (or key exchanges) they still spoil. */
type CountedFault = Extract<Fault, { readonly times: number }>

type Stored = { fault: Exclude<Fault, CountedFault> } | { fault: CountedFault; remaining: number }

/**
 * The active faults, in insertion order. Latency faults add up (the global ones plus those of the method); RpcError
 * faults answer the next `times` matching calls, the oldest first, and BadKeyExchange spoils the next `times` key
 * exchanges; both disappear when used up. RevokeKey and DuplicateKey stay until `clear`.
 */
export class Faults implements FaultControl {
  private faults: Array<Stored> = []

  /**
   * `methodName` gives the name a method is matched by (from the TL schema's or GramJS's casing) and throws a
   * RangeError for one that is no API method (the sandbox passes tl/MethodNames.ts; names are taken as they are by
   * default).
   */
  constructor(private readonly methodName: (name: string) => string = (name) => name) {}

  /** Adds `fault`; a method is matched as the TL schema or GramJS names it (a RangeError when it is no API method). */
  add(fault: Fault): void {
    if ((fault._tag === "Latency" || fault._tag === "RpcError") && fault.method !== undefined) {
      fault = { ...fault, method: this.methodName(fault.method) }
    }
    if (fault._tag === "RpcError" || fault._tag === "BadKeyExchange") {
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
      if (!("remaining" in stored) || stored.fault._tag !== "RpcError") continue
      const fault = stored.fault
      if (fault.method !== "*" && fault.method !== method) continue
      if (fault.userId !== undefined && fault.userId !== userId) continue
      stored.remaining--
      if (stored.remaining <= 0) this.faults.splice(i, 1)
      return { code: fault.code, message: fault.message }
    }
    return undefined
  }

  takeKeyExchangeFault(): boolean {
    const i = this.faults.findIndex((s) => s.fault._tag === "BadKeyExchange")
    if (i < 0) return false
    const stored = this.faults[i]!
    if ("remaining" in stored && --stored.remaining <= 0) this.faults.splice(i, 1)
    return true
  }

  authFault(userId: number): { readonly code: number; readonly message: string } | undefined {
    for (const { fault } of this.faults) {
      if (fault._tag === "RevokeKey" && fault.userId === userId) return { code: 401, message: "AUTH_KEY_UNREGISTERED" }
      if (fault._tag === "DuplicateKey" && fault.userId === userId) return { code: 406, message: "AUTH_KEY_DUPLICATED" }
    }
    return undefined
  }
}
