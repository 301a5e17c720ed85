/**
 * The proxy pool: one proxy per account connection, failure scores, bans with timed recovery, and rotation that only
 * happens when an account connects again: a healthy connection is never moved. Synchronous and clock-free (callers
 * pass the time), so every decision is atomic and testable; no GramJS here.
 */
import { maskProxy, type ProxySpec } from "../domain/Proxy.ts"

export interface ProxyPoolSettings {
  /** An account keeps its proxy for at least this long; after it, its next connection takes another one. */
  readonly rotationMs: number
  /** Failures (net of successes) that ban a proxy. */
  readonly failScoreLimit: number
  /** First ban length; each further ban of the same proxy doubles it, up to `maxBanMs`. @default 60_000 */
  readonly banMs?: number
  /** @default 3_600_000 */
  readonly maxBanMs?: number
}

export interface ProxyStatus {
  readonly proxy: string
  readonly state: "healthy" | "banned"
  readonly score: number
  readonly bans: number
  readonly bannedUntil: number | null
  readonly accounts: ReadonlyArray<string>
}

interface Entry {
  readonly spec: ProxySpec
  readonly masked: string
  score: number
  bans: number
  bannedUntil: number
}

interface Assignment {
  readonly entry: Entry
  readonly since: number
}

/** A proxy handed to one account connection. */
export interface ProxyLease {
  readonly spec: ProxySpec
  /** The masked URL. */
  readonly masked: string
}

export class ProxyPool {
  private readonly entries: ReadonlyArray<Entry>
  private readonly assigned = new Map<string, Assignment>()
  private next = 0
  private readonly banMs: number
  private readonly maxBanMs: number

  constructor(specs: ReadonlyArray<ProxySpec>, private readonly settings: ProxyPoolSettings) {
    if (specs.length === 0) throw new RangeError("a proxy pool needs at least one proxy")
    this.entries = specs.map((spec) => ({ spec, masked: maskProxy(spec), score: 0, bans: 0, bannedUntil: 0 }))
    this.banMs = settings.banMs ?? 60_000
    this.maxBanMs = settings.maxBanMs ?? 3_600_000
  }

  /**
   * The proxy for `account`'s next connection: the one it has while that is usable and younger than the rotation
   * period, else the next usable proxy with the fewest accounts on it (round robin among equals). Undefined when every
   * proxy is banned (`nextRecovery` says until when).
   */
  acquire(account: string, now: number): ProxyLease | undefined {
    const current = this.assigned.get(account)
    if (current && this.usable(current.entry, now) && now - current.since < this.settings.rotationMs) {
      return lease(current.entry)
    }
    const load = new Map<Entry, number>()
    for (const [name, a] of this.assigned) if (name !== account) load.set(a.entry, (load.get(a.entry) ?? 0) + 1)
    let best: Entry | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[(this.next + i) % this.entries.length]!
      if (!this.usable(entry, now)) continue
      // Rotation moves the account on: its old proxy only when nothing else is usable.
      const l = (load.get(entry) ?? 0) + (entry === current?.entry ? 0.5 : 0)
      if (l < bestLoad) {
        best = entry
        bestLoad = l
      }
    }
    if (best === undefined) {
      this.assigned.delete(account)
      return undefined
    }
    this.next = (this.entries.indexOf(best) + 1) % this.entries.length
    this.assigned.set(account, { entry: best, since: now })
    return lease(best)
  }

  /** How many proxies the pool holds (banned ones included). */
  get size(): number {
    return this.entries.length
  }

  /** The account's connection went away (it will acquire again). */
  release(account: string): void {
    this.assigned.delete(account)
  }

  /** A connection or call through `proxy` failed; returns true when that banned it. */
  fail(proxy: ProxyLease, now: number): boolean {
    const entry = this.find(proxy)
    if (!entry || entry.bannedUntil > now) return false
    entry.score++
    if (entry.score < this.settings.failScoreLimit) return false
    entry.bannedUntil = now + Math.min(this.maxBanMs, this.banMs * 2 ** entry.bans)
    entry.bans++
    // Probation after the ban: one more failure bans it again.
    entry.score = this.settings.failScoreLimit - 1
    for (const [name, a] of this.assigned) if (a.entry === entry) this.assigned.delete(name)
    return true
  }

  /** A call through `proxy` succeeded: its score recovers by one. */
  succeed(proxy: ProxyLease): void {
    const entry = this.find(proxy)
    if (entry && entry.score > 0) entry.score--
  }

  /** True while `proxy` may carry connections. */
  isUsable(proxy: ProxyLease, now: number): boolean {
    const entry = this.find(proxy)
    return entry !== undefined && this.usable(entry, now)
  }

  /** When the first banned proxy recovers (undefined when none is banned). */
  nextRecovery(now: number): number | undefined {
    const times = this.entries.filter((e) => e.bannedUntil > now).map((e) => e.bannedUntil)
    return times.length === 0 ? undefined : Math.min(...times)
  }

  status(now: number): ReadonlyArray<ProxyStatus> {
    return this.entries.map((e) => ({
      proxy: e.masked,
      state: e.bannedUntil > now ? "banned" : "healthy",
      score: e.score,
      bans: e.bans,
      bannedUntil: e.bannedUntil > now ? e.bannedUntil : null,
      accounts: [...this.assigned].filter(([, a]) => a.entry === e).map(([name]) => name).sort(),
    }))
  }

  private usable(entry: Entry, now: number): boolean {
    return entry.bannedUntil <= now
  }

  private find(proxy: ProxyLease): Entry | undefined {
    return this.entries.find((e) => e.spec === proxy.spec)
  }
}

const lease = (entry: Entry): ProxyLease => ({ spec: entry.spec, masked: entry.masked })
