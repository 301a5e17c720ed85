/**
 * Live updates on a cluster: two `serve` runners follow four channels while the sandbox changes them; the runner that
 * runs the live-updates collector is SIGKILLed in the middle. The other one takes the collector over from the stored
 * pts (differences fill what was missed): every channel ends with the world's pts committed and the world's posts,
 * texts and deletions stored, and every channel's counters are refreshed after the kill; the sandbox never saw one
 * session on two connections.
 */
import { Console, Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { type Runner, startRunners } from "../support/cluster.ts"
import { descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { activity, activityDone, committedPts, differences } from "../support/live.ts"
import { freshDatabase, pgAvailable, reader } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { until } from "../support/wait.ts"

const CHANNELS = 4

sandboxTest(
  "cluster: the runner following live updates is SIGKILLed mid-activity: the other carries on from the stored pts, " +
    "every channel ends equal to the world",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: CHANNELS, posts: 300, accounts: 3, refuseDuplicateKeys: true })
      const channels = sandbox.descriptor.channels.filter((c) => c.username.startsWith("sandbox_chan_"))
      const ids = channels.map((c) => c.id)
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const { runners, output, owns } = yield* startRunners(["a", "b"], {
        ...UNLIMITED,
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_UPDATES_ENABLED: "true",
        // Every post's counters read again every 2 s: the refresh goes on after the kill too.
        MTPROTO_REFRESH_ENABLED: "true",
        MTPROTO_REFRESH_SCHEDULE: "3650d:2s",
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_PEERS: channels.map((c) => c.username).join(","),
        MTPROTO_HISTORY_INTERVAL_SEC: "3600",
        LOG_LEVEL: "info",
      })
      const allCommitted = async () => {
        for (const id of ids) if ((await committedPts(query, id)) !== sandbox.world.pts(id)) return false
        return true
      }
      const wait = (check: () => Promise<boolean>, what: string) =>
        Effect.promise(() => until(check, 60_000, what)).pipe(Effect.tapDefect(() => Console.error(output())))

      // Both runners up, the channels synced and followed.
      yield* wait(async () => (await owns()).every((o) => o !== undefined), "both runners answering")
      yield* wait(allCommitted, "every channel followed")
      for (const id of ids) yield* Effect.promise(() => activity(sandbox, id, 400, 80))
      yield* wait(async () => {
        for (const id of ids) if ((await admin(sandbox, `/channels/${id}/activity`)).done < 100) return false
        return true
      }, "a quarter of the activity")

      // SIGKILL the runner that runs the live-updates collector.
      let follower: Runner | undefined
      yield* wait(async () => {
        const now = await owns()
        follower = runners.find((_, i) => now[i]?.collectors.includes("live updates"))
        return follower !== undefined
      }, "the live-updates collector on a runner")
      const survivor = runners.find((r) => r !== follower)!
      yield* Effect.promise(() => follower!.task.stop("SIGKILL"))
      const killedAt = performance.now()
      const [{ t: killedDb }] = (yield* Effect.promise(() => query<{ t: string }>("SELECT now()::text AS t"))) as [
        { t: string },
      ]
      const ptsAtKill = yield* Effect.promise(() => Promise.all(ids.map((id) => committedPts(query, id))))
      const doneAtKill = yield* Effect.promise(() =>
        Promise.all(ids.map(async (id) => (await admin(sandbox, `/channels/${id}/activity`)).done))
      )
      assert(doneAtKill.some((n) => n < 400), `killed while the activity went on (${doneAtKill.join(", ")} of 400)`)
      yield* wait(async () => {
        const now = await Promise.all(ids.map((id) => committedPts(query, id)))
        return now.some((pts, i) => pts > ptsAtKill[i]!)
      }, "live updates committed again")
      const resumedMs = performance.now() - killedAt
      yield* wait(() => activityDone(sandbox, ids), "the activity")
      yield* wait(allCommitted, "every pts committed")
      for (const id of ids) {
        assertEquals(yield* Effect.promise(() => differences(query, sandbox, id, false)), [], `channel ${id}`)
      }
      // The metrics refresh goes on too: every channel refreshed after the kill.
      yield* wait(async () => {
        const rows = await query<{ n: string }>(
          `SELECT count(DISTINCT channel_id) AS n FROM posts WHERE metrics_refreshed_at > '${killedDb}'::timestamptz`,
        )
        return Number(rows[0]?.n ?? 0) === CHANNELS
      }, "every channel refreshed after the kill")
      const survivorOwns = yield* Effect.promise(owns)
      assert(
        survivorOwns[runners.indexOf(survivor)]?.collectors.includes("live updates") === true,
        "the survivor runs the live-updates collector",
      )
      const stats = yield* Effect.promise(() => admin(sandbox, "/stats"))
      assertEquals([stats.authKeyDuplicated, stats.authKeyDuplicatedRefused], [0, 0], "one connection per session")
      yield* Console.log(`cluster live: committed again ${(resumedMs / 1000).toFixed(1)} s after SIGKILL`)
    })),
  { ignore: !pgAvailable },
)
