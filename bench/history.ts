/**
 * Benchmark: `sync-history` into PostgreSQL against the sandbox, next to the raw ceiling measured in the same run
 * (the same pages fetched and decoded by GramJS, no normalize, no database) twice: GramJS as it ships, and GramJS with
 * tgpulse's fast paths (src/telegram/FastPaths.ts: longs and gzip, which tgpulse's own process uses). Cases: one channel of 10,000 posts, one
 * of 100,000, ten channels of 10,000; then, for memory only (no raw ceiling: it would double a long run), one channel
 * of 1,000,000 and ten of 100,000: peak RSS must stay flat from 10k to 1M. Each case also gives the task's start-up
 * (its spawn to the first request the sandbox received).
 */
import { Api } from "telegram"
import type { Descriptor } from "@tgpulse/sandbox/descriptor"
import { useFastPaths } from "../src/telegram/FastPaths.ts"
import { connectFirstAccount, pageRequest, spawnSandbox } from "./sandbox.ts"
import { benchDatabase, lastRequest, runSyncHistory } from "./syncRun.ts"

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
  /** Measure the raw ceiling too (and warm the sandbox's pages with it first). */
  readonly raw: boolean
}

const CASES: ReadonlyArray<Case> = [
  { name: "1x10k", channels: 1, posts: 10_000, raw: true },
  { name: "1x100k", channels: 1, posts: 100_000, raw: true },
  { name: "10x10k", channels: 10, posts: 10_000, raw: true },
  { name: "1x1M", channels: 1, posts: 1_000_000, raw: false },
  { name: "10x100k", channels: 10, posts: 100_000, raw: false },
]

/** Targets (issue 20): peak RSS of the sync-history process, its start-up on a warm cache. */
const RSS_TARGET_MB = 250
const STARTUP_TARGET_MS = 1000

/**
 * Walks every channel newest to oldest with one GramJS client, `concurrency` channels at once (with tgpulse's fast
 * paths or as GramJS ships); posts per second.
 */
async function rawCeiling(
  descriptor: Descriptor,
  channels: Descriptor["channels"],
  concurrency: number,
  fastPaths: boolean,
) {
  useFastPaths(fastPaths)
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
    useFastPaths(true)
  }
}

async function runCase(c: Case, options: HistoryBenchOptions) {
  const sandbox = await spawnSandbox({ channels: c.channels, posts: c.posts })
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined
  try {
    const channels = sandbox.descriptor.channels.filter((ch) => !ch.private)
    let raw: { readonly posts: number; readonly seconds: number } | undefined
    let rawFast: { readonly posts: number; readonly seconds: number } | undefined
    if (c.raw) {
      options.progress(`${c.name}: sandbox up, warming`)
      await rawCeiling(sandbox.descriptor, channels, options.concurrency, true) // renders every page once
      options.progress(`${c.name}: raw ceiling`)
      raw = await rawCeiling(sandbox.descriptor, channels, options.concurrency, false)
      rawFast = await rawCeiling(sandbox.descriptor, channels, options.concurrency, true)
    }
    database = await benchDatabase(options.adminUrl, c.name)
    options.progress(`${c.name}: sync`)
    const logBefore = await lastRequest(sandbox.descriptor.admin)
    const run = await runSyncHistory({
      descriptorFile: sandbox.file,
      databaseUrl: database.url,
      channels,
      concurrency: options.concurrency,
    })
    const requests = (await lastRequest(sandbox.descriptor.admin)) - logBefore
    const rate = run.posts / run.seconds
    const rawRate = raw === undefined ? undefined : raw.posts / raw.seconds
    const rawFastRate = rawFast === undefined ? undefined : rawFast.posts / rawFast.seconds
    return {
      name: c.name,
      posts: run.posts,
      postsPerSec: Math.round(rate),
      ...(rawRate === undefined || rawFastRate === undefined ? {} : {
        rawPostsPerSec: Math.round(rawRate),
        ratio: Number((rate / rawRate).toFixed(2)),
        rawFastPostsPerSec: Math.round(rawFastRate),
        ratioFast: Number((rate / rawFastRate).toFixed(2)),
      }),
      requestsPer1000: Number(((requests / run.posts) * 1000).toFixed(2)),
      peakRssMb: Math.round(run.peakRssMb),
      startupMs: run.startupMs,
    }
  } finally {
    await sandbox.stop()
    await database?.drop()
  }
}

type CaseResult = Awaited<ReturnType<typeof runCase>>

/** A case's result line: its rates (next to the raw ceiling when measured), requests, peak RSS and start-up. */
function caseLine(r: CaseResult): string {
  const raw = r.rawPostsPerSec === undefined || r.ratio === undefined || r.ratioFast === undefined
    ? "  (no raw ceiling: memory case)"
    : `  raw GramJS ${String(r.rawPostsPerSec).padStart(6)} posts/s  ratio ${r.ratio.toFixed(2)} (target >= 0.8)` +
      `  raw with fast paths ${String(r.rawFastPostsPerSec).padStart(6)} posts/s  ratio ${r.ratioFast.toFixed(2)}`
  const startup = r.startupMs === undefined ? "unknown" : `${r.startupMs} ms`
  return `${r.name.padEnd(7)} ${String(r.posts).padStart(7)} posts  sync ${String(r.postsPerSec).padStart(6)} posts/s` +
    `${raw}  ${r.requestsPer1000.toFixed(2)} req/1000 posts (<= 10.1)` +
    `  peak RSS ${r.peakRssMb} MB (<= ${RSS_TARGET_MB})  start-up ${startup} (target < ${STARTUP_TARGET_MS})`
}

export async function benchHistory(options: HistoryBenchOptions): Promise<Record<string, unknown>> {
  const results: Array<CaseResult> = []
  for (const c of CASES) {
    const r = await runCase(c, options)
    results.push(r)
    options.report(caseLine(r))
  }
  const rss = Object.fromEntries(results.map((r) => [r.name, r.peakRssMb]))
  options.report(
    `peak RSS 10k -> 100k -> 1M: ${rss["1x10k"]} MB -> ${rss["1x100k"]} MB -> ${rss["1x1M"]} MB; ` +
      `10x10k -> 10x100k: ${rss["10x10k"]} MB -> ${rss["10x100k"]} MB (flat, <= ${RSS_TARGET_MB} MB, is the target)`,
  )
  const ratios = results.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]))
  const ratiosFast = results.flatMap((r) => (r.ratioFast === undefined ? [] : [r.ratioFast]))
  const startups = results.flatMap((r) => (r.startupMs === undefined ? [] : [r.startupMs]))
  return {
    cases: results,
    minRatio: Math.min(...ratios),
    minRatioFast: Math.min(...ratiosFast),
    maxRequestsPer1000: Math.max(...results.map((r) => r.requestsPer1000)),
    maxPeakRssMb: Math.max(...results.map((r) => r.peakRssMb)),
    peakRssFlat: { "1x10k": rss["1x10k"], "1x1M": rss["1x1M"], "10x10k": rss["10x10k"], "10x100k": rss["10x100k"] },
    maxStartupMs: startups.length === 0 ? null : Math.max(...startups),
  }
}
