/**
 * `deno task report` after a sync from the sandbox: JSON, CSV and text per channel, against the sandbox's truth;
 * bad flags are exit 2 with a line naming the flag.
 */
import { Effect } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { noStack, runTask } from "../support/tasks.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"

sandboxTest(
  "report: per channel as JSON, CSV and text, equal to the sandbox's truth; bad flags are exit 2",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 250 })
      const channels = sandbox.descriptor.channels.filter((c) => !c.private)
      const env = {
        ...UNLIMITED,
        ...(yield* databaseEnv(backend)),
        TG_SANDBOX_FILE: yield* descriptorFile(sandbox),
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_PEERS: channels.map((c) => c.username).join(","),
        LOG_LEVEL: "warn",
      }
      const task = (args: ReadonlyArray<string>) => Effect.promise(() => runTask("report", args, env))
      assertEquals((yield* Effect.promise(() => runTask("sync-history", [], env))).code, 0)

      const json = yield* task(["--format", "json"])
      assertEquals(json.code, 0, json.output)
      const reports = JSON.parse(json.stdout) as ReadonlyArray<
        { channel: { id: number; username: string }; summary: { posts: number; views: number }; top: Array<unknown> }
      >
      assertEquals(reports.length, channels.length)
      for (const c of channels) {
        const truth = sandbox.world.truth(c.id)
        const r = reports.find((x) => x.channel.id === c.id)
        assertEquals([r?.summary.posts, r?.summary.views, r?.top.length], [truth.count, truth.views, 3], c.username)
      }

      const csv = yield* task(["--format", "csv", "--channel", `@${channels[0]!.username}`])
      assertEquals(csv.code, 0, csv.output)
      const [header, row, ...rest] = csv.stdout.trimEnd().split(/\r?\n/)
      assert(header!.startsWith("id,username,title,subscribers,posts,views,"), header)
      const truth = sandbox.world.truth(channels[0]!.id)
      assertEquals(row!.split(",").slice(4, 6).map(Number), [truth.count, truth.views])
      assertEquals(rest, [], "one channel")

      const text = yield* task(["--channel", String(channels[1]!.id)])
      assertEquals(text.code, 0, text.output)
      assert(text.stdout.includes(`(@${channels[1]!.username}, `), text.stdout)
      assert(text.stdout.includes(`posts ${sandbox.world.truth(channels[1]!.id).count.toLocaleString("en-US")} `))
      // Nothing dated before 2000: the period counts no post.
      const none = yield* task(["--format", "json", "--to", "2000-01-01"])
      assertEquals(JSON.parse(none.stdout), [])

      for (
        const [args, flag] of [
          [["--format", "xml"], "--format"],
          [["--from", "last week"], "--from"],
          [["--from", "2030-01-01", "--to", "2020-01-01"], "--from"],
          [["--channel", "nobody_here"], "--channel"],
        ] as const
      ) {
        const bad = yield* task(args)
        assertEquals(bad.code, 2, bad.output)
        assert(bad.output.includes(`Invalid ${flag}`), bad.output)
        noStack(bad.output)
      }
    })),
)
