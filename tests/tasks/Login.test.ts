/**
 * deno task login against the sandbox: phone, code and 2FA password from standard input; the session file is the
 * owner's only, works for MTPROTO_ACCOUNTS, and is never shown; refusals and bad names are clear errors.
 */
import { SESSION_STRING } from "../../src/domain/Refs.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { tempDir } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { noStack, runTask } from "../support/tasks.ts"
import { Effect } from "effect"

/** A sandbox of one channel of `posts`, a fresh data directory, and the environment pointing login at both. */
const loginSetup = (posts: number) =>
  Effect.gen(function* () {
    const sandbox = yield* scopedSandbox({ channels: 1, posts })
    const dataDir = yield* tempDir
    const env = { TG_SANDBOX_FILE: yield* descriptorFile(sandbox), TGPULSE_DATA_DIR: dataDir, LOG_LEVEL: "warn" }
    return { sandbox, dataDir, env }
  })

sandboxTest(
  "login: phone, code (a wrong one first) and 2FA password give a 0600 session file that syncs",
  () =>
    runEffect(Effect.gen(function* () {
      const { sandbox, dataDir, env } = yield* loginSetup(300)
      // Account 2 of the sandbox has a 2FA password.
      const phone = sandbox.descriptor.accounts[1]!.phone
      const run = yield* Effect.promise(() =>
        runTask("login", ["work", "--phone", phone], env, "11111\n22222\nsandbox-2fa\n")
      )
      assertEquals(run.code, 0, run.output)
      assert(run.stderr.includes("wrong code, try again"), run.output)
      const path = `${dataDir}/sessions/work`
      const session = (yield* Effect.promise(() => Deno.readTextFile(path))).trim()
      assert(SESSION_STRING.test(session), "a GramJS session string")
      assertEquals((yield* Effect.promise(() => Deno.stat(path))).mode! & 0o777, 0o600)
      assert(!run.output.includes(session) && !run.output.includes("sandbox-2fa"), "neither session nor password shown")

      // Not again over an existing file without --force.
      const again = yield* Effect.promise(() => runTask("login", ["work", "--phone", phone], env, "22222\n"))
      assertEquals(again.code, 2)
      assert(again.stderr.includes(`The session file "${path}" exists: pass --force`), again.output)

      // The session works: a sync as that account.
      const sync = yield* Effect.promise(() =>
        runTask("sync-history", ["--channels", sandbox.descriptor.channels[0]!.username], {
          ...env,
          ...UNLIMITED,
          MTPROTO_ENABLED: "true",
          MTPROTO_HISTORY_ENABLED: "true",
          MTPROTO_ACCOUNTS: "work",
        })
      )
      assertEquals(sync.code, 0, sync.output)
      assert(!sync.output.includes(session), "the session is never logged")
      const users = new Set(sandbox.control.log.since(0, "messages.GetHistory").map((e) => e.userId))
      assertEquals([...users], [sandbox.descriptor.accounts[1]!.userId], "the sync ran as the logged-in account")
    })),
)

sandboxTest(
  "login: a wrong password three times, an unknown phone or a bad name fail clearly and write nothing",
  () =>
    runEffect(Effect.gen(function* () {
      const { sandbox, dataDir, env } = yield* loginSetup(10)
      const phone = sandbox.descriptor.accounts[1]!.phone
      const wrong = yield* Effect.promise(() =>
        runTask("login", ["work", "--phone", phone], env, "22222\nnope1\nnope2\nnope3\n")
      )
      assertEquals(wrong.code, 1, wrong.output)
      assert(wrong.stderr.includes("Login failed: 400 PASSWORD_HASH_INVALID"), wrong.output)
      const unknown = yield* Effect.promise(() => runTask("login", ["work", "--phone", "+100"], env, ""))
      assertEquals(unknown.code, 1, unknown.output)
      assert(unknown.stderr.includes("Login failed: 400 PHONE_NUMBER_INVALID"), unknown.output)
      const badName = yield* Effect.promise(() => runTask("login", ["../etc/x"], env, ""))
      assertEquals(badName.code, 2, badName.output)
      assert(badName.stderr.includes('Invalid session name "../etc/x"'), badName.output)
      for (const run of [wrong, unknown, badName]) noStack(run.output)
      const written = yield* Effect.promise(() => Deno.stat(`${dataDir}/sessions/work`).then(() => true, () => false))
      assertEquals(written, false, "no session file after a failed login")

      // --print: the session on stdout once, nothing written.
      const printed = yield* Effect.promise(() =>
        runTask("login", ["--print", "--phone", sandbox.descriptor.accounts[0]!.phone], env, "22222\n")
      )
      assertEquals(printed.code, 0, printed.output)
      assert(SESSION_STRING.test(printed.stdout.trim()), "the session string alone on stdout")
    })),
)
