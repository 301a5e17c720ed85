/**
 * Input that passes the first checks but cannot be used, and failures that used to hide behind long silent waits,
 * as a user meets them with `deno task sync-history`: each bad account or descriptor field is one line naming it by
 * position (nothing of its content) while the good accounts run; refused DC ports, a key the server does not know
 * and a FLOOD_WAIT of a day are named at once (the request timeout is set to 10 minutes, so a test that passes
 * cannot have waited for it); SIGTERM says what it cut short.
 */
import { Buffer } from "node:buffer"
import { Effect } from "effect"
import { stringSession } from "@tgpulse/sandbox"
import type { Descriptor } from "@tgpulse/sandbox/descriptor"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv, descriptorFile, jsonFile, UNLIMITED } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { runEffect } from "../support/effectTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { noStack, runInProcess, runTaskWithin, startTask } from "../support/tasks.ts"
import { settled, until } from "../support/wait.ts"

const ENABLED = {
  ...UNLIMITED,
  MTPROTO_ENABLED: "true",
  MTPROTO_HISTORY_ENABLED: "true",
  MTPROTO_POOL_ENABLED: "true",
  MTPROTO_REQUEST_TIMEOUT_S: "600",
  LOG_LEVEL: "info",
}
/** A fresh database per run: PostgreSQL when it is there (quicker to start than the embedded one). */
const BACKEND = pgAvailable ? "PostgreSQL" : "PGlite"
/** Far below the 600 s request timeout: a run that waited for it is killed and the test fails. */
const DEADLINE_MS = 120_000

/** A session string of the right shape whose server address claims 28,672 bytes: it does not decode. */
function garbled(session: string): string {
  const raw = Buffer.from(session.slice(1), "base64")
  raw.writeInt16BE(0x7000, 1)
  return "1" + raw.toString("base64")
}

/** A well-formed session with a random key: the server answers transport error -404. */
const unknownKey = () => stringSession(2, "127.0.0.1", crypto.getRandomValues(new Uint8Array(256)))

/** No run shows any part of a secret: its whole, its start or its end. */
const nothingOf = (output: string, secrets: ReadonlyArray<string>) => {
  for (const s of secrets) {
    for (const part of [s, s.slice(1, 31), s.slice(-30)]) assert(!output.includes(part), `a session leaked:\n${output}`)
  }
}

sandboxTest(
  "sync-history: a bad pool entry or descriptor field is one line naming it; the good accounts run; exit 2 when none is",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 200 })
      const descriptor = sandbox.descriptor
      const channel = descriptor.channels[0]!.username
      const good = descriptor.accounts[0]!.session
      const bad = garbled(descriptor.accounts[1]!.session)
      const file = yield* jsonFile(descriptor)
      const run = (env: Record<string, string>) =>
        Effect.gen(function* () {
          const database = yield* databaseEnv(BACKEND)
          return yield* Effect.promise(() =>
            runTaskWithin(DEADLINE_MS, "sync-history", ["--channels", channel], {
              ...ENABLED,
              ...database,
              TG_SANDBOX_FILE: file,
              ...env,
            })
          )
        })

      // A pool entry that has the shape of a session but does not decode: left out, the other account syncs.
      const mixed = yield* run({ MTPROTO_ACCOUNTS: `${bad},${good}` })
      assertEquals(mixed.code, 0, mixed.output)
      const leftOut = mixed.output.split("\n").filter((l) => l.includes("account left out"))
      assertEquals(leftOut.length, 1, mixed.output)
      assert(
        leftOut[0]!.includes("entry 1 of MTPROTO_ACCOUNTS: the session string does not decode"),
        leftOut[0]!,
      )
      assert(mixed.stdout.includes(`@${channel}: fetched 200`), mixed.output)
      nothingOf(mixed.output, [bad, good])
      noStack(mixed.output)

      // Nothing usable: exit 2 and one line. Runs that stop before connecting run in this process (quicker).
      const refuse = (env: Record<string, string>) =>
        Effect.gen(function* () {
          const database = yield* databaseEnv(BACKEND)
          const args = ["sync-history", "--channels", channel]
          return yield* Effect.promise(() =>
            settled(runInProcess(args, { ...ENABLED, ...database, TG_SANDBOX_FILE: file, ...env }), args.join(" "))
          )
        })
      const none = yield* refuse({ MTPROTO_ACCOUNTS: bad })
      assertEquals(none.code, 2, none.output)
      assert(
        none.stderr.trim().endsWith(
          "No usable Telegram account: entry 1 of MTPROTO_ACCOUNTS: the session string does not decode " +
            "(its auth key is 251 bytes, not 256)",
        ),
        none.output,
      )
      nothingOf(none.output, [bad])
      noStack(none.output)

      // A session file that holds something else: named by its entry and file, the other account syncs.
      const dataDir = yield* Effect.promise(() => Deno.makeTempDir({ prefix: "tgpulse_sessions_" }))
      yield* Effect.addFinalizer(() => Effect.promise(() => Deno.remove(dataDir, { recursive: true })))
      yield* Effect.promise(() => Deno.mkdir(`${dataDir}/sessions`))
      yield* Effect.promise(() => Deno.writeTextFile(`${dataDir}/sessions/broken`, `${bad}\n`))
      const database = yield* databaseEnv(BACKEND)
      const files = yield* Effect.promise(() =>
        runTaskWithin(DEADLINE_MS, "sync-history", ["--channels", channel], {
          ...ENABLED,
          ...database,
          TGPULSE_DATA_DIR: dataDir,
          TG_SANDBOX_FILE: file,
          MTPROTO_ACCOUNTS: `broken,${good}`,
        })
      )
      assertEquals(files.code, 0, files.output)
      assert(/entry 1 of MTPROTO_ACCOUNTS \(\\?"broken\\?"\): the session file/.test(files.output), files.output)
      nothingOf(files.output, [bad, good])

      // The sandbox's own accounts: a garbage session in the descriptor is left out the same way.
      const oneBad: Descriptor = {
        ...descriptor,
        accounts: descriptor.accounts.map((a, i) => (i === 0 ? { ...a, session: bad } : a)),
      }
      const fromDescriptor = yield* run({ TG_SANDBOX_FILE: yield* jsonFile(oneBad) })
      assertEquals(fromDescriptor.code, 0, fromDescriptor.output)
      assert(
        fromDescriptor.output.includes("account left out: account 1 of the sandbox descriptor: the session string"),
        fromDescriptor.output,
      )

      // A descriptor whose RSA key is garbage, or that is not JSON: exit 2, one line naming the field.
      const cases: ReadonlyArray<[unknown, string]> = [
        [
          { ...descriptor, rsaPublicKey: { ...descriptor.rsaPublicKey, pem: "-----BEGIN garbage" } },
          "rsaPublicKey.pem",
        ],
        [
          { ...descriptor, rsaPublicKey: { ...descriptor.rsaPublicKey, fingerprint: "x1" } },
          "rsaPublicKey.fingerprint",
        ],
        ["{ not json", "not JSON"],
      ]
      for (const [content, says] of cases) {
        const r = yield* refuse({ TG_SANDBOX_FILE: yield* jsonFile(content) })
        assertEquals(r.code, 2, r.output)
        assert(r.stderr.includes("Cannot use TG_SANDBOX_FILE") && r.stderr.includes(says), r.output)
        noStack(r.output)
      }
    })),
)

sandboxTest(
  "sync-history: refused DC ports, a key the server does not know and a day-long FLOOD_WAIT are named at once",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 1, posts: 300 })
      const descriptor = sandbox.descriptor
      const channel = descriptor.channels[0]!.username
      const run = (env: Record<string, string>) =>
        Effect.gen(function* () {
          const database = yield* databaseEnv(BACKEND)
          return yield* Effect.promise(() =>
            runTaskWithin(DEADLINE_MS, "sync-history", ["--channels", channel], { ...ENABLED, ...database, ...env })
          )
        })
      const file = yield* jsonFile(descriptor)

      // Every DC port refuses connections: the first error names it, no timeout is waited for.
      const refused = yield* run({
        TG_SANDBOX_FILE: yield* jsonFile({ ...descriptor, dcs: descriptor.dcs.map((dc) => ({ ...dc, port: 1 })) }),
      })
      assert(!refused.timedOut, "it gave up by itself")
      assertEquals(refused.code, 1, refused.output)
      assert(refused.output.includes("connection refused: 127.0.0.1:1 (DC 2)"), refused.output)
      noStack(refused.output)

      // A well-formed session the server does not know (transport error -404): quarantined at once, the other
      // account syncs; alone, the run fails saying so.
      const stranger = unknownKey()
      const mixed = yield* run({
        TG_SANDBOX_FILE: file,
        MTPROTO_ACCOUNTS: `${stranger},${descriptor.accounts[0]!.session}`,
      })
      assert(!mixed.timedOut, "it did not wait for the unknown key")
      assertEquals(mixed.code, 0, mixed.output)
      assert(mixed.output.includes("account quarantined") && mixed.output.includes("AUTH_KEY_UNKNOWN"), mixed.output)
      assert(mixed.stdout.includes(`@${channel}: fetched 300`), mixed.output)
      const alone = yield* run({ TG_SANDBOX_FILE: file, MTPROTO_ACCOUNTS: stranger })
      assert(!alone.timedOut, "it did not wait for the unknown key")
      assertEquals(alone.code, 1, alone.output)
      assert(alone.output.includes("AUTH_KEY_UNKNOWN"), alone.output)
      nothingOf(mixed.output + alone.output, [stranger])

      // One account, and Telegram asks it to wait 100,000 s (27.8 h) for its next page: the channel fails at once
      // with the reason, instead of sleeping for a day.
      yield* Effect.promise(() =>
        admin(sandbox, "/flood", { method: "PUT", body: { method: "messages.GetHistory", rate: 0.00001, burst: 1 } })
      )
      const flooded = yield* run({ TG_SANDBOX_FILE: file, MTPROTO_POOL_ENABLED: "false" })
      assert(!flooded.timedOut, "it did not sleep through the flood wait")
      assertEquals(flooded.code, 1, flooded.output)
      assert(
        flooded.stdout.includes(`@${channel}: FAILED: no history call is possible for 27 h 46 min`) &&
          flooded.stdout.includes("MTPROTO_MAX_FLOOD_WAIT_S (900 s)"),
        flooded.output,
      )
    })),
)

sandboxTest(
  "sync-history: SIGTERM in the middle says what it cut short and exits 130; the next run finishes the rest",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 5_000 })
      const names = sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username)
      const env = {
        ...ENABLED,
        ...(yield* databaseEnv(BACKEND)),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
      }
      // A budget of 20 pages a second per account keeps the sync busy long enough to be interrupted in the middle.
      yield* Effect.promise(() =>
        admin(sandbox, "/flood", { method: "PUT", body: { method: "messages.GetHistory", rate: 20, burst: 1 } })
      )
      const task = startTask("sync-history", ["--channels", names.join(","), "--concurrency", "1"], {
        ...env,
        MTPROTO_POOL_ENABLED: "false",
        MTPROTO_RPS_PER_ACCOUNT: "20",
      })
      yield* Effect.promise(() =>
        until(() => sandbox.control.log.since(0, "messages.GetHistory").length >= 20, DEADLINE_MS, "20 pages")
      )
      const { code } = yield* Effect.promise(() => task.stop("SIGTERM"))
      const output = task.output()
      assertEquals(code, 130, output)
      const line = output.split("\n").find((l) => l.startsWith("interrupted: the sync stopped before it finished"))
      assert(line !== undefined, `says it was cut short:\n${output}`)
      assert(new RegExp(`@${names[0]} stopped at [\\d,]+ of 5,000 posts; @${names[1]} not started`).test(line), line)
      noStack(output)
      yield* Effect.promise(() => admin(sandbox, "/flood", { method: "DELETE" }))
      const rest = yield* Effect.promise(() =>
        runTaskWithin(DEADLINE_MS, "sync-history", ["--channels", names.join(",")], env)
      )
      assertEquals(rest.code, 0, rest.output)
      assert(/total: fetched \d+ posts from 2 of 2 channels/.test(rest.stdout), rest.output)
    })),
)
