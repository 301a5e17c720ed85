/** Shared by the benchmarks that run `sync-history`: a throwaway PostgreSQL database and the task as a subprocess. */
import type { Descriptor } from "@tgpulse/sandbox/descriptor"

async function psql(adminUrl: string, statement: string): Promise<void> {
  const out = await new Deno.Command("psql", { args: [adminUrl, "-qc", statement], stdout: "null", stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`psql failed: ${new TextDecoder().decode(out.stderr)}`)
}

/** Creates database `tgpulse_bench_<label>_<random>` next to `adminUrl`; `drop` removes it (never throws). */
export async function benchDatabase(adminUrl: string, label: string) {
  const name = `tgpulse_bench_${label}_${crypto.randomUUID().slice(0, 8)}`
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

/** Runs `tgpulse <subcommand>` (heap capped as its deno task is): its stdout and peak RSS; throws when it fails. */
async function runMeasured(subcommand: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=160", "src/main.ts", subcommand, ...args],
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
}

/**
 * Runs `sync-history` for every channel into `databaseUrl`, `env` adding to or overriding the defaults; the figures of
 * its total line and its peak RSS. Throws with its output when it fails.
 */
export async function runSyncHistory(options: {
  readonly descriptorFile: string
  readonly databaseUrl: string
  readonly channels: Descriptor["channels"]
  readonly concurrency: number
  readonly env?: Readonly<Record<string, string>>
}) {
  const { text, peakRssMb } = await runMeasured(
    "sync-history",
    ["--channels", options.channels.map((c) => c.username).join(",")],
    {
      TG_SANDBOX_FILE: options.descriptorFile,
      DATABASE_URL: options.databaseUrl,
      MTPROTO_HISTORY_ENABLED: "true",
      MTPROTO_CONCURRENCY: String(options.concurrency),
      ...options.env,
    },
  )
  const total = /total: fetched (\d+) posts .* with (\d+) requests in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { posts: Number(total[1]), requests: Number(total[2]), seconds: Number(total[3]), peakRssMb }
}

/** Runs `load-stats` for the channels into `databaseUrl`: its summary lines, total line and peak RSS. */
export async function runLoadStats(options: {
  readonly descriptorFile: string
  readonly databaseUrl: string
  readonly channels: Descriptor["channels"]
  readonly env?: Readonly<Record<string, string>>
}) {
  const { text, peakRssMb } = await runMeasured(
    "load-stats",
    ["--peers", options.channels.map((c) => c.username).join(",")],
    {
      TG_SANDBOX_FILE: options.descriptorFile,
      DATABASE_URL: options.databaseUrl,
      MTPROTO_STATS_ENABLED: "true",
      ...options.env,
    },
  )
  const total = /total: (\d+) of (\d+) peers loaded, (\d+) skipped, (\d+) failed in ([\d.]+) s/.exec(text)
  if (!total) throw new Error(`no total line in: ${text}`)
  return { lines: text.trim().split("\n"), loaded: Number(total[1]), seconds: Number(total[5]), peakRssMb }
}
