/** Runs `deno task` entrypoints as subprocesses with exactly the environment a test gives (nothing inherited). */

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

/** `deno run -A tasks/<file>` with `args` (and `stdin` as its standard input); resolves when it exits. */
export async function runTask(
  file: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  stdin?: string,
): Promise<TaskRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tasks/${file}`, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter()
    await writer.write(new TextEncoder().encode(stdin))
    await writer.close()
  }
  const out = await child.output()
  const stdout = new TextDecoder().decode(out.stdout)
  const stderr = new TextDecoder().decode(out.stderr)
  return { code: out.code, stdout, stderr, output: stdout + stderr }
}

/** The same, started in the background: the caller kills it or awaits `status`. */
export function spawnTask(
  file: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tasks/${file}`, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn()
}
