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
 * Gives back the call reserved at `at` when nothing was reserved after it (then `tat < at + 2 intervals`: any later
 * reservation pushes it to at least that). Otherwise the slot stays taken, which only ever errs on the slow side.
 */
export function unreserve(bucket: Bucket, at: number): void {
  if (bucket.tat < at + 2 * bucket.interval) bucket.tat = Math.max(at, bucket.tat - bucket.interval)
}
