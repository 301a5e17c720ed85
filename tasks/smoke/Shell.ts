/** The smoke run's shared state and shell helpers: running commands, waiting, free ports. */

/** The compose file's sandbox command: `--seed 1 --channels 4 --posts 2000` (and its default 3 accounts, DCs 2, 4). */
export const SANDBOX = { seed: 1, channels: 4, posts: 2000, accounts: 3, statsDcs: [2, 4] } as const
/** tgpulse's default, which .env.example keeps: `docker stop` must end it sooner. */
export const GRACEFUL_SHUTDOWN_TIMEOUT_S = 25
export const PROJECT = "tgpulse-smoke"
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "")
/** Where the smoke's own engine keeps its images between runs when it has to start dockerd itself. */
export const ENGINE_ROOT = "/tmp/tgpulse-smoke-engine"

export interface Flags {
  readonly keep: boolean
  readonly leaveEngine: boolean
  readonly noCache: boolean
  readonly freezeFirst: boolean
}

export interface Skipped {
  readonly service: string
  readonly reason: string
}

/** What the run has set up, for the cleanup to undo (also after a failure or Ctrl-C). */
export interface State {
  readonly flags: Flags
  readonly started: number
  docker: string
  compose: ReadonlyArray<string>
  tmp?: string
  env: Record<string, string>
  engine?: { readonly pid: number; readonly log: string }
  composeUp: boolean
  step: string
  /** Checks that failed (the run goes on to the next check, then exits 1). */
  readonly failures: Array<string>
  summary: Record<string, unknown>
}

export class StepError extends Error {}

export const encoder = new TextEncoder()
export const say = (line: string) => Deno.stderr.writeSync(encoder.encode(`smoke: ${line}\n`))
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const seconds = (ms: number) => Math.round(ms / 10) / 100
export const tail = (text: string, lines = 30) => text.trimEnd().split("\n").slice(-lines).join("\n")

export interface Output {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (killed at `timeoutMs` or when `signal` aborts) and returns its code and output. */
export async function run(
  cmd: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly timeoutMs?: number
    readonly signal?: AbortSignal
    readonly cwd?: string
  } = {},
): Promise<Output> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 600_000), ...(options.signal ? [options.signal] : [])]
  try {
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      cwd: options.cwd ?? ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any(signals),
      ...(options.env ? { env: options.env, clearEnv: true } : {}),
    }).output()
    const decode = (b: Uint8Array) => new TextDecoder().decode(b)
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) }
  } catch (error) {
    return { code: -1, stdout: "", stderr: error instanceof Error ? error.message : String(error) }
  }
}

/** Like `run`, but a non-zero exit fails the step with the command's output. */
export async function must(
  cmd: ReadonlyArray<string>,
  what: string,
  options: Parameters<typeof run>[1] = {},
): Promise<string> {
  const out = await run(cmd, options)
  if (out.code !== 0) {
    throw new StepError(`${what} failed (exit ${out.code}): ${cmd.join(" ")}\n${tail(out.stdout + out.stderr)}`)
  }
  return out.stdout
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path)
    return true
  } catch {
    return false
  }
}

export async function which(name: string): Promise<string | undefined> {
  const out = await run(["sh", "-c", `command -v ${name}`])
  return out.code === 0 ? out.stdout.trim() : undefined
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = listener.addr.port
  listener.close()
  return port
}

/** Polls `check` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function until<A>(
  what: string,
  timeoutMs: number,
  check: () => Promise<A | undefined>,
  options: { readonly everyMs?: number; readonly signal?: AbortSignal; readonly last?: () => string } = {},
): Promise<A> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    options.signal?.throwIfAborted()
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) {
      throw new StepError(`${what}: not within ${timeoutMs / 1000} s${options.last ? `: ${options.last()}` : ""}`)
    }
    await sleep(options.everyMs ?? 1_000)
  }
}
