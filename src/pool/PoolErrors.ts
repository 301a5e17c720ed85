/** Why the pool could not run a call: no account left, or none sooner than the pool may wait. */
import { Schema } from "effect"

/** Every account is quarantined: nothing can be called any more. */
export class NoAccountAvailable extends Schema.TaggedError<NoAccountAvailable>()("NoAccountAvailable", {
  methodClass: Schema.String,
  quarantined: Schema.Number,
}) {
  override get message(): string {
    return `no account can call ${this.methodClass}: all ${this.quarantined} accounts are quarantined`
  }
}

/** No account may make the call for longer than the pool may wait (MTPROTO_MAX_FLOOD_WAIT_S). */
export class WaitTooLong extends Schema.TaggedError<WaitTooLong>()("WaitTooLong", {
  methodClass: Schema.String,
  seconds: Schema.Number,
  /** Why: "flood" (FLOOD_WAIT cooling), "budget" (the token buckets), "backoff" (failures). */
  cause: Schema.String,
  maxSeconds: Schema.Number,
}) {
  override get message(): string {
    return `no ${this.methodClass} call is possible for ${formatSeconds(this.seconds)}: ` +
      `${WAIT_CAUSES[this.cause as WaitCause]}; that is longer than MTPROTO_MAX_FLOOD_WAIT_S ` +
      `(${this.maxSeconds} s), so this work stops here (run it again later)`
  }
}

export type WaitCause = "flood" | "backoff" | "budget"

export const WAIT_CAUSES: Readonly<Record<WaitCause, string>> = {
  flood: "every account that may make it cools after a FLOOD_WAIT",
  backoff: "every account that may make it backs off after failures",
  budget: "the rate budget (MTPROTO_RPS_PER_ACCOUNT, MTPROTO_GLOBAL_RPS) allows no sooner call",
}

/** "27 h 47 min", "14 min 5 s", "42 s". */
export function formatSeconds(total: number): string {
  const s = Math.ceil(total)
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${s} s`
}
