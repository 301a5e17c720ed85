/**
 * Benchmark: `sync-history` into PostgreSQL against the sandbox, next to the raw ceiling measured in the same run
 * (the same pages fetched and decoded by GramJS, no normalize, no database). Cases: one channel of 10,000 posts, one
 * of 100,000 (peak RSS must stay flat between them), ten channels of 10,000.
 */
import { Api } from "telegram"
import type { Descriptor } from "../src/sandbox/Descriptor.ts"
import { connectFirstAccount, pageRequest, spawnSandbox } from "./sandbox.ts"

export interface HistoryBenchOptions {
  /** Where to create the benchmark databases (they are dropped afterwards). */
  readonly adminUrl: string
  /** Channels synced at once, for the raw ceiling and the sync alike. */
  readonly concurrency: number
  /** A result line (stdout). */
  readonly report: (line: string) => void
  /** Where the run is (stderr), so a long run shows it is alive. */
  readonly progress: (line: string) => void
}

interface Case {
  readonly name: string
  readonly channels: number
  readonly posts: number
}

const CASES: ReadonlyArray<Case> = [
  { name: "1x10k", channels: 1, posts: 10_000 },
  { name: "1x100k", channels: 1, posts: 100_000 },
  { name: "10x10k", channels: 10, posts: 10_000 },
]

async function psql(adminUrl: string, statement: string): Promise<void> {
  const out = await new Deno.Command("psql", { args: [adminUrl, "-qc", statement], stdout: "null", stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`psql failed: ${new TextDecoder().decode(out.stderr)}`)
}

/** Walks every channel newest to oldest with one GramJS client, `concurrency` channels at once; posts per second. */
async function rawCeiling(descriptor: Descriptor, channels: Descriptor["channels"], concurrency: number) {
  const client = await connectFirstAccount(descriptor)
  try {
    let posts = 0
    const queue = [...channels]
    const started = performance.now()
    const lane = async () => {
      for (let channel = queue.shift(); channel; channel = queue.shift()) {
        for (let offsetId = 0;;) {
          const page = await client.invoke(pageRequest(channel, offsetId)) as Api.messages.ChannelMessages
          if (page.messages.length === 0) break
          posts += page.messages.length
          offsetId = page.messages.at(-1)!.id
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, lane))
    return { posts, seconds: (performance.now() - started) / 1000 }
  } finally {
    await client.destroy()
  }
}

/** Peak resident memory (VmHWM) of a running process, in MB; 0 once it is gone. */
async function peakRssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "")
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  return kb === undefined ? 0 : Number(kb) / 1024
}

/** Runs `sync-history` for every channel into a fresh database; its figures and its peak RSS. */
async function sync(
  descriptorFile: string,
  databaseUrl: string,
  channels: Descriptor["channels"],
  concurrency: number,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-old-space-size=160",
      "tasks/sync_history.ts",
      "--channels",
      channels.map((c) => c.username).join(","),
    ],
    env: {
      TG_SANDBOX_FILE: descriptorFile,
      DATABASE_URL: databaseUrl,
      MTPROTO_ENABLED: "true",
      MTPROTO_HISTORY_ENABLED: "true",
      MTPROTO_CONCURRENCY: String(concurrency),
      // The sandbox enforces no budget here: the rate limits must not be what is measured.
      MTPROTO_RPS_PER_ACCOUNT: "1000",
      MTPROTO_GLOBAL_RPS: "10000",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  let peak = 0
  const poll = setInterval(async () => (peak = Math.max(peak, await peakRssMb(child.pid))), 50)
  const output = await child.output()
  clearInterval(poll)
  const text = new TextDecoder().decode(output.stdout)
  if (output.code !== 0) throw new Error(`sync-history failed: ${text}${new TextDecoder().decode(output.stderr)}`)
  const total = /total: fetched (\d+) posts .* with (\d+) requests in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { posts: Number(total[1]), requests: Number(total[2]), seconds: Number(total[3]), peakRssMb: peak }
}

async function runCase(c: Case, options: HistoryBenchOptions) {
  const sandbox = await spawnSandbox({ channels: c.channels, posts: c.posts })
  const database = `tgpulse_bench_${c.name}_${crypto.randomUUID().slice(0, 8)}`
  try {
    const channels = sandbox.descriptor.channels.filter((ch) => !ch.private)
    options.progress(`${c.name}: sandbox up, warming`)
    await rawCeiling(sandbox.descriptor, channels, options.concurrency) // renders every page once
    options.progress(`${c.name}: raw ceiling`)
    const raw = await rawCeiling(sandbox.descriptor, channels, options.concurrency)
    await psql(options.adminUrl, `CREATE DATABASE ${database}`)
    const url = new URL(options.adminUrl)
    url.pathname = `/${database}`
    options.progress(`${c.name}: sync`)
    const logBefore = await requestCount(sandbox.descriptor)
    const run = await sync(sandbox.file, url.toString(), channels, options.concurrency)
    const requests = (await requestCount(sandbox.descriptor)) - logBefore
    const rawRate = raw.posts / raw.seconds
    const rate = run.posts / run.seconds
    return {
      name: c.name,
      posts: run.posts,
      postsPerSec: Math.round(rate),
      rawPostsPerSec: Math.round(rawRate),
      ratio: Number((rate / rawRate).toFixed(2)),
      requestsPer1000: Number(((requests / run.posts) * 1000).toFixed(2)),
      peakRssMb: Math.round(run.peakRssMb),
    }
  } finally {
    await sandbox.stop()
    await psql(options.adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
  }
}

/** Every request the sandbox has answered so far (its request log's sequence number). */
async function requestCount(descriptor: Descriptor): Promise<number> {
  const log = await (await fetch(`${descriptor.admin}/log?since=999999999`)).json()
  return log.lastSeq as number
}

export async function benchHistory(options: HistoryBenchOptions): Promise<Record<string, unknown>> {
  const results = []
  for (const c of CASES) {
    const r = await runCase(c, options)
    results.push(r)
    options.report(
      `${r.name.padEnd(7)} ${String(r.posts).padStart(7)} posts  sync ${String(r.postsPerSec).padStart(6)} posts/s` +
        `  raw ${String(r.rawPostsPerSec).padStart(6)} posts/s  ratio ${r.ratio.toFixed(2)} (target >= 0.8)` +
        `  ${r.requestsPer1000.toFixed(2)} req/1000 posts (<= 10.1)  peak RSS ${r.peakRssMb} MB (<= 250)`,
    )
  }
  const rss = Object.fromEntries(results.map((r) => [r.name, r.peakRssMb]))
  options.report(`peak RSS 10k -> 100k: ${rss["1x10k"]} MB -> ${rss["1x100k"]} MB (flat is the target)`)
  return {
    cases: results,
    minRatio: Math.min(...results.map((r) => r.ratio)),
    maxRequestsPer1000: Math.max(...results.map((r) => r.requestsPer1000)),
    maxPeakRssMb: Math.max(...results.map((r) => r.peakRssMb)),
  }
}
