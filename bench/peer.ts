/**
 * Benchmark: tgpulse's `sync-history` next to the naive program of bench/naive.ts (GramJS `iterMessages`, one INSERT
 * per post), both reading the same channels of one sandbox into PostgreSQL, each a process of its own measured by wall
 * time from its spawn to its exit (start-up included). Target: sync-history at least 3x the naive program's posts/s.
 *
 * Fairness: each program first runs once untimed (Deno's module cache warm for both; each page each of them asks for
 * is then known to the sandbox, which caches a page the second time it is asked for), then the timed runs go naive,
 * sync, sync, naive, so each has one run that renders its pages and one that finds them cached, and neither goes
 * first or last only. Every run writes into a database of its own, and every run must have stored every post. Their
 * own clocks (each one's printed total) leave out start-up: sync-history counts from its layers built (connected,
 * migrated), the naive program from its client connected and its table created.
 */
import type { Descriptor } from "@tgpulse/sandbox/descriptor"
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase, runSyncHistory, withStartup } from "./syncRun.ts"

export interface PeerBenchOptions {
  /** Where to create the benchmark databases (they are dropped afterwards). */
  readonly adminUrl: string
  readonly channels: number
  /** Posts per channel. */
  readonly posts: number
  /** sync-history's MTPROTO_CONCURRENCY (its default is 2). */
  readonly concurrency: number
  /** A result line (stdout). */
  readonly report: (line: string) => void
  /** Where the run is (stderr). */
  readonly progress: (line: string) => void
}

type Program = "naive" | "sync"

interface Run {
  readonly program: Program
  /** Spawn to exit. */
  readonly wallSeconds: number
  /** By the program's own clock (its printed total: start-up left out). */
  readonly ownSeconds: number
  /** Spawn to the sandbox's first request of the run (its request log). */
  readonly startupMs: number | undefined
  /** Rows the run left in its database. */
  readonly stored: number
}

const TARGET = 3

async function psqlCount(url: string, table: string): Promise<number> {
  const out = await new Deno.Command("psql", { args: [url, "-tAc", `SELECT count(*) FROM ${table}`], stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`psql count failed: ${new TextDecoder().decode(out.stderr)}`)
  return Number(new TextDecoder().decode(out.stdout).trim())
}

/** Runs bench/naive.ts as its own process (as `deno run -A` runs a script): its posts and seconds by its own clock. */
async function runNaive(descriptorFile: string, databaseUrl: string, channels: Descriptor["channels"]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/naive.ts", descriptorFile, databaseUrl, channels.map((c) => c.username).join(",")],
    stdout: "piped",
    stderr: "piped",
  }).output()
  const text = new TextDecoder().decode(output.stdout)
  if (output.code !== 0) throw new Error(`naive.ts failed: ${text}${new TextDecoder().decode(output.stderr)}`)
  const total = /naive: fetched (\d+) posts in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { posts: Number(total[1]), seconds: Number(total[2]) }
}

async function runOnce(
  program: Program,
  sandbox: Awaited<ReturnType<typeof spawnSandbox>>,
  channels: Descriptor["channels"],
  options: PeerBenchOptions,
): Promise<Run> {
  const database = await benchDatabase(options.adminUrl, `peer_${program}`)
  try {
    const started = performance.now()
    const own = program === "naive"
      ? await withStartup(sandbox.descriptor.admin, () => runNaive(sandbox.file, database.url, channels))
      : await runSyncHistory({
        descriptorFile: sandbox.file,
        databaseUrl: database.url,
        channels,
        concurrency: options.concurrency,
      })
    const wallSeconds = (performance.now() - started) / 1000
    const stored = await psqlCount(database.url, program === "naive" ? "naive_posts" : "posts")
    const expected = channels.length * options.posts
    if (stored !== expected || own.posts !== expected) {
      throw new Error(`${program} stored ${stored} posts and counted ${own.posts}, expected ${expected}`)
    }
    return {
      program,
      wallSeconds,
      ownSeconds: own.seconds,
      startupMs: own.startupMs,
      stored,
    }
  } finally {
    await database.drop()
  }
}

export async function benchPeer(options: PeerBenchOptions): Promise<Record<string, unknown>> {
  const sandbox = await spawnSandbox({ channels: options.channels, posts: options.posts })
  try {
    const channels = sandbox.descriptor.channels.filter((c) => !c.private).slice(0, options.channels)
    const total = channels.length * options.posts
    options.progress(`peer: ${channels.length} x ${options.posts} posts; untimed runs of each`)
    await runOnce("naive", sandbox, channels, options)
    await runOnce("sync", sandbox, channels, options)
    const runs: Array<Run> = []
    for (const program of ["naive", "sync", "sync", "naive"] as const) {
      options.progress(`peer: timed ${program}`)
      const run = await runOnce(program, sandbox, channels, options)
      runs.push(run)
      options.report(
        `${program.padEnd(5)} ${total} posts stored  wall ${run.wallSeconds.toFixed(2)} s ` +
          `(${Math.round(total / run.wallSeconds)} posts/s)  own clock ${run.ownSeconds.toFixed(2)} s  ` +
          `start-up ${run.startupMs === undefined ? "?" : `${run.startupMs} ms`}`,
      )
    }
    const rate = (program: Program, seconds: (r: Run) => number) => {
      const mine = runs.filter((r) => r.program === program)
      return (total * mine.length) / mine.reduce((s, r) => s + seconds(r), 0)
    }
    const naive = rate("naive", (r) => r.wallSeconds)
    const sync = rate("sync", (r) => r.wallSeconds)
    const naiveOwn = rate("naive", (r) => r.ownSeconds)
    const syncOwn = rate("sync", (r) => r.ownSeconds)
    const ratio = Number((sync / naive).toFixed(2))
    options.report(
      `naive ${Math.round(naive)} posts/s, sync-history ${Math.round(sync)} posts/s (wall, start-up included, ` +
        `both runs): ratio ${ratio.toFixed(2)} (target >= ${TARGET}); by their own clocks ${Math.round(naiveOwn)} ` +
        `and ${Math.round(syncOwn)} posts/s: ${(syncOwn / naiveOwn).toFixed(2)}`,
    )
    const startups = (program: Program) => runs.filter((r) => r.program === program).map((r) => r.startupMs ?? -1)
    return {
      channels: channels.length,
      postsPerChannel: options.posts,
      concurrency: options.concurrency,
      naivePostsPerSec: Math.round(naive),
      syncPostsPerSec: Math.round(sync),
      ratio,
      target: TARGET,
      naiveOwnPostsPerSec: Math.round(naiveOwn),
      syncOwnPostsPerSec: Math.round(syncOwn),
      ownRatio: Number((syncOwn / naiveOwn).toFixed(2)),
      naiveStartupMs: startups("naive"),
      syncStartupMs: startups("sync"),
      runs: runs.map((r) => ({ program: r.program, wallSeconds: Number(r.wallSeconds.toFixed(2)) })),
    }
  } finally {
    await sandbox.stop()
  }
}
