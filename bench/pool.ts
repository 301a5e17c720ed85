/**
 * Benchmark: `sync-history` on the account pool against a sandbox that enforces R getHistory calls/s per account
 * (Telegram's kind of budget), for 1, 3 and 10 accounts: the achieved rate over the budget N*R, FLOOD_WAITs, and how
 * evenly the accounts carried the requests. Target: ratio >= 0.95 with zero FLOOD_WAIT at every size.
 */
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase, runSyncHistory } from "./syncRun.ts"

export interface PoolBenchOptions {
  /** getHistory calls per second per account, the sandbox's budget and the pool's setting alike. */
  readonly rate: number
  /** Seconds each case should take at the budget (sets the posts per channel). */
  readonly seconds: number
  readonly adminUrl: string
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

/** One line of the sandbox's request log, as far as the budget benchmarks read it. */
export interface Entry {
  readonly at: number
  readonly userId: number | undefined
  readonly method: string
  readonly outcome: string
}

/** The getHistory calls of the sandbox's request log. */
export const historyCalls = async (admin: string): Promise<ReadonlyArray<Entry>> =>
  (await (await fetch(`${admin}/log?method=messages.GetHistory`)).json()).entries

/**
 * What `calls` achieved under a budget of `rate` calls/s for each of `accounts`: each call uses 1/rate of its
 * account's budget, so n calls over the span need span + 1/rate seconds of budget.
 */
export function budgetFigures(calls: ReadonlyArray<Entry>, rate: number, accounts: number) {
  const seconds = (calls.at(-1)!.at - calls[0]!.at) / 1000
  const achieved = calls.length / (seconds + 1 / rate)
  return {
    requests: calls.length,
    seconds: Number(seconds.toFixed(2)),
    budgetPerSec: accounts * rate,
    achievedPerSec: Number(achieved.toFixed(2)),
    ratio: Number((achieved / (accounts * rate)).toFixed(3)),
    floodWaits: calls.filter((e) => e.outcome.startsWith("FLOOD_WAIT")).length,
  }
}

/**
 * A sandbox enforcing `options.rate` getHistory calls/s per account, its channels holding the pages the budget of
 * `accounts` allows in `options.seconds` (100 posts a page).
 */
export async function budgetSandbox(accounts: number, channels: number, options: PoolBenchOptions) {
  const posts = Math.ceil((accounts * options.rate * options.seconds * 100) / channels)
  const sandbox = await spawnSandbox({ channels, posts, accounts, flood: [`messages.GetHistory:${options.rate}:3`] })
  return { sandbox, posts }
}

async function runCase(accounts: number, options: PoolBenchOptions) {
  const channels = Math.max(2, accounts)
  const { sandbox, posts } = await budgetSandbox(accounts, channels, options)
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined
  try {
    database = await benchDatabase(options.adminUrl, `pool_${accounts}`)
    options.progress(`${accounts} accounts: ${channels} channels of ${posts} posts at ${options.rate}/s per account`)
    await runSyncHistory({
      descriptorFile: sandbox.file,
      databaseUrl: database.url,
      channels: sandbox.descriptor.channels.filter((c) => !c.private),
      concurrency: channels,
      env: {
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_RPS_PER_ACCOUNT: String(options.rate),
        MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT: "2",
      },
    })
    const calls = await historyCalls(sandbox.descriptor.admin)
    const perAccount = new Map<number | undefined, number>()
    for (const e of calls) perAccount.set(e.userId, (perAccount.get(e.userId) ?? 0) + 1)
    const shares = [...perAccount.values()]
    return {
      accounts,
      posts: posts * channels,
      ...budgetFigures(calls, options.rate, accounts),
      accountsUsed: perAccount.size,
      // Least and most loaded account over the mean (1.00 and 1.00 is a perfect spread).
      spreadMin: Number((Math.min(...shares) / (calls.length / accounts)).toFixed(2)),
      spreadMax: Number((Math.max(...shares) / (calls.length / accounts)).toFixed(2)),
    }
  } finally {
    await sandbox.stop()
    await database?.drop()
  }
}

export async function benchPool(options: PoolBenchOptions): Promise<Record<string, unknown>> {
  const results = []
  for (const accounts of [1, 3, 10]) {
    const r = await runCase(accounts, options)
    results.push(r)
    options.report(
      `${String(r.accounts).padStart(2)} accounts  ${String(r.requests).padStart(5)} getHistory in ${r.seconds} s  ` +
        `${r.achievedPerSec}/s of ${r.budgetPerSec}/s  ratio ${r.ratio.toFixed(3)} (target >= 0.95)  ` +
        `FLOOD_WAIT ${r.floodWaits} (target 0)  spread ${r.spreadMin}-${r.spreadMax} of the mean over ` +
        `${r.accountsUsed} accounts`,
    )
  }
  return {
    rate: options.rate,
    cases: results,
    minRatio: Math.min(...results.map((r) => r.ratio)),
    floodWaits: results.reduce((n, r) => n + r.floodWaits, 0),
  }
}
