/**
 * A token bucket as a generic cell rate algorithm (pure, times in milliseconds): one number, the theoretical arrival
 * time, says when the bucket is full again. Calls are reserved at a time of the caller's choosing, so a caller that
 * must wait for another bucket too reserves both at the same instant and never runs closer than the rate allows.
 */
export interface Bucket {
  /** Milliseconds between calls at the sustained rate. */
  readonly interval: number
  /** How far ahead of the sustained rate a burst may run: (burst - 1) intervals. */
  readonly tolerance: number
  /** The theoretical arrival time of the next call. */
  tat: number
}

/** A bucket allowing `ratePerSecond` calls per second on average and `burst` calls at once (at least 1). */
export function makeBucket(ratePerSecond: number, burst = 1): Bucket {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`bad rate ${ratePerSecond}`)
  const interval = 1000 / ratePerSecond
  return { interval, tolerance: (Math.max(1, Math.floor(burst)) - 1) * interval, tat: 0 }
}

/** The earliest time, not before `at`, at which one more call conforms. */
export function earliest(bucket: Bucket, at: number): number {
  return Math.max(at, bucket.tat - bucket.tolerance)
}

/** Takes one call at time `at` (which must be `earliest(bucket, at)` or later). */
export function reserve(bucket: Bucket, at: number): void {
  bucket.tat = Math.max(bucket.tat, at) + bucket.interval
}

/**
 * A token bucket whose calls may be reserved in any order of their times (the pool's budgets: a call reserved for its
 * account's next slot, a second ahead, must not hold back another account's call that may go now; a plain GCRA only
 * takes reservations in time order, so it would). The reservations at or before the last `settle` are folded into a
 * GCRA; the later ones are kept sorted, and a new call fits wherever the rate and burst allow among them.
 */
export interface Ledger {
  /** The calls settled so far (none can be reserved before `settle`'s time any more). */
  readonly settled: Bucket
  /** The reservations after the last settle, in time order. */
  readonly pending: Array<number>
}

/** A ledger allowing `ratePerSecond` calls per second on average and `burst` calls at once (at least 1). */
export function makeLedger(ratePerSecond: number, burst = 1): Ledger {
  return { settled: makeBucket(ratePerSecond, burst), pending: [] }
}

/** Folds the reservations at or before `now` into the GCRA: no call is reserved before `now` from here on. */
export function settle(ledger: Ledger, now: number): void {
  let n = 0
  while (n < ledger.pending.length && ledger.pending[n]! <= now) reserve(ledger.settled, ledger.pending[n++]!)
  if (n > 0) ledger.pending.splice(0, n)
}

/**
 * The earliest time, not before `at` (nor the last settle), at which one more call fits: every call, the new one and
 * the pending ones after it, still conforms when the GCRA runs over them in time order. Tried before each pending
 * reservation in turn; after the last one a call always fits.
 */
export function fit(ledger: Ledger, at: number): number {
  const { interval, tolerance } = ledger.settled
  const pending = ledger.pending
  let tat = ledger.settled.tat
  for (let p = 0;; p++) {
    const candidate = Math.max(at, tat - tolerance, p > 0 ? pending[p - 1]! : at)
    if (p === pending.length) return candidate
    if (candidate <= pending[p]! && conformsFrom(ledger, p, Math.max(tat, candidate) + interval)) return candidate
    tat = Math.max(tat, pending[p]!) + interval
  }
}

/** Whether the pending reservations from index `p` on conform when the GCRA reaches them with `tat`. */
function conformsFrom(ledger: Ledger, p: number, tat: number): boolean {
  const { interval, tolerance } = ledger.settled
  for (let j = p; j < ledger.pending.length; j++) {
    const t = ledger.pending[j]!
    if (t < tat - tolerance) return false
    tat = Math.max(tat, t) + interval
  }
  return true
}

/** Takes one call at time `at` (which must be `fit(ledger, at)` or later, and not before the last settle). */
export function book(ledger: Ledger, at: number): void {
  let i = ledger.pending.length
  while (i > 0 && ledger.pending[i - 1]! > at) i--
  ledger.pending.splice(i, 0, at)
}

/**
 * Gives back the call booked at `at`, wherever it lies among the pending ones. One already settled (its time has
 * come) stays taken, which only ever errs on the slow side.
 */
export function cancel(ledger: Ledger, at: number): void {
  const i = ledger.pending.indexOf(at)
  if (i >= 0) ledger.pending.splice(i, 1)
}
