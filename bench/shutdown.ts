/**
 * `deno task bench shutdown`: how long SIGTERM takes to end a busy task (the tests check that it stops mid-run with
 * exit 0 and loses nothing acknowledged; the time is measured here). sync-history in the middle of a 100,000-post
 * channel, serve in the middle of its history run, poll-updates while 3 channels change at 170/s each: each stopped
 * `rounds` times; the milliseconds from the signal to the exit, and the exit codes.
 */
import { spawnSandbox } from "./sandbox.ts"
import { benchDatabase } from "./syncRun.ts"

const ENV = {
  MTPROTO_ENABLED: "true",
  MTPROTO_RPS_PER_ACCOUNT: "1000",
  MTPROTO_GLOBAL_RPS: "10000",
  LOG_LEVEL: "warn",
  LOG_FORMAT: "json",
}

async function psqlCount(url: string, sql: string): Promise<number> {
  const out = await new Deno.Command("psql", { args: [url, "-tAc", sql], stdout: "piped", stderr: "null" }).output()
  return Number(new TextDecoder().decode(out.stdout).trim() || 0)
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_200; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`bench shutdown: ${what} did not happen within 60 s`)
}

/** Starts `tgpulse <subcommand>`, waits for `busy`, sends SIGTERM: the milliseconds to the exit and the exit code. */
async function stopWhenBusy(
  subcommand: string,
  env: Record<string, string>,
  busy: () => Promise<boolean>,
): Promise<{ readonly ms: number; readonly code: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", subcommand],
    env: { ...ENV, ...env },
    stdout: "null",
    stderr: "null",
  }).spawn()
  try {
    await waitFor(busy, `${subcommand} busy`)
    const sent = performance.now()
    child.kill("SIGTERM")
    const status = await child.status
    return { ms: Math.round(performance.now() - sent), code: status.code }
  } finally {
    try {
      child.kill("SIGKILL")
    } catch {
      // gone
    }
  }
}

export async function benchShutdown(options: {
  readonly adminUrl: string
  readonly rounds: number
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}): Promise<Record<string, unknown>> {
  const sandbox = await spawnSandbox({ channels: 3, posts: 100_000, accounts: 1 })
  const figures: Record<string, Array<number>> = {}
  const codes: Array<number> = []
  const record = (name: string, r: { ms: number; code: number }) => {
    ;(figures[name] ??= []).push(r.ms)
    codes.push(r.code)
    options.progress(`${name}: exit ${r.code} after ${r.ms} ms`)
  }
  try {
    const [a, b, c] = sandbox.descriptor.channels
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${sandbox.descriptor.admin}${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      })
      if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`)
    }
    for (let round = 0; round < options.rounds; round++) {
      const db = await benchDatabase(options.adminUrl, "shutdown")
      try {
        const env = {
          TG_SANDBOX_FILE: sandbox.file,
          DATABASE_URL: db.url,
          MTPROTO_HISTORY_ENABLED: "true",
          MTPROTO_PEERS: a!.username,
        }
        const posts = () => psqlCount(db.url, "SELECT count(*) FROM posts")
        // sync-history with a third of the channel stored.
        record("syncHistoryMs", await stopWhenBusy("sync-history", env, async () => (await posts()) > 30_000))
        // serve, in the middle of the next history run (of another channel).
        const port = String(20_000 + Math.floor(Math.random() * 20_000))
        const serveEnv = { ...env, MTPROTO_PEERS: b!.username, HEALTH_BIND: `127.0.0.1:${port}` }
        const before = await posts()
        record("serveMs", await stopWhenBusy("serve", serveEnv, async () => (await posts()) > before + 30_000))
        // poll-updates following a channel that changes at 170/s: stopped once 100 changes are committed.
        const pollEnv = { ...env, MTPROTO_PEERS: c!.username, MTPROTO_UPDATES_ENABLED: "true" }
        const pts = () =>
          psqlCount(db.url, "SELECT coalesce(max((cursor->>'pts')::int8), 0) FROM checkpoints WHERE stream = 'updates'")
        let followedAt = 0
        const changing = async () => {
          const now = await pts()
          if (now === 0) return false
          if (followedAt === 0) {
            followedAt = now
            await admin(`/channels/${c!.id}/activity`, { count: 5_000, rate: 170 })
            return false
          }
          return now > followedAt + 100
        }
        record("pollUpdatesMs", await stopWhenBusy("poll-updates", pollEnv, changing))
        await fetch(`${sandbox.descriptor.admin}/channels/${c!.id}/activity`, { method: "DELETE" }).then((r) =>
          r.body?.cancel()
        )
      } finally {
        await db.drop()
      }
    }
  } finally {
    await sandbox.stop()
  }
  const max = (xs: ReadonlyArray<number>) => Math.max(...xs)
  const out = {
    rounds: options.rounds,
    syncHistoryMaxMs: max(figures.syncHistoryMs ?? [0]),
    serveMaxMs: max(figures.serveMs ?? [0]),
    pollUpdatesMaxMs: max(figures.pollUpdatesMs ?? [0]),
    exitCodes: [...new Set(codes)],
  }
  options.report(
    `SIGTERM to exit, worst of ${options.rounds}: sync-history ${out.syncHistoryMaxMs} ms, serve ${out.serveMaxMs} ms, ` +
      `poll-updates ${out.pollUpdatesMaxMs} ms (exit codes ${out.exitCodes.join(", ")})`,
  )
  return out
}
