/**
 * Shows a running sync (a live bar per channel on a terminal, periodic structured log lines otherwise) and the lines
 * that end a run.
 */
import { Duration, Effect, Ref, Schedule } from "effect"
import type { ChannelProgress } from "./HistorySync.ts"
import type { PeerStats } from "./StatsLoader.ts"

const BAR = 24

/** One terminal line for a channel, e.g. `@news  [########........] 12,345/40,000  2 flood waits`. */
export function progressLine(p: ChannelProgress, width: number): string {
  const done = p.status === "ok" ? "done" : p.status === "failed" ? "FAILED" : ""
  const total = p.total ?? 0
  const ratio = total > 0 ? Math.min(1, p.fetched / total) : p.status === "ok" ? 1 : 0
  const filled = Math.round(ratio * BAR)
  const bar = "#".repeat(filled) + ".".repeat(BAR - filled)
  const counts = total > 0 ? `${p.fetched.toLocaleString("en")}/${total.toLocaleString("en")}` : `${p.fetched}`
  const flood = p.floodWaits > 0 ? `  ${p.floodWaits} flood waits` : ""
  return `${p.channel.slice(0, width).padEnd(width)} [${bar}] ${counts}${flood} ${done}`.trimEnd()
}

/** One line per channel at the end of a run. */
export function summaryLine(p: ChannelProgress): string {
  const base =
    `${p.channel}: fetched ${p.fetched}, inserted ${p.inserted}, updated ${p.updated}, unchanged ${p.unchanged}` +
    `, requests ${p.requests}, flood waits ${p.floodWaits} (${p.floodSeconds} s), ${p.seconds.toFixed(1)} s`
  return p.status === "failed" ? `${p.channel}: FAILED: ${p.error ?? "unknown error"}` : base
}

const encoder = new TextEncoder()

/**
 * Runs until interrupted: redraws the bars on a terminal (stderr) every 200 ms, or logs each running channel's
 * counters every 10 s. The caller forks it next to the sync.
 */
export function reportProgress(progress: Ref.Ref<ReadonlyArray<ChannelProgress>>): Effect.Effect<void> {
  const tty = Deno.stderr.isTerminal()
  if (tty) {
    let drawn = 0
    const draw = Effect.gen(function* () {
      const rows = yield* Ref.get(progress)
      const width = Math.min(32, Math.max(8, ...rows.map((r) => r.channel.length)))
      const lines = rows.map((r) => progressLine(r, width))
      const up = drawn > 0 ? `\x1b[${drawn}F` : ""
      Deno.stderr.writeSync(encoder.encode(up + lines.map((l) => `\x1b[2K${l}\n`).join("")))
      drawn = lines.length
    })
    return Effect.repeat(draw, Schedule.spaced(Duration.millis(200))).pipe(Effect.ensuring(draw), Effect.asVoid)
  }
  const log = Effect.gen(function* () {
    for (const p of yield* Ref.get(progress)) {
      if (p.status !== "running") continue
      yield* Effect.logInfo("sync progress").pipe(Effect.annotateLogs({
        channel: p.channel,
        stage: "persist",
        fetched: p.fetched,
        total: p.total ?? -1,
        inserted: p.inserted,
        requests: p.requests,
        floodWaits: p.floodWaits,
      }))
    }
  })
  return Effect.repeat(log, Schedule.spaced(Duration.seconds(10))).pipe(Effect.asVoid)
}

/**
 * What a signal cut short, e.g. `interrupted: @a done; @b stopped at 4,200 of 20,000 posts; @c not started. What was
 * stored is kept: the next run resumes at each channel's checkpoint`.
 */
export function cutShortLine(progress: ReadonlyArray<ChannelProgress>): string {
  const parts = progress.map((p) => {
    switch (p.status) {
      case "ok":
        return `${p.channel} done`
      case "failed":
        return `${p.channel} failed`
      case "pending":
        return `${p.channel} not started`
      default:
        return `${p.channel} stopped at ${p.fetched.toLocaleString("en")}${
          p.total === undefined ? "" : ` of ${p.total.toLocaleString("en")}`
        } posts`
    }
  })
  return `interrupted: the sync stopped before it finished${parts.length > 0 ? `: ${parts.join("; ")}` : ""}. ` +
    "What was stored is kept: the next run resumes at each channel's checkpoint"
}

/** The last line of a run: posts fetched over all channels, the wall time and the rate. */
export function totalLine(results: ReadonlyArray<ChannelProgress>, seconds: number): string {
  const fetched = results.reduce((n, p) => n + p.fetched, 0)
  const requests = results.reduce((n, p) => n + p.requests, 0)
  const failed = results.filter((p) => p.status === "failed").length
  const rate = seconds > 0 ? Math.round(fetched / seconds) : 0
  return `total: fetched ${fetched} posts from ${results.length - failed} of ${results.length} channels` +
    ` with ${requests} requests in ${seconds.toFixed(1)} s (${rate} posts/s)`
}

/** One line per peer at the end of a statistics run. */
export function statsLine(p: PeerStats): string {
  if (p.status === "failed") return `${p.channel}: FAILED: ${p.error ?? "unknown error"}`
  if (p.status === "skipped") return `${p.channel}: skipped: ${p.error ?? ""}`
  return `${p.channel}: ${p.kind} stats via ${p.account} on DC ${p.statsDc ?? "home"}: ${p.graphs} graphs` +
    ` (${p.asyncLoaded} async, ${p.reloads} reloads, ${p.unavailable} without data, ${p.graphErrors} errors)` +
    `, ${p.posts} posts (${p.postErrors} failed), ${p.forwards} public forwards, ${p.rowsChanged} rows changed` +
    `, requests ${p.requests}, flood waits ${p.floodWaits}, ${p.seconds.toFixed(1)} s`
}
