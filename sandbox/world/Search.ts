/** Binary searches over ascending arrays of numbers. */

/** Index of the last element `<= x` in an ascending array, or -1. */
export function lastAtMost(xs: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** Index of the first element `>= x` in an ascending array (length when none). */
export function firstAtLeast(xs: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
