/**
 * Benchmark: live updates. A sandbox in its own process produces changes of every kind on 5 channels at a given total
 * rate; LiveUpdates (in this process, on PostgreSQL) follows them. Figures: updates applied per second, and the
 * latency from the sandbox's push (its push log) to the commit of the row (the collector's commit callback), p50 and
 * p99, over the pts-moving updates. Target: at least 2,000 updates/s with p99 at most 250 ms.
 */
import { Effect, Fiber, Layer, ManagedRuntime, References } from "effect"
import { CollectorsLive } from "../src/App.ts"
import { AppConfig } from "../src/Config.ts"
import { LiveUpdates, percentile } from "../src/collect/LiveUpdates.ts"
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase, runSyncHistory } from "./syncRun.ts"

export interface UpdatesBenchOptions {
  /** Changes per second over all channels. */
  readonly rate: number
  readonly seconds: number
  readonly adminUrl: string
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

const CHANNELS = 5

interface Push {
  readonly channelId: number
  readonly pts?: number
  readonly at: number
  readonly withheld?: boolean
}

export async function benchUpdates(options: UpdatesBenchOptions): Promise<Record<string, unknown>> {
  const sandbox = await spawnSandbox({ channels: CHANNELS, posts: 1_000, accounts: 1 })
  const get = async (path: string) => (await fetch(`${sandbox.descriptor.admin}${path}`)).json()
  const post = (path: string, body: unknown) =>
    fetch(`${sandbox.descriptor.admin}${path}`, {
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
    const commits = new Map<string, number>()
    let applied = 0
    const refs = channels.map((c) => ({ _tag: "Username" as const, username: c.username }))
    const fiber = runtime.runFork(
      LiveUpdates.use((l) =>
        l.run(refs, {
          reconcileSeconds: 3_600,
          statusSeconds: 0,
          onCommit: (updates, at) =>
            Effect.sync(() => {
              for (const u of updates) commits.set(`${u.channelId}:${u.pts}`, at)
            }),
        })
      ),
    )
    // Followed once every channel's pts is committed (the start reads each channel's pts).
    await new Promise((r) => setTimeout(r, 2_000))
    const since = (await get("/pushes?since=0")).lastSeq ?? 0
    const perChannel = Math.round(options.rate / CHANNELS)
    const count = perChannel * options.seconds
    options.progress(`${CHANNELS} channels × ${perChannel} changes/s for ${options.seconds} s`)
    const started = Date.now()
    for (const c of channels) await post(`/channels/${c.id}/activity`, { count, rate: perChannel })
    // Until the activity ends and the collector has committed every channel's current pts.
    const deadline = Date.now() + (options.seconds + 60) * 1000
    for (;;) {
      const list: ReadonlyArray<{ id: number; pts: number }> = await get("/channels")
      const activity = await Promise.all(channels.map((c) => get(`/channels/${c.id}/activity`)))
      const running = activity.some((a: { running: boolean }) => a.running)
      const pending = list.filter((c) => channels.some((x) => x.id === c.id) && !commits.has(`${c.id}:${c.pts}`))
      if (!running && pending.length === 0) break
      if (Date.now() > deadline) throw new Error("the collector did not catch up within a minute of the activity")
      await new Promise((r) => setTimeout(r, 100))
    }
    const stats = await runtime.runPromise(LiveUpdates.use((l) => l.stats))
    applied = stats.applied
    await runtime.runPromise(Fiber.interrupt(fiber))
    const pushes: ReadonlyArray<Push> = (await get(`/pushes?since=${since}&limit=10000000`)).entries
    const latencies: Array<number> = []
    let lastCommit = started
    for (const p of pushes) {
      if (p.pts === undefined || p.withheld) continue
      const at = commits.get(`${p.channelId}:${p.pts}`)
      if (at === undefined) continue
      latencies.push(at - p.at)
      lastCommit = Math.max(lastCommit, at)
    }
    const seconds = (lastCommit - started) / 1000
    const figures = {
      rate: options.rate,
      seconds: Number(seconds.toFixed(2)),
      pushes: pushes.length,
      applied,
      updatesPerSec: Math.round(pushes.length / seconds),
      measured: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
      batches: stats.batches,
      duplicates: stats.duplicates,
    }
    options.report(
      `${figures.pushes} updates (${CHANNELS} channels, asked ${options.rate}/s) in ${figures.seconds} s: ` +
        `${figures.updatesPerSec} updates/s (target >= 2,000); push-to-commit p50 ${figures.p50Ms} ms, ` +
        `p99 ${figures.p99Ms} ms (target <= 250), max ${figures.maxMs} ms over ${figures.measured} pts updates; ` +
        `${figures.batches} commits`,
    )
    return figures
  } finally {
    await runtime?.dispose()
    await sandbox.stop()
    await database?.drop()
  }
}
