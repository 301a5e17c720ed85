/**
 * Benchmark: `serve` as cluster runners (processes, one PostgreSQL) against a sandbox in its own process.
 * 1. Budget: 9 accounts under a sandbox-enforced getHistory budget per account, on 1 runner and on 3: the achieved rate
 *    over the budget and FLOOD_WAITs (target: ratio >= 0.95, 0 FLOOD_WAIT, for both).
 * 2. Scale: 3 runners, 30 accounts, 2,000 small channels followed live too, one runner SIGKILLed half-way: time until
 *    every channel is caught up, requests per channel, each runner's CPU seconds and peak memory, and how long the
 *    killed runner's channels waited before another runner carried on; then activity on 200 channels (1,000
 *    changes/s for 10 s): how long after it every change is committed, and the runners' CPU meanwhile.
 */
import { budgetFigures, budgetSandbox, type Entry, historyCalls, type PoolBenchOptions } from "./pool.ts"
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase } from "./syncRun.ts"

/** As the pool benchmark's: `rate` getHistory calls/s per account, `seconds` for the budget case. */
export type ClusterBenchOptions = PoolBenchOptions

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = (l.addr as Deno.NetAddr).port
  l.close()
  return port
}

/** CPU seconds (user + system) and peak resident memory (MB) of a running process. */
async function usage(pid: number): Promise<{ cpuSeconds: number; peakRssMb: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "")
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
  return { cpuSeconds: ticks / 100, peakRssMb: Math.round(kb / 1024) }
}

interface Runner {
  readonly child: Deno.ChildProcess
  readonly health: string
}

/** `serve` as one runner of the cluster on `databaseUrl`. */
function startRunner(env: Readonly<Record<string, string>>): Runner {
  const health = freePort()
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=256", "src/main.ts", "serve"],
    env: {
      ...env,
      CLUSTER_ENABLED: "true",
      CLUSTER_RUNNER_ADDRESS: `127.0.0.1:${freePort()}`,
      HEALTH_BIND: `127.0.0.1:${health}`,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    },
    stdout: "null",
    stderr: "null",
  }).spawn()
  return { child, health: `http://127.0.0.1:${health}` }
}

async function stopAll(runners: ReadonlyArray<Runner>): Promise<void> {
  for (const r of runners) {
    try {
      r.child.kill("SIGTERM")
    } catch {
      // gone already
    }
  }
  await Promise.all(runners.map((r) => r.child.status))
}

/** One number a query on `databaseUrl` returns (0 when it fails). */
async function scalar(databaseUrl: string, query: string): Promise<number> {
  const out = await new Deno.Command("psql", { args: [databaseUrl, "-tAc", query], stdout: "piped", stderr: "null" })
    .output()
  return out.code === 0 ? Number(new TextDecoder().decode(out.stdout).trim() || 0) : 0
}

/** Channels whose history checkpoint says done. */
const channelsDone = (databaseUrl: string) =>
  scalar(databaseUrl, "SELECT count(*) FROM checkpoints WHERE stream = 'history' AND (cursor ->> 'done')::bool")

/** What a runner's /info says it owns (nothing while it does not answer). */
async function owned(
  runner: Runner,
): Promise<{ readonly accounts: ReadonlyArray<string>; readonly channels: ReadonlyArray<string> }> {
  try {
    const info = await (await fetch(`${runner.health}/info`)).json()
    return info.cluster?.owns ?? { accounts: [], channels: [] }
  } catch {
    return { accounts: [], channels: [] }
  }
}

/** Waits until `done()` reaches `target` (asked every 250 ms); the seconds it took. */
async function waitFor(what: string, target: number, done: () => Promise<number>, limitS: number) {
  const started = performance.now()
  for (;;) {
    const n = await done()
    if (n >= target) return (performance.now() - started) / 1000
    if (performance.now() - started > limitS * 1000) throw new Error(`${what}: ${n} of ${target} after ${limitS} s`)
    await sleep(250)
  }
}

/** The runners' environment: history of every public channel of the sandbox at `rate` calls/s per account. */
function runnerEnv(
  sandbox: Awaited<ReturnType<typeof spawnSandbox>>,
  databaseUrl: string,
  rate: number,
  concurrency: number,
) {
  return {
    TG_SANDBOX_FILE: sandbox.file,
    DATABASE_URL: databaseUrl,
    MTPROTO_ENABLED: "true",
    MTPROTO_HISTORY_ENABLED: "true",
    MTPROTO_POOL_ENABLED: "true",
    MTPROTO_PEERS: sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username).join(","),
    MTPROTO_CONCURRENCY: String(concurrency),
    MTPROTO_RPS_PER_ACCOUNT: String(rate),
    MTPROTO_GLOBAL_RPS: "10000",
    MTPROTO_HISTORY_INTERVAL_SEC: "86400",
  }
}

/** Case 1: `runners` runners, 9 accounts, the sandbox's budget per account. */
async function budgetCase(runnerCount: number, options: ClusterBenchOptions) {
  const accounts = 9
  const channels = 18
  const { sandbox, posts } = await budgetSandbox(accounts, channels, options)
  const database = await benchDatabase(options.adminUrl, `cluster_${runnerCount}`)
  const runners: Array<Runner> = []
  try {
    options.progress(`${runnerCount} runner(s), ${accounts} accounts: ${channels} channels of ${posts} posts`)
    const env = runnerEnv(sandbox, database.url, options.rate, channels)
    for (let i = 0; i < runnerCount; i++) runners.push(startRunner(env))
    // Runners that join move shards (and accounts) between them: the rate after every runner owns accounts is the
    // cluster's steady one.
    await waitFor("every runner owning accounts", runnerCount, async () => {
      const owns = await Promise.all(runners.map((r) => owned(r)))
      return owns.filter((o) => o.accounts.length > 0).length
    }, 120)
    const joined = Date.now()
    await waitFor("channels done", channels, () => channelsDone(database.url), 600)
    const calls = await historyCalls(sandbox.descriptor.admin)
    const steady = calls.filter((c) => c.at >= joined)
    return {
      runners: runnerCount,
      accounts,
      ...budgetFigures(calls, options.rate, accounts),
      joinedAfterSeconds: Number(((joined - calls[0]!.at) / 1000).toFixed(1)),
      steadyRatio: budgetFigures(steady, options.rate, accounts).ratio,
    }
  } finally {
    await stopAll(runners)
    await sandbox.stop()
    await database.drop()
  }
}

/** Case 2: 3 runners, 30 accounts, 2,000 small channels; one runner SIGKILLed half-way. */
async function scaleCase(options: ClusterBenchOptions) {
  const accounts = 30
  const channels = 2_000
  const rate = 5
  const sandbox = await spawnSandbox({
    channels,
    posts: 50,
    accounts,
    flood: [`messages.GetHistory:${rate}:3`],
  })
  const database = await benchDatabase(options.adminUrl, "cluster_scale")
  const runners: Array<Runner> = []
  try {
    options.progress(`3 runners, ${accounts} accounts: ${channels} channels of 50 posts, followed live`)
    const env = { ...runnerEnv(sandbox, database.url, rate, 64), MTPROTO_UPDATES_ENABLED: "true" }
    const started = performance.now()
    for (let i = 0; i < 3; i++) runners.push(startRunner(env))
    await waitFor("half the channels", channels / 2, () => channelsDone(database.url), 900)
    const victim = runners[0]!
    const orphaned = (await owned(victim)).channels
    const victimUsage = await usage(victim.child.pid)
    const doneBefore = await channelsDone(database.url)
    // The killed runner's channels were being synced: another runner stores posts of them again.
    const orphanIds = sandbox.descriptor.channels.filter((c) => orphaned.includes(`@${c.username}`)).map((c) => c.id)
    const orphanPosts = () =>
      orphanIds.length === 0
        ? Promise.resolve(0)
        : scalar(database.url, `SELECT count(*) FROM posts WHERE channel_id IN (${orphanIds.join(",")})`)
    victim.child.kill("SIGKILL")
    await victim.child.status
    const killedAt = performance.now()
    const before = await orphanPosts()
    if (orphanIds.length > 0) await waitFor("the killed runner's channels resumed", before + 1, orphanPosts, 120)
    const failoverS = (performance.now() - killedAt) / 1000
    const catchUpS = (performance.now() - started) / 1000 +
      await waitFor("every channel", channels, () => channelsDone(database.url), 900)
    const survivors = await Promise.all(runners.slice(1).map((r) => usage(r.child.pid)))
    // Live: every channel followed (the killed runner's ones by the survivors), then activity on 200 of them.
    const followed = () => scalar(database.url, "SELECT count(*) FROM checkpoints WHERE stream = 'updates'")
    const followS = await waitFor("every channel followed", channels, followed, 300)
    const live = await liveActivity(sandbox.descriptor.admin, database.url, runners.slice(1))
    const calls = await historyCalls(sandbox.descriptor.admin)
    const all = (await (await fetch(`${sandbox.descriptor.admin}/log`)).json()).entries as ReadonlyArray<Entry>
    const stats = await (await fetch(`${sandbox.descriptor.admin}/stats`)).json()
    return {
      runners: 3,
      accounts,
      channels,
      catchUpSeconds: Number(catchUpS.toFixed(1)),
      doneWhenKilled: doneBefore,
      channelsMoved: orphaned.length,
      failoverSeconds: Number(failoverS.toFixed(1)),
      getHistoryPerChannel: Number((calls.length / channels).toFixed(2)),
      requestsPerChannel: Number((all.length / channels).toFixed(2)),
      floodWaits: all.filter((e) => e.outcome.startsWith("FLOOD_WAIT")).length,
      authKeyDuplicated: stats.authKeyDuplicated,
      runnerCpuSeconds: [victimUsage.cpuSeconds, ...survivors.map((u) => u.cpuSeconds)],
      runnerPeakRssMb: [victimUsage.peakRssMb, ...survivors.map((u) => u.peakRssMb)],
      everyChannelFollowedAfterSeconds: Number(followS.toFixed(1)),
      live,
    }
  } finally {
    await stopAll(runners)
    await sandbox.stop()
    await database.drop()
  }
}

/** Activity on 200 channels (50 changes each at 5/s), followed by `runners`: lag and CPU. */
async function liveActivity(admin: string, databaseUrl: string, runners: ReadonlyArray<Runner>) {
  const world = async () =>
    (await (await fetch(`${admin}/channels`)).json()) as ReadonlyArray<{ id: number; pts: number; isPrivate: boolean }>
  const active = (await world()).filter((c) => !c.isPrivate).slice(0, 200).map((c) => c.id)
  const before = await Promise.all(runners.map((r) => usage(r.child.pid)))
  const started = performance.now()
  for (const id of active) {
    await fetch(`${admin}/channels/${id}/activity`, { method: "POST", body: JSON.stringify({ count: 50, rate: 5 }) })
  }
  const running = async () => {
    let n = 0
    for (const id of active) {
      const a = await (await fetch(`${admin}/channels/${id}/activity`)).json()
      if (!a.running && a.done >= a.total) n++
    }
    return n
  }
  await waitFor("the activity", active.length, running, 300)
  const ended = performance.now()
  const target = new Map((await world()).map((c) => [c.id, c.pts]))
  const committed = () =>
    scalar(
      databaseUrl,
      `SELECT count(*) FROM checkpoints WHERE stream = 'updates' AND (${
        active.map((id) => `(channel_id = ${id} AND (cursor ->> 'pts')::int8 >= ${target.get(id)})`).join(" OR ")
      })`,
    )
  const lagS = await waitFor("every change committed", active.length, committed, 300)
  const after = await Promise.all(runners.map((r) => usage(r.child.pid)))
  const seconds = (performance.now() - started) / 1000
  return {
    channels: active.length,
    changes: active.length * 50,
    activitySeconds: Number(((ended - started) / 1000).toFixed(1)),
    committedAfterEndSeconds: Number(lagS.toFixed(1)),
    runnerCpuPercent: after.map((u, i) => Math.round((u.cpuSeconds - before[i]!.cpuSeconds) / seconds * 100)),
    runnerPeakRssMb: after.map((u) => u.peakRssMb),
  }
}

export async function benchCluster(options: ClusterBenchOptions): Promise<Record<string, unknown>> {
  const budget = []
  for (const runners of [1, 3]) {
    const r = await budgetCase(runners, options)
    budget.push(r)
    options.report(
      `${r.runners} runner(s)  ${r.accounts} accounts  ${r.requests} getHistory in ${r.seconds} s  ` +
        `${r.achievedPerSec}/s of ${r.budgetPerSec}/s  ratio ${r.ratio.toFixed(3)} (target >= 0.95), ` +
        `${r.steadyRatio.toFixed(3)} once every runner owned accounts (${r.joinedAfterSeconds} s in)  ` +
        `FLOOD_WAIT ${r.floodWaits} (target 0)`,
    )
  }
  const scale = await scaleCase(options)
  options.report(
    `3 runners  30 accounts  2,000 channels caught up in ${scale.catchUpSeconds} s  ` +
      `${scale.getHistoryPerChannel} getHistory (${scale.requestsPerChannel} requests) per channel  ` +
      `SIGKILL at ${scale.doneWhenKilled} done: ${scale.channelsMoved} channels resumed elsewhere after ` +
      `${scale.failoverSeconds} s  CPU s per runner ${scale.runnerCpuSeconds.join("/")}  ` +
      `peak RSS MB ${scale.runnerPeakRssMb.join("/")}  FLOOD_WAIT ${scale.floodWaits}  ` +
      `AUTH_KEY_DUPLICATED ${scale.authKeyDuplicated}`,
  )
  options.report(
    `live: every channel followed ${scale.everyChannelFollowedAfterSeconds} s after history; ` +
      `${scale.live.changes} changes on ${scale.live.channels} channels in ${scale.live.activitySeconds} s, ` +
      `all committed ${scale.live.committedAfterEndSeconds} s after the end  ` +
      `CPU % per surviving runner ${scale.live.runnerCpuPercent.join("/")}  ` +
      `peak RSS MB ${scale.live.runnerPeakRssMb.join("/")}`,
  )
  return {
    rate: options.rate,
    budget,
    minRatio: Math.min(...budget.map((r) => r.ratio)),
    minSteadyRatio: Math.min(...budget.map((r) => r.steadyRatio)),
    floodWaits: budget.reduce((n, r) => n + r.floodWaits, 0),
    scale,
  }
}
