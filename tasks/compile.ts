/**
 * `deno task compile [--target TARGET ...] [--output PATH]`: the `tgpulse` CLI as one executable (`deno compile`),
 * with everything it loads at run time inside it (PGlite's wasm and data files come with the embedded node_modules
 * and are read from there by an explicit path: src/store/PgliteAssets.ts; the dashboard page, built first, is
 * included as `dist/dashboard`). `deno compile` needs Deno's runtime
 * (`denort`) for each target: it downloads it, or uses `DENORT_BIN`. Where it can download neither, the task says so
 * in one line and exits 1.
 */
import denoJson from "../deno.json" with { type: "json" }
import { buildDashboard } from "./dashboard.ts"

const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const

const say = (line: string) => Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"))

function usage(message: string): never {
  say(message)
  say(`usage: deno task compile [--target ${TARGETS.join("|")}]... [--output PATH]`)
  Deno.exit(2)
}

/** `--target a --target b --output p` (a single target may name the output). */
function parse(args: ReadonlyArray<string>): { targets: Array<string | undefined>; output: string | undefined } {
  const targets: Array<string> = []
  let output: string | undefined
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split("=", 2) as [string, string | undefined]
    const value = inline ?? args[++i]
    if (value === undefined) usage(`Flag ${flag} needs a value`)
    if (flag === "--target") {
      if (!(TARGETS as ReadonlyArray<string>).includes(value)) {
        usage(`Invalid --target "${value}": expected one of ${TARGETS.join(", ")}`)
      }
      targets.push(value)
    } else if (flag === "--output") output = value
    else usage(`Unknown flag ${flag}`)
  }
  if (output !== undefined && targets.length > 1) usage("--output names one binary: give one --target with it")
  return { targets: targets.length === 0 ? [undefined] : targets, output }
}

/** The line that says what is missing when `deno compile` could not get its runtime. */
export function missingRuntime(stderr: string, target: string | undefined): string | undefined {
  const url = /https:\/\/dl\.deno\.land\/\S*denort[^\s)"']*/.exec(stderr)?.[0]
  if (url === undefined && !/denort/i.test(stderr)) return undefined
  return `deno compile could not get Deno's runtime for ${target ?? "this machine"} (${
    url ?? "denort"
  }): download that zip where it can be reached, unzip it, and set DENORT_BIN to the denort file`
}

if (import.meta.main) {
  const { targets, output } = parse(Deno.args)
  await Deno.mkdir("dist", { recursive: true })
  // The dashboard page goes inside the binary, where the server looks for it (src/api/Dashboard.ts).
  await buildDashboard("dist/dashboard")
  for (const target of targets) {
    const out = output ?? (target === undefined ? "dist/tgpulse" : `dist/tgpulse-${target}`)
    const args = [
      "compile",
      "--allow-all",
      "--no-check", // deno task check type-checks; the checker would share the binary's heap cap below
      "--v8-flags=--max-old-space-size=256,--max-semi-space-size=4,--memory-saver-mode",
      "--include",
      "dist/dashboard",
      // Started as a Worker by URL (src/telegram/PageDecoder.ts), so compile does not find it in the module graph.
      "--include",
      "src/telegram/DecodeWorker.ts",
      "--output",
      out,
      ...(target === undefined ? [] : ["--target", target]),
      "src/main.ts",
    ]
    say(`deno ${args.join(" ")}`)
    const run = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" }).output()
    const stderr = new TextDecoder().decode(run.stderr)
    if (run.code !== 0) {
      say(missingRuntime(stderr, target) ?? stderr.trim())
      Deno.exit(1)
    }
    Deno.stderr.writeSync(run.stderr)
    say(`built ${out} (tgpulse ${denoJson.version}${target === undefined ? "" : `, ${target}`})`)
  }
}
