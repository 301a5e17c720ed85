/** Flood budgets: token buckets per (account, method) that answer FLOOD_WAIT seconds when a budget is spent. */
import type { FloodBudget, FloodControl } from "./Control.ts"

interface Bucket {
  tokens: number
  /** Clock reading (ms) of the last refill. */
  at: number
  /** Violations in a row (escalating budgets), when the last one was and until when the account must wait. */
  strikes: number
  struckAt: number
  waitUntil: number
}

/** Violations further apart than this start counting again. */
const FORGIVE_MS = 3_600_000

/** New connections of one auth key per minute before -429 (Telegram's transport flood; it publishes no figure). */
export const CONNECTIONS_PER_MINUTE = 100

/** Tolerance for refills that land a hair under a whole token through floating-point rounding. */
const EPSILON = 1e-9

const budgetKey = (method: string, userId: number | undefined): string => `${method}\u0000${userId ?? "*"}`

/**
 * Token buckets for every matching budget. A budget with method "*" applies to every method, one with a `userId` to
 * that account only; each (budget, account, method) has its own bucket, which starts full (`burst` tokens). When
 * several budgets match, all must allow the call, and the wait is the largest of theirs. Off while no budget is set.
 */
export class Flood implements FloodControl {
  private readonly budgets = new Map<string, FloodBudget>()
  /** budget key → (userId, method) key → bucket. */
  private readonly buckets = new Map<string, Map<string, Bucket>>()
  /** auth key id → when its connections of the last minute were opened (ms). */
  private readonly connections = new Map<bigint, Array<number>>()

  /** `methodName`: as for Faults (the matching name of a method; a RangeError when it is none). */
  constructor(
    private readonly nowMs: () => number,
    private readonly methodName: (name: string) => string = (name) => name,
  ) {}

  /** Adds a budget, replacing (and refilling) the one with the same (method, userId). */
  set(budget: FloodBudget): void {
    if (typeof budget.method !== "string" || budget.method === "") throw new RangeError("method must not be empty")
    if (!(Number.isFinite(budget.rate) && budget.rate > 0)) throw new RangeError("rate must be a positive number")
    if (!(Number.isFinite(budget.burst) && budget.burst >= 1)) throw new RangeError("burst must be at least 1")
    const method = this.methodName(budget.method)
    const key = budgetKey(method, budget.userId)
    if (
      budget.escalate !== undefined && !(Number.isFinite(budget.escalate.maxWaitS) && budget.escalate.maxWaitS >= 1)
    ) {
      throw new RangeError("escalate.maxWaitS must be at least 1")
    }
    this.budgets.set(key, {
      method,
      ...(budget.userId !== undefined ? { userId: budget.userId } : {}),
      rate: budget.rate,
      burst: budget.burst,
      ...(budget.escalate !== undefined ? { escalate: { maxWaitS: budget.escalate.maxWaitS } } : {}),
      ...(budget.premium === true ? { premium: true } : {}),
    })
    this.buckets.delete(key)
  }

  clear(): void {
    this.budgets.clear()
    this.buckets.clear()
    this.connections.clear()
  }

  admitConnection(authKeyId: bigint): boolean {
    if (this.budgets.size === 0) return true
    const now = this.nowMs()
    const opened = (this.connections.get(authKeyId) ?? []).filter((at) => now - at < 60_000)
    this.connections.set(authKeyId, opened)
    if (opened.length >= CONNECTIONS_PER_MINUTE) return false
    opened.push(now)
    return true
  }

  list(): ReadonlyArray<FloodBudget> {
    return [...this.budgets.values()]
  }

  premiumLimited(method: string): boolean {
    for (const budget of this.budgets.values()) if (budget.premium === true && budget.method === method) return true
    return false
  }

  check(userId: number, method: string): number {
    if (this.budgets.size === 0) return 0
    const now = this.nowMs()
    const matching: Array<Bucket> = []
    let wait = 0
    for (const [key, budget] of this.budgets) {
      if (budget.method !== "*" && budget.method !== method) continue
      if (budget.userId !== undefined && budget.userId !== userId) continue
      let perBudget = this.buckets.get(key)
      if (!perBudget) this.buckets.set(key, perBudget = new Map())
      const bucketKey = `${userId}\u0000${method}`
      let bucket = perBudget.get(bucketKey)
      if (!bucket) {
        perBudget.set(bucketKey, bucket = { tokens: budget.burst, at: now, strikes: 0, struckAt: 0, waitUntil: 0 })
      }
      const elapsed = Math.max(0, now - bucket.at)
      bucket.tokens = Math.min(budget.burst, bucket.tokens + (elapsed / 1000) * budget.rate)
      bucket.at = Math.max(bucket.at, now)
      matching.push(bucket)
      if (budget.escalate !== undefined && now < bucket.waitUntil) {
        // Asked again during the wait: what is left of it, and one more violation on the account's record.
        strike(bucket, now)
        wait = Math.max(wait, Math.ceil((bucket.waitUntil - now) / 1000))
        continue
      }
      if (bucket.tokens >= 1 - EPSILON) continue
      const refill = Math.max(1, Math.ceil((1 - bucket.tokens) / budget.rate))
      if (budget.escalate === undefined) {
        wait = Math.max(wait, refill)
        continue
      }
      strike(bucket, now)
      const grown = Math.min(budget.escalate.maxWaitS, refill * 2 ** Math.min(30, bucket.strikes - 1))
      bucket.waitUntil = now + grown * 1000
      wait = Math.max(wait, grown)
    }
    if (wait > 0) return wait
    for (const bucket of matching) bucket.tokens = Math.max(0, bucket.tokens - 1)
    return 0
  }
}

/** One more violation on a bucket's record (the count starts again an hour after the last one and its wait). */
function strike(bucket: Bucket, now: number): void {
  bucket.strikes = now - Math.max(bucket.struckAt, bucket.waitUntil) > FORGIVE_MS ? 1 : bucket.strikes + 1
  bucket.struckAt = now
}

/**
 * Budgets in the spirit of Telegram's (which are not published and differ per account): history and view reads are
 * cheap, full-channel reads dearer, username resolution very dear; every other method gets a generous budget.
 */
export const TELEGRAM_LIKE_BUDGETS: ReadonlyArray<FloodBudget> = [
  { method: "*", rate: 5, burst: 50, escalate: { maxWaitS: 300 } },
  { method: "messages.GetHistory", rate: 1, burst: 30, escalate: { maxWaitS: 900 } },
  { method: "messages.GetMessagesViews", rate: 1, burst: 20, escalate: { maxWaitS: 900 } },
  { method: "channels.GetMessages", rate: 0.5, burst: 20, escalate: { maxWaitS: 900 } },
  { method: "channels.GetFullChannel", rate: 0.2, burst: 10, escalate: { maxWaitS: 3_600 } },
  // The dialog list: a few pages in a row, then waits that grow (what aborts other tools' first runs).
  { method: "messages.GetDialogs", rate: 0.1, burst: 5, escalate: { maxWaitS: 3_600 } },
  // Username resolution is what Telegram punishes hardest: bursts end in waits of hours.
  { method: "contacts.ResolveUsername", rate: 0.05, burst: 5, escalate: { maxWaitS: 86_400 } },
  // Downloads without Premium: parts of up to 1 MB, 20 back to back, then 2 a second (FLOOD_PREMIUM_WAIT_X).
  { method: "upload.GetFile", rate: 2, burst: 20, premium: true },
]

/**
 * Parses one `--flood` value: `telegram` (the budgets above), or `METHOD:RATE:BURST[:USER_ID]`, e.g.
 * `messages.GetHistory:0.5:20`. Throws a RangeError that says what was expected.
 */
export function parseFloodSpec(spec: string): ReadonlyArray<FloodBudget> {
  if (spec === "telegram") return TELEGRAM_LIKE_BUDGETS
  const expected = `expected "telegram" or METHOD:RATE:BURST[:USER_ID] (e.g. messages.GetHistory:0.5:20), got "${spec}"`
  const parts = spec.split(":")
  if (parts.length < 3 || parts.length > 4 || parts[0] === "") throw new RangeError(expected)
  const rate = Number(parts[1])
  const burst = Number(parts[2])
  const userId = parts[3] === undefined ? undefined : Number(parts[3])
  if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`RATE must be a positive number; ${expected}`)
  if (!(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`BURST must be a positive integer; ${expected}`)
  if (userId !== undefined && !(Number.isInteger(userId) && userId > 0)) {
    throw new RangeError(`USER_ID must be a positive integer; ${expected}`)
  }
  return [{ method: parts[0]!, rate, burst, ...(userId === undefined ? {} : { userId }) }]
}
