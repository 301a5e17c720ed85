/**
 * The single `tgpulse` CLI (src/main.ts): every subcommand is dispatched, with its own `--help` (exit 0) and a plain
 * usage error for a bad flag (exit 2, no stack trace); no subcommand prints the list.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { runTask } from "../support/tasks.ts"

const SUBCOMMANDS: ReadonlyArray<readonly [name: string, says: string]> = [
  ["sync-history", "Sync channel history"],
  ["poll-updates", "Follow the channels' live updates"],
  ["load-stats", "Load the official statistics"],
  ["serve", "Run every enabled collector and the health server"],
  ["login", "Sign a Telegram account in"],
  ["migrate", "Apply pending database migrations"],
  ["sandbox", "Run a local Telegram data centre"],
  ["demo", "Try tgpulse with nothing configured"],
  ["healthcheck", "Exit 0 when the running daemon"],
]

/** Runs `jobs` at most `n` at a time (the suite runs on 2 cores). */
async function limited<A>(n: number, jobs: ReadonlyArray<() => Promise<A>>): Promise<Array<A>> {
  const out: Array<A> = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: n }, async () => {
    for (let i = next++; i < jobs.length; i = next++) out[i] = await jobs[i]!()
  }))
  return out
}

Deno.test("tgpulse: every subcommand has its --help (exit 0) and rejects a bad flag in one line (exit 2)", async () => {
  const runs = await limited(
    3,
    SUBCOMMANDS.flatMap(([name]) => [
      () => runTask(name, ["--help"]),
      () => runTask(name, ["--no-such-flag"]),
    ]),
  )
  for (const [i, [name, says]] of SUBCOMMANDS.entries()) {
    const help = runs[2 * i]!
    const bad = runs[2 * i + 1]!
    assertEquals(help.code, 0, `${name} --help: ${help.output}`)
    assert(help.stdout.includes(says) && help.stdout.includes(`tgpulse ${name}`), `${name} --help:\n${help.stdout}`)
    assertEquals(bad.code, 2, `${name} --no-such-flag: ${bad.output}`)
    assert(bad.output.includes("Unrecognized flag: --no-such-flag"), `${name}: ${bad.output}`)
    assert(!/\n\s+at /.test(bad.output), `${name}: no stack trace:\n${bad.output}`)
  }
})

Deno.test("tgpulse: no subcommand lists them all; an unknown one is a usage error", async () => {
  const [none, unknown] = await Promise.all([runTask("", []), runTask("nope", [])])
  assertEquals(none.code, 0, none.output)
  for (const [name] of SUBCOMMANDS) assert(none.stdout.includes(`  ${name} `), `lists ${name}:\n${none.stdout}`)
  assertEquals(unknown.code, 2, unknown.output)
  assert(unknown.output.includes('Unknown subcommand "nope"'), unknown.output)
})
