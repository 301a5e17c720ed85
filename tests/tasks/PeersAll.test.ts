/**
 * `MTPROTO_PEERS=all` in a daemon: poll-updates follows every channel of the accounts' dialogs (the private one the
 * account belongs to included), read once at its start, and nothing else.
 */
import { Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { freshDatabase, pgAvailable, reader } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

sandboxTest(
  "poll-updates with MTPROTO_PEERS=all follows exactly the channels of the account's dialogs",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 30 })
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const account = sandbox.descriptor.accounts[0]!
      const dialogs = sandbox.world.channelsOf(account.userId).map((c) => c.id).sort((a, b) => a - b)
      const outside = sandbox.world.channels.filter((c) => !dialogs.includes(c.id)).map((c) => c.id)
      assertEquals(dialogs.length, 3) // two public channels and the private one the account is a member of
      assertEquals(outside.length, 1)
      const task = startTask("poll-updates", ["--no-restart"], {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_UPDATES_ENABLED: "true",
        MTPROTO_PEERS: "all",
        LOG_LEVEL: "info",
      })
      // Followed once the start's catch-up asked every channel of the dialogs for its difference.
      const followed = () =>
        new Set(
          sandbox.control.log.since(0, "updates.GetChannelDifference").map((e) => Number(e.params.channel)),
        )
      yield* Effect.promise(() =>
        until(() => dialogs.every((id) => followed().has(id)), 60_000, "every channel of the dialogs followed")
      )
      for (const id of [...dialogs, ...outside]) sandbox.world.publish(id, 2)
      const stored = async () =>
        (await query<{ channel_id: string }>("SELECT DISTINCT channel_id FROM posts ORDER BY channel_id")).map((r) =>
          Number(r.channel_id)
        )
      yield* Effect.promise(() =>
        until(async () => (await stored()).length === dialogs.length, 60_000, "the new posts of the dialogs")
      )
      const { code } = yield* Effect.promise(() => task.stop("SIGTERM"))
      assertEquals(code, 0, task.output())
      assertEquals(yield* Effect.promise(stored), dialogs)
      assert(outside.every((id) => !followed().has(id)), "a channel outside the dialogs is not followed")
      assert(task.output().includes("all: 3 channels of the accounts' dialogs"), task.output())
    })),
  { ignore: !pgAvailable },
)
