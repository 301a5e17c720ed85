/**
 * The refresh schedule of post counters, thinning with age: e.g. every 10 minutes on day one, hourly in week one,
 * daily to day 30. Refreshes fall on a clock grid (a post refreshes at most once per grid slot of its tier), so the
 * posts of a tier come due together and fill whole batches of 100 ids. Pure.
 */

export interface RefreshTier {
  /** Posts younger than this (seconds)... */
  readonly maxAgeSec: number
  /** ...refresh once per slot of this many seconds. */
  readonly everySec: number
}

export const DEFAULT_SCHEDULE = "1d:10m,7d:1h,30d:1d"

const UNIT: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 }

/**
 * Parses `AGE:EVERY,...` (units s, m, h, d), e.g. "1d:10m,7d:1h,30d:1d": ages strictly increasing, intervals
 * positive. Throws a RangeError saying what was expected.
 */
export function parseSchedule(text: string): ReadonlyArray<RefreshTier> {
  const expected = `expected AGE:EVERY pairs with units s, m, h or d, ages increasing (e.g. "${DEFAULT_SCHEDULE}")`
  const duration = (s: string) => {
    const m = /^(\d+)([smhd])$/.exec(s.trim())
    return m ? Number(m[1]) * UNIT[m[2]!]! : Number.NaN
  }
  const tiers = text.split(",").filter((p) => p.trim() !== "").map((part) => {
    const [age, every, extra] = part.split(":")
    const tier = { maxAgeSec: duration(age ?? ""), everySec: duration(every ?? "") }
    if (extra !== undefined || !(tier.maxAgeSec > 0) || !(tier.everySec > 0)) {
      throw new RangeError(`bad entry "${part.trim()}": ${expected}`)
    }
    return tier
  })
  if (tiers.length === 0) throw new RangeError(`no entries: ${expected}`)
  for (let i = 1; i < tiers.length; i++) {
    if (tiers[i]!.maxAgeSec <= tiers[i - 1]!.maxAgeSec) throw new RangeError(`ages not increasing: ${expected}`)
  }
  return tiers
}

/** The oldest age (seconds) the schedule refreshes. */
export const maxAgeOf = (tiers: ReadonlyArray<RefreshTier>): number => tiers.at(-1)?.maxAgeSec ?? 0

/**
 * Whether a post dated `dateSec`, last refreshed at `lastSec` (undefined: never), is due at `nowSec`: its tier's grid
 * slot changed since the last refresh. Posts older than the schedule are never due.
 */
export function isDue(
  tiers: ReadonlyArray<RefreshTier>,
  dateSec: number,
  lastSec: number | undefined,
  nowSec: number,
): boolean {
  const age = nowSec - dateSec
  const tier = tiers.find((t) => age < t.maxAgeSec)
  if (!tier) return false
  if (lastSec === undefined) return true
  return Math.floor(nowSec / tier.everySec) > Math.floor(lastSec / tier.everySec)
}

/**
 * When the next refresh round starts after `nowMs`: the next slot of the finest tier's grid (every tier's slots start
 * on it), in UNIX ms.
 */
export function nextRound(tiers: ReadonlyArray<RefreshTier>, nowMs: number): number {
  const every = Math.min(...tiers.map((t) => t.everySec)) * 1000
  return (Math.floor(nowMs / every) + 1) * every
}
