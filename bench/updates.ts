/**
 * Benchmark: live updates. A sandbox in its own process produces changes of every kind on 5 channels at a given total
 * rate; LiveUpdates (in this process, on PostgreSQL) follows them. Measured `runs` times in a row (default 3) on the
 * same sandbox, database and collector: the 3 windows are consecutive minutes of one long-running follower (as
 * poll-updates runs), so what one run leaves behind (memory, table growth) is there in the next, and start-up (history
 * sync, JIT warm-up) is paid once, before the first window. Figures per run: updates applied per second, the latency
 * from the sandbox's push (its push log) to the commit of the row (the collector's commit callback) over the
 * pts-moving updates (p50, p99, max; how much of the p99 is push to receipt), the event loop's lag, and the process's
 * RSS and V8 heap used at the start and end of the window (sampled every second). Target: p99 at most 250 ms in every
 * run at 2,500 updates/s, and no memory growth from run to run.
 */
import { Effect, Fiber, Layer, ManagedRuntime, References } from "effect"
import { CollectorsLive } from "../src/App.ts"
import { AppConfig } from "../src/Config.ts"
import { LiveUpdates } from "../src/collect/LiveUpdates.ts"
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase, runSyncHistory } from "./syncRun.ts"

export interface UpdatesBenchOptions {
  /** Changes per second over all channels. */
  readonly rate: number
  /** Length of each measured run. */
  readonly seconds: number
  /** Measured runs, one after another on the same collector. @default 3 */
  readonly runs?: number
  readonly adminUrl: string
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

const CHANNELS = 5
const TARGET_P99_MS = 250
/** Latency histograms count whole milliseconds up to this (a longer one counts here; the max is kept exactly). */
const HISTOGRAM_MS = 10_000
/** Receipt times kept per channel, by pts modulo this (a push is matched within seconds of its receipt). */
const RING = 1 << 16
const MB = 1024 * 1024

interface Push {
  readonly channelId: number
  readonly pts?: number
  readonly at: number
  readonly withheld?: boolean
}

/** Whole-millisecond latencies: percentiles as `percentile` of LiveStats takes them, in constant memory. */
class Histogram {
  private readonly counts = new Uint32Array(HISTOGRAM_MS + 1)
  count = 0
  max = 0

  add(ms: number): void {
    const v = Math.max(0, Math.round(ms))
    this.counts[Math.min(v, HISTOGRAM_MS)]!++
    this.count++
    if (v > this.max) this.max = v
  }

  percentile(p: number): number {
    if (this.count === 0) return 0
    if (p >= 100) return this.max
    const index = Math.min(this.count - 1, Math.floor((p / 100) * this.count))
    let seen = 0
    for (let v = 0; v <= HISTOGRAM_MS; v++) {
      seen += this.counts[v]!
      if (seen > index) return v === HISTOGRAM_MS ? this.max : v
    }
    return this.max
  }
}

/**
 * The collector's commits, per channel: each commit's highest pts and time (a push of pts p is committed by the first
 * commit reaching p, even when a difference brought it), and when each pts was received (by pts modulo RING).
 */
class Commits {
  private readonly index = new Map<number, number>()
  private readonly reached: Array<Array<{ pts: number; at: number }>>
  private readonly heads: Array<number>
  private readonly receivedPts = new Int32Array(CHANNELS * RING)
  private readonly receivedAt = new Float64Array(CHANNELS * RING)

  constructor(channelIds: ReadonlyArray<number>) {
    channelIds.forEach((id, i) => this.index.set(id, i))
    this.reached = channelIds.map(() => [])
    this.heads = channelIds.map(() => 0)
  }

  /** onCommit: the pts-moving updates of one commit. */
  add(updates: ReadonlyArray<{ readonly channelId: number; readonly pts: number; readonly at: number }>, at: number) {
    const top = new Map<number, number>()
    for (const u of updates) {
      const i = this.index.get(u.channelId)
      if (i === undefined) continue
      this.receivedPts[i * RING + (u.pts & (RING - 1))] = u.pts
      this.receivedAt[i * RING + (u.pts & (RING - 1))] = u.at
      top.set(i, Math.max(top.get(i) ?? 0, u.pts))
    }
    for (const [i, pts] of top) this.reached[i]!.push({ pts, at })
  }

  /** The highest pts committed for the channel (0: none yet). */
  top(channelId: number): number {
    const list = this.reached[this.index.get(channelId) ?? -1]
    return list?.[list.length - 1]?.pts ?? 0
  }

  /**
   * When the push's pts was committed and received (undefined: not committed yet). Asked for in pts order per channel:
   * commits below it are let go.
   */
  match(channelId: number, pts: number): { committed: number; received?: number } | undefined {
    const i = this.index.get(channelId)
    if (i === undefined) return undefined
    const list = this.reached[i]!
    let head = this.heads[i]!
    while (head < list.length && list[head]!.pts < pts) head++
    if (head > 4_096) {
      list.splice(0, head)
      head = 0
    }
    this.heads[i] = head
    const hit = list[head]
    if (hit === undefined) return undefined
    const slot = i * RING + (pts & (RING - 1))
    return this.receivedPts[slot] === pts
      ? { committed: hit.at, received: this.receivedAt[slot]! }
      : { committed: hit.at }
  }
}

/** One measured run's figures. */
interface RunFigures {
  readonly run: number
  readonly seconds: number
  readonly pushes: number
  readonly updatesPerSec: number
  readonly applied: number
  readonly measured: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** The p99 of push to receipt (the sandbox, the socket, GramJS's decoding, the intake) alone. */
  readonly receiptP99Ms: number
  readonly commits: number
  readonly loopLagP99Ms: number
  readonly loopLagMaxMs: number
  readonly rssStartMb: number
  readonly rssEndMb: number
  readonly rssPeakMb: number
  readonly heapStartMb: number
  readonly heapEndMb: number
  readonly heapPeakMb: number
}

const mb = (bytes: number) => Math.round(bytes / MB)

export async function benchUpdates(options: UpdatesBenchOptions): Promise<Record<string, unknown>> {
  const runs = Math.max(1, options.runs ?? 3)
  const sandbox = await spawnSandbox({ channels: CHANNELS, posts: 1_000, accounts: 1 })
  const admin = sandbox.descriptor.admin
  const get = async (path: string) => (await fetch(`${admin}${path}`)).json()
  const post = (path: string, body: unknown) =>
    fetch(`${admin}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    }).then((r) => r.json())
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined
  let runtime: ManagedRuntime.ManagedRuntime<LiveUpdates, unknown> | undefined
  try {
    database = await benchDatabase(options.adminUrl, "updates")
    const channels = sandbox.descriptor.channels.filter((c) => !c.private)
    await runSyncHistory({ descriptorFile: sandbox.file, databaseUrl: database.url, channels, concurrency: CHANNELS })
    const env = {
      TG_SANDBOX_FILE: sandbox.file,
      DATABASE_URL: database.url,
      MTPROTO_ENABLED: "true",
      MTPROTO_RPS_PER_ACCOUNT: "1000",
      MTPROTO_GLOBAL_RPS: "10000",
    }
    runtime = ManagedRuntime.make(
      CollectorsLive.pipe(
        Layer.provide(AppConfig.layerFrom(env)),
        Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")),
      ),
    ) as unknown as ManagedRuntime.ManagedRuntime<LiveUpdates, unknown>
    const commits = new Commits(channels.map((c) => c.id))
    const refs = channels.map((c) => ({ _tag: "Username" as const, username: c.username }))
    const fiber = runtime.runFork(
      LiveUpdates.use((l) =>
        l.run(refs, {
          reconcileSeconds: 3_600,
          statusSeconds: 0,
          onCommit: (updates, at) => Effect.sync(() => commits.add(updates, at)),
        })
      ),
    )
    // Followed once every channel's pts is committed (the start reads each channel's pts).
    await new Promise((r) => setTimeout(r, 2_000))
    const perChannel = Math.round(options.rate / CHANNELS)
    const count = perChannel * options.seconds
    let cursor: number = (await get(`/pushes?since=${Number.MAX_SAFE_INTEGER}`)).lastSeq ?? 0
    const results: Array<RunFigures> = []
    for (let run = 1; run <= runs; run++) {
      options.progress(`run ${run}/${runs}: ${CHANNELS} channels × ${perChannel} changes/s for ${options.seconds} s`)
      const before = await runtime.runPromise(LiveUpdates.use((l) => l.stats))
      const latency = new Histogram()
      const receipt = new Histogram()
      const lag = new Histogram()
      let pushes = 0
      let lastCommit = 0
      /** Pushes not committed yet when polled, per channel in pts order (later pushes of the channel wait behind). */
      const pending = new Map<number, Array<Push>>()
      const settle = (p: Push): boolean => {
        const hit = commits.match(p.channelId, p.pts!)
        if (hit === undefined) return false
        latency.add(hit.committed - p.at)
        if (hit.received !== undefined) receipt.add(hit.received - p.at)
        lastCommit = Math.max(lastCommit, hit.committed)
        return true
      }
      const poll = async () => {
        for (;;) {
          const page: { lastSeq: number; entries: ReadonlyArray<Push & { seq: number }> } = await get(
            `/pushes?since=${cursor}&limit=20000`,
          )
          for (const p of page.entries) {
            cursor = p.seq
            pushes++
            if (p.pts === undefined || p.withheld) continue
            const queue = pending.get(p.channelId)
            if (queue && queue.length > 0) queue.push(p)
            else if (!settle(p)) pending.set(p.channelId, [p])
          }
          if (page.entries.length < 20_000) break
        }
        for (const queue of pending.values()) {
          let n = 0
          while (n < queue.length && settle(queue[n]!)) n++
          queue.splice(0, n)
        }
      }
      // The event loop's lag: how late a 50 ms timer fires.
      let tickAt = performance.now()
      const ticker = setInterval(() => {
        const now = performance.now()
        lag.add(now - tickAt - 50)
        tickAt = now
      }, 50)
      const memory = () => {
        const m = Deno.memoryUsage()
        return { rss: m.rss, heap: m.heapUsed }
      }
      const samples = [memory()]
      const sampler = setInterval(() => samples.push(memory()), 1_000)
      const started = Date.now()
      try {
        for (const c of channels) await post(`/channels/${c.id}/activity`, { count, rate: perChannel })
        // Until the activity ends and the collector has committed every channel's current pts; pushes are read every
        // second (the sandbox keeps the last 100,000).
        const deadline = Date.now() + (options.seconds + 60) * 1000
        for (;;) {
          await new Promise((r) => setTimeout(r, 1_000))
          await poll()
          const list: ReadonlyArray<{ id: number; pts: number }> = await get("/channels")
          const activity = await Promise.all(channels.map((c) => get(`/channels/${c.id}/activity`)))
          const running = activity.some((a: { running: boolean }) => a.running)
          const behind = list.filter((c) => channels.some((x) => x.id === c.id) && commits.top(c.id) < c.pts)
          if (!running && behind.length === 0) break
          if (Date.now() > deadline) throw new Error("the collector did not catch up within a minute of the activity")
        }
        await poll()
      } finally {
        clearInterval(ticker)
        clearInterval(sampler)
      }
      samples.push(memory())
      const stats = await runtime.runPromise(LiveUpdates.use((l) => l.stats))
      const seconds = (lastCommit - started) / 1000
      const figures: RunFigures = {
        run,
        seconds: Number(seconds.toFixed(2)),
        pushes,
        updatesPerSec: Math.round(pushes / seconds),
        applied: stats.applied - before.applied,
        measured: latency.count,
        p50Ms: latency.percentile(50),
        p99Ms: latency.percentile(99),
        maxMs: latency.max,
        receiptP99Ms: receipt.percentile(99),
        commits: stats.batches - before.batches,
        loopLagP99Ms: lag.percentile(99),
        loopLagMaxMs: lag.max,
        rssStartMb: mb(samples[0]!.rss),
        rssEndMb: mb(samples[samples.length - 1]!.rss),
        rssPeakMb: mb(Math.max(...samples.map((s) => s.rss))),
        heapStartMb: mb(samples[0]!.heap),
        heapEndMb: mb(samples[samples.length - 1]!.heap),
        heapPeakMb: mb(Math.max(...samples.map((s) => s.heap))),
      }
      results.push(figures)
      options.report(
        `run ${run}: ${figures.pushes} updates (${CHANNELS} channels, asked ${options.rate}/s) in ${figures.seconds} s: ` +
          `${figures.updatesPerSec} updates/s; push-to-commit p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms ` +
          `(target <= ${TARGET_P99_MS}; push-to-receipt p99 ${figures.receiptP99Ms}), max ${figures.maxMs} ms over ` +
          `${figures.measured} pts updates; ${figures.commits} commits; event-loop lag p99 ${figures.loopLagP99Ms} ms, ` +
          `max ${figures.loopLagMaxMs}; RSS ${figures.rssStartMb} -> ${figures.rssEndMb} MB (peak ` +
          `${figures.rssPeakMb}), V8 heap used ${figures.heapStartMb} -> ${figures.heapEndMb} MB (peak ` +
          `${figures.heapPeakMb})`,
      )
    }
    await runtime.runPromise(Fiber.interrupt(fiber))
    const worst = Math.max(...results.map((r) => r.p99Ms))
    const first = results[0]!
    const last = results[results.length - 1]!
    const summary = {
      worstP99Ms: worst,
      targetP99Ms: TARGET_P99_MS,
      p99Met: worst <= TARGET_P99_MS,
      rssGrowthMb: last.rssEndMb - first.rssStartMb,
      heapGrowthMb: last.heapEndMb - first.heapStartMb,
    }
    options.report(
      `${runs} runs: worst p99 ${worst} ms against <= ${TARGET_P99_MS} ms in every run: ` +
        `${summary.p99Met ? "met" : "NOT met"}; memory from the first run's start to the last run's end: RSS ` +
        `${first.rssStartMb} -> ${last.rssEndMb} MB (${signed(summary.rssGrowthMb)}), V8 heap used ` +
        `${first.heapStartMb} -> ${last.heapEndMb} MB (${signed(summary.heapGrowthMb)})`,
    )
    return { rate: options.rate, seconds: options.seconds, ...summary, runs: results }
  } finally {
    await runtime?.dispose()
    await sandbox.stop()
    await database?.drop()
  }
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n} MB`
