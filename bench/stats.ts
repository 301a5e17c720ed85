/**
 * Benchmark: `load-stats` against a sandbox in its own process, after a history sync of its channels: every channel's
 * statistics and, for each post of the period, its message stats and public forwards. Figures: seconds, posts with
 * statistics per second, requests per post, rows written, peak RSS; then the same run again (nothing changed: it
 * must write nothing).
 */
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase, lastRequest, runLoadStats, runSyncHistory } from "./syncRun.ts"

export interface StatsBenchOptions {
  readonly channels: number
  readonly posts: number
  readonly concurrency: number
  readonly adminUrl: string
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

interface Entry {
  readonly method: string
  readonly outcome: string
}

/** Sums the figures of load-stats' per-peer lines. */
function sum(lines: ReadonlyArray<string>) {
  let posts = 0
  let forwards = 0
  let rows = 0
  let requests = 0
  for (const line of lines) {
    const m = /, (\d+) posts \(\d+ failed\), (\d+) public forwards, (\d+) rows changed, requests (\d+)/.exec(line)
    if (!m) continue
    posts += Number(m[1])
    forwards += Number(m[2])
    rows += Number(m[3])
    requests += Number(m[4])
  }
  return { posts, forwards, rows, requests }
}

export async function benchStats(options: StatsBenchOptions): Promise<Record<string, unknown>> {
  const sandbox = await spawnSandbox({ channels: options.channels, posts: options.posts, accounts: 3 })
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined
  try {
    database = await benchDatabase(options.adminUrl, "stats")
    const channels = sandbox.descriptor.channels.filter((c) => !c.private)
    options.progress(`history of ${channels.length} channels of ${options.posts} posts`)
    await runSyncHistory({
      descriptorFile: sandbox.file,
      databaseUrl: database.url,
      channels,
      concurrency: 4,
      env: { MTPROTO_POOL_ENABLED: "true" },
    })
    const env = { MTPROTO_POOL_ENABLED: "true", MTPROTO_STATS_CONCURRENCY: String(options.concurrency) }
    const cases = []
    for (const label of ["first run", "re-run"]) {
      options.progress(`load-stats, ${label}`)
      const since = await lastRequest(sandbox.descriptor.admin)
      const run = await runLoadStats({ descriptorFile: sandbox.file, databaseUrl: database.url, channels, env })
      const log = await (await fetch(`${sandbox.descriptor.admin}/log?since=${since}&limit=1000000`)).json()
      const entries = (log.entries as ReadonlyArray<Entry>).filter((e) =>
        e.method.startsWith("stats.") || e.method === "channels.GetFullChannel"
      )
      const figures = sum(run.lines)
      cases.push({
        label,
        peers: run.loaded,
        seconds: run.seconds,
        postsWithStats: figures.posts,
        postsPerSec: Number((figures.posts / run.seconds).toFixed(1)),
        publicForwards: figures.forwards,
        requests: figures.requests,
        sandboxRequests: entries.length,
        requestsPerPost: Number((figures.requests / Math.max(1, figures.posts)).toFixed(2)),
        rowsChanged: figures.rows,
        errors: entries.filter((e) => e.outcome !== "ok").length,
        peakRssMb: Math.round(run.peakRssMb),
      })
    }
    for (const c of cases) {
      options.report(
        `${c.label.padEnd(9)} ${c.peers} peers in ${c.seconds} s: ${c.postsWithStats} posts with stats ` +
          `(${c.postsPerSec}/s), ${c.publicForwards} public forwards, ${c.requests} requests ` +
          `(${c.requestsPerPost} per post), ${c.rowsChanged} rows changed, ${c.errors} refused calls, ` +
          `peak RSS ${c.peakRssMb} MB`,
      )
    }
    return { channels: options.channels, posts: options.posts, concurrency: options.concurrency, cases }
  } finally {
    await sandbox.stop()
    await database?.drop()
  }
}
