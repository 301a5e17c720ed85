/**
 * The single `tgpulse` CLI (src/main.ts): every subcommand is dispatched, with its own `--help` (exit 0) and a plain
 * usage error for a bad flag (exit 2, no stack trace); no subcommand prints the list.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { noStack, runInProcess, runTask } from "../support/tasks.ts"

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
  ["verify", "Check the edit and deletion log's hash chains"],
]

Deno.test("tgpulse: every subcommand has its --help (exit 0) and rejects a bad flag in one line (exit 2)", async () => {
  for (const [name, says] of SUBCOMMANDS) {
    const help = await runInProcess([name, "--help"])
    const bad = await runInProcess([name, "--no-such-flag"])
    assertEquals(help.code, 0, `${name} --help: ${help.output}`)
    assert(help.stdout.includes(says) && help.stdout.includes(`tgpulse ${name}`), `${name} --help:\n${help.stdout}`)
    assertEquals(bad.code, 2, `${name} --no-such-flag: ${bad.output}`)
    assert(bad.output.includes("Unrecognized flag: --no-such-flag"), `${name}: ${bad.output}`)
    noStack(bad.output)
  }
})

Deno.test("tgpulse: no subcommand lists them all; an unknown one is a usage error", async () => {
  const none = await runInProcess([])
  const unknown = await runInProcess(["nope"])
  assertEquals(none.code, 0, none.output)
  for (const [name] of SUBCOMMANDS) assert(none.stdout.includes(`  ${name} `), `lists ${name}:\n${none.stdout}`)
  assertEquals(unknown.code, 2, unknown.output)
  assert(unknown.output.includes('Unknown subcommand "nope"'), unknown.output)
})

Deno.test("tgpulse as a process: the exit codes reach the shell (help 0, a bad flag 2 in one line)", async () => {
  const [help, bad] = await Promise.all([runTask("migrate", ["--help"]), runTask("migrate", ["--no-such-flag"])])
  assertEquals(help.code, 0, help.output)
  assert(help.stdout.includes("tgpulse migrate"), help.stdout)
  assertEquals(bad.code, 2, bad.output)
  assert(bad.output.includes("Unrecognized flag: --no-such-flag") && !/\n\s+at /.test(bad.output), bad.output)
})
