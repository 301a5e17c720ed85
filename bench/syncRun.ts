/** Shared by the benchmarks that run `sync-history`: a throwaway PostgreSQL database and the task as a subprocess. */
import type { Descriptor } from "@tgpulse/sandbox/descriptor"

async function psql(adminUrl: string, statement: string): Promise<void> {
  const out = await new Deno.Command("psql", { args: [adminUrl, "-qc", statement], stdout: "null", stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`psql failed: ${new TextDecoder().decode(out.stderr)}`)
}

/**
 * Creates database `tgpulse_bench_<label>_<random>` next to `adminUrl`, in lower case (PostgreSQL folds the unquoted
 * name, and the URL must name what it created); `drop` removes it (never throws).
 */
export async function benchDatabase(adminUrl: string, label: string) {
  const name = `tgpulse_bench_${label}_${crypto.randomUUID().slice(0, 8)}`.toLowerCase()
  await psql(adminUrl, `CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}),
  }
}

/** Peak resident memory (VmHWM) of a running process, in MB; 0 once it is gone. */
async function peakRssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "")
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  return kb === undefined ? 0 : Number(kb) / 1024
}

/** The environment every benchmarked task gets: rates far above the sandbox's, so they are not what is measured. */
const BASE_ENV = {
  MTPROTO_ENABLED: "true",
  MTPROTO_RPS_PER_ACCOUNT: "1000",
  MTPROTO_GLOBAL_RPS: "10000",
  LOG_LEVEL: "warn",
  LOG_FORMAT: "json",
}

/** The sandbox's admin URL, read from its descriptor file. */
async function adminOf(descriptorFile: string): Promise<string> {
  const admin = JSON.parse(await Deno.readTextFile(descriptorFile))?.admin
  if (typeof admin !== "string") throw new Error(`no admin URL in ${descriptorFile}`)
  return admin
}

/** The sandbox's request log: entries after `since` (at most `limit`) and the last sequence number. */
async function requestLog(admin: string, since: number, limit: number) {
  const response = await fetch(`${admin}/log?since=${since}&limit=${limit}`)
  if (!response.ok) throw new Error(`GET ${admin}/log: ${response.status} ${await response.text()}`)
  return await response.json() as {
    readonly lastSeq: number
    readonly entries: ReadonlyArray<{ readonly seq: number; readonly at: number; readonly method: string }>
  }
}

/** The sequence number of the last request the sandbox at `admin` logged (every request it has answered so far). */
export async function lastRequest(admin: string): Promise<number> {
  return (await requestLog(admin, 999_999_999, 1)).lastSeq
}

/**
 * Runs `spawn` (a program in a process of its own, to its exit) and adds its start-up: from the spawn to the first
 * request the sandbox at `admin` logged after it, in wall-clock ms (meaningful while the sandbox's clock was not
 * moved; undefined if the log no longer holds that request).
 */
export async function withStartup<A extends object>(
  admin: string,
  spawn: () => Promise<A>,
): Promise<A & { readonly startupMs: number | undefined }> {
  const before = await lastRequest(admin)
  const spawned = Date.now()
  const result = await spawn()
  const first = (await requestLog(admin, before, 1)).entries[0]
  // The log is a ring: a run of more requests than it holds has pushed its first one out (start-up unknown then).
  return { ...result, startupMs: first?.seq === before + 1 ? first.at - spawned : undefined }
}

/**
 * Runs `tgpulse <subcommand>` (heap capped as its deno task is): its stdout, peak RSS and start-up (withStartup);
 * throws when it fails.
 */
const runMeasured = (
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  admin: string,
) =>
  withStartup(admin, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--max-old-space-size=160,--max-semi-space-size=4,--memory-saver-mode",
        "src/main.ts",
        subcommand,
        ...args,
      ],
      env: { ...BASE_ENV, ...env },
      stdout: "piped",
      stderr: "piped",
    }).spawn()
    let peak = 0
    const poll = setInterval(async () => (peak = Math.max(peak, await peakRssMb(child.pid))), 50)
    const output = await child.output()
    clearInterval(poll)
    const text = new TextDecoder().decode(output.stdout)
    if (output.code !== 0) throw new Error(`${subcommand} failed: ${text}${new TextDecoder().decode(output.stderr)}`)
    return { text, peakRssMb: peak }
  })

/**
 * Runs `sync-history` for every channel into `databaseUrl`, `env` adding to or overriding the defaults; the figures of
 * its total line, its peak RSS and its start-up (spawn to the sandbox's first request). Throws with its output when
 * it fails.
 */
export async function runSyncHistory(options: {
  readonly descriptorFile: string
  readonly databaseUrl: string
  readonly channels: Descriptor["channels"]
  readonly concurrency: number
  readonly env?: Readonly<Record<string, string>>
}) {
  const { text, peakRssMb, startupMs } = await runMeasured(
    "sync-history",
    ["--channels", options.channels.map((c) => c.username).join(",")],
    {
      TG_SANDBOX_FILE: options.descriptorFile,
      DATABASE_URL: options.databaseUrl,
      MTPROTO_HISTORY_ENABLED: "true",
      MTPROTO_CONCURRENCY: String(options.concurrency),
      ...options.env,
    },
    await adminOf(options.descriptorFile),
  )
  const total = /total: fetched (\d+) posts .* with (\d+) requests in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { posts: Number(total[1]), requests: Number(total[2]), seconds: Number(total[3]), peakRssMb, startupMs }
}

/** Runs `load-stats` for the channels into `databaseUrl`: its summary lines, total line, peak RSS and start-up. */
export async function runLoadStats(options: {
  readonly descriptorFile: string
  readonly databaseUrl: string
  readonly channels: Descriptor["channels"]
  readonly env?: Readonly<Record<string, string>>
}) {
  const { text, peakRssMb, startupMs } = await runMeasured(
    "load-stats",
    ["--peers", options.channels.map((c) => c.username).join(",")],
    {
      TG_SANDBOX_FILE: options.descriptorFile,
      DATABASE_URL: options.databaseUrl,
      MTPROTO_STATS_ENABLED: "true",
      ...options.env,
    },
    await adminOf(options.descriptorFile),
  )
  const total = /total: (\d+) of (\d+) peers loaded, (\d+) skipped, (\d+) failed in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { lines: text.trim().split("\n"), loaded: Number(total[1]), seconds: Number(total[5]), peakRssMb, startupMs }
}
