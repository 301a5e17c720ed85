/**
 * Runs `deno task` entrypoints as subprocesses with exactly the environment a test gives (nothing inherited), or the
 * same command line in this process (`runInProcess`: no process start, for what needs no process of its own).
 */
import { assert } from "./assert.ts"
import { Console, Effect } from "effect"
import { commandLine, exitCodeOf } from "../../src/Cli.ts"
import { tgpulse } from "../../src/main.ts"

/** What a child needs from this environment to find Deno's caches; everything else comes from the test. */
const INHERITED = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "XDG_CACHE_HOME"]

export interface TaskRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** stdout and stderr together. */
  readonly output: string
}

function baseEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of INHERITED) {
    const value = Deno.env.get(name)
    if (value !== undefined) out[name] = value
  }
  return { NO_COLOR: "1", LOG_FORMAT: "json", ...out, ...env }
}

/** `deno run -A src/main.ts <subcommand> ...args` with exactly `env` (and what finding Deno's caches needs). */
function taskCommand(
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  io: { readonly stdin: "null" | "piped"; readonly stdout: "null" | "piped" },
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", ...(subcommand === "" ? [] : [subcommand]), ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: "piped",
  }).spawn()
}

/**
 * Runs a task to its end (with `stdin` as its standard input) and collects its output. With `deadlineMs`, a task still
 * running then is killed (SIGKILL) and `timedOut` is set.
 */
async function execute(
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  options: { readonly stdin?: string; readonly deadlineMs?: number },
): Promise<TaskRun & { readonly timedOut: boolean }> {
  const child = taskCommand(subcommand, args, env, {
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
  })
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter()
    await writer.write(new TextEncoder().encode(options.stdin))
    await writer.close()
  }
  let timedOut = false
  const timer = options.deadlineMs === undefined ? undefined : setTimeout(() => {
    timedOut = true
    child.kill("SIGKILL")
  }, options.deadlineMs)
  const out = await child.output()
  clearTimeout(timer)
  const stdout = new TextDecoder().decode(out.stdout)
  const stderr = new TextDecoder().decode(out.stderr)
  return { code: out.code, stdout, stderr, output: stdout + stderr, timedOut }
}

/** `tgpulse <subcommand>` with `args` (and `stdin` as its standard input); resolves when it exits. */
export function runTask(
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  stdin?: string,
): Promise<TaskRun> {
  return execute(subcommand, args, env, stdin === undefined ? {} : { stdin })
}

/**
 * `runTask` with a deadline: a task still running after `ms` is killed (SIGKILL) and `timedOut` is set. For tests
 * that prove a task gives up by itself long before a timeout it is configured with: the deadline only keeps a
 * regression from hanging the suite.
 */
export function runTaskWithin(
  ms: number,
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): Promise<TaskRun & { readonly timedOut: boolean }> {
  return execute(subcommand, args, env, { deadlineMs: ms })
}

/** The same, started in the background: the caller kills it or awaits `status`. */
export function spawnTask(
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): Deno.ChildProcess {
  return taskCommand(subcommand, args, env, { stdin: "null", stdout: "null" })
}

/** A task running in the background whose stdout and stderr are collected as they come. */
export interface BackgroundTask {
  readonly child: Deno.ChildProcess
  /** Everything written so far (stdout and stderr). */
  output(): string
  /** Sends `signal` and waits for the exit; resolves with the exit code and the milliseconds it took. */
  stop(signal?: Deno.Signal): Promise<{ readonly code: number; readonly ms: number }>
}

export function startTask(
  subcommand: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): BackgroundTask {
  const child = taskCommand(subcommand, args, env, { stdin: "null", stdout: "piped" })
  let text = ""
  const decoder = new TextDecoder()
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true })
  }
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)])
  return {
    child,
    output: () => text,
    stop: async (signal = "SIGTERM") => {
      const sent = performance.now()
      try {
        child.kill(signal)
      } catch {
        // already gone
      }
      const status = await child.status
      const ms = performance.now() - sent
      await drained
      return { code: status.code, ms }
    },
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = (l.addr as Deno.NetAddr).port
  l.close()
  return port
}

/**
 * `tgpulse <args>` in this process with exactly `env` (the program the binary runs, minus the process): its exit code
 * and what it printed through the console (usage, help, configuration errors; log lines go to the test's output).
 */
export async function runInProcess(
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string; readonly output: string }> {
  const out: Array<string> = []
  const err: Array<string> = []
  const console = {
    ...globalThis.console,
    log: (...xs: ReadonlyArray<unknown>) => out.push(xs.map(String).join(" ")),
    error: (...xs: ReadonlyArray<unknown>) => err.push(xs.map(String).join(" ")),
  }
  const exit = await Effect.runPromiseExit(
    commandLine(tgpulse, args, { env: { LOG_LEVEL: "error", ...env } }).pipe(
      Effect.provideService(Console.Console, console),
    ),
  )
  const [stdout, stderr] = [out.join("\n"), err.join("\n")]
  return { code: exitCodeOf(exit), stdout, stderr, output: `${stdout}\n${stderr}` }
}

/** The number in a run's "fetched N" line (-1 when there is none). */
export const fetchedIn = (output: string): number => Number(/fetched (\d+)/.exec(output)?.[1] ?? -1)

/** A user's mistake is one line, never a stack trace. */
export const noStack = (output: string): void => assert(!/\n\s+at /.test(output), `no stack trace:\n${output}`)
