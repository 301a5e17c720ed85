/**
 * `sync-history` with the original design's settings as a user brings them: safe mode says what it applies when work
 * starts and pauses between channels; MTPROTO_SLEEP_THRESHOLD is read under its new name, said in one line; the
 * channels may be a JSON list.
 */
import { Effect } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { databaseEnv, descriptorFile } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { fetchedIn, noStack, runTask } from "../support/tasks.ts"

const count = (text: string, part: string) => text.split(part).length - 1

sandboxTest(
  "sync-history in safe mode: one line saying what it applies, a pause between channels, old names mapped",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 150 })
      const [a, b] = sandbox.descriptor.channels
      const env = {
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        LOG_LEVEL: "info",
        LOG_FORMAT: "json",
        ...(yield* databaseEnv("PGlite")),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_SAFE_MODE: "true",
        // Set explicitly, so kept: the test does not wait out safe mode's pace (the preset's values are unit-tested).
        MTPROTO_RPS_PER_ACCOUNT: "1000",
        MTPROTO_GLOBAL_RPS: "10000",
        MTPROTO_CHANNEL_PAUSE_SEC: "1",
        MTPROTO_SLEEP_THRESHOLD: "120",
        MTPROTO_PEERS: JSON.stringify([`@${a!.username}`, b!.id]),
      }
      // The channel named by id needs its access hash: name it by username once.
      const first = yield* Effect.promise(() => runTask("sync-history", ["--channels", b!.username], env))
      assertEquals(first.code, 0, first.output)

      const run = yield* Effect.promise(() => runTask("sync-history", [], env))
      assertEquals(run.code, 0, run.output)
      noStack(run.output)
      assertEquals(fetchedIn(run.stdout), 150, run.stdout)
      assertEquals(count(run.output, "safe mode (MTPROTO_SAFE_MODE=true)"), 1, run.output)
      const line = run.output.split("\n").find((l) => l.includes("safe mode (MTPROTO_SAFE_MODE=true)"))!
      assert(line.includes("1 channel at a time") && line.includes("at most 2000 posts per channel per run"), line)
      assert(line.includes("set explicitly and kept: MTPROTO_RPS_PER_ACCOUNT=1000"), line)
      assertEquals(count(run.output, "MTPROTO_SLEEP_THRESHOLD=120 is read as MTPROTO_MAX_FLOOD_WAIT_S=120"), 1)
      // Two channels one at a time: one pause, between them.
      assertEquals(count(run.output, "pausing 1 s before the next channel"), 1, run.output)
    })),
)
