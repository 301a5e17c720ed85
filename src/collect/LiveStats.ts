/** Live updates' counters: what the status line logs every few seconds and the benchmark reads. */
import { Clock, Duration, Effect, Ref, Schedule } from "effect"

/** Live counters (the status line and the benchmark read them). */
export interface LiveStats {
  readonly received: number
  readonly applied: number
  readonly duplicates: number
  readonly gapsRecovered: number
  readonly differences: number
  readonly tooLong: number
  /** Channels whose pts Telegram refused (PERSISTENT_TIMESTAMP_INVALID/EMPTY) and that went on from their current one. */
  readonly ptsResets: number
  readonly batches: number
  readonly queueDepth: number
  /** Milliseconds from receipt to commit of the last batch's oldest item. */
  readonly lagMs: number
  /** Receipt-to-commit latencies of recent updates (ms), for percentiles. */
  readonly latencies: ReadonlyArray<number>
}

export const EMPTY: LiveStats = {
  received: 0,
  applied: 0,
  duplicates: 0,
  gapsRecovered: 0,
  differences: 0,
  tooLong: 0,
  ptsResets: 0,
  batches: 0,
  queueDepth: 0,
  lagMs: 0,
  latencies: [],
}
/** Latencies kept for percentiles. */
export const LATENCY_WINDOW = 20_000

/** The p-th percentile of `values` (0 when empty). */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Every `seconds`: updates/s since the last line, lag and queue depth. */
export function statusLine(stats: Ref.Ref<LiveStats>, seconds: number) {
  return Effect.gen(function* () {
    let last = yield* Ref.get(stats)
    let lastAt = yield* Clock.currentTimeMillis
    yield* Effect.repeat(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(stats)
        const rate = ((s.applied - last.applied) * 1000) / Math.max(1, now - lastAt)
        yield* Effect.logInfo("live updates").pipe(
          Effect.annotateLogs({
            updatesPerSec: Math.round(rate),
            lagMs: s.lagMs,
            queueDepth: s.queueDepth,
            applied: s.applied,
            gapsRecovered: s.gapsRecovered,
          }),
        )
        last = s
        lastAt = now
      }),
      Schedule.spaced(Duration.seconds(seconds)),
    ).pipe(Effect.delay(Duration.seconds(seconds)))
  })
}
