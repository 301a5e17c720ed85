/**
 * `tgpulse verify` as a process on a real PostgreSQL database: a sound chain (exit 0, one line per channel), an entry
 * whose text was changed, a removed middle entry (exit 1 naming the channel, the entry and what is wrong), and an
 * exported chain verified from its file alone, then tampered.
 */
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { Sql } from "../../src/store/Sql.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { runEffect } from "../support/effectTest.ts"
import { freshDatabase, pgAvailable, tempDir } from "../support/PgTest.ts"
import { makePost, T0 } from "../support/posts.ts"
import { noStack, runTask } from "../support/tasks.ts"

const at = new Date((T0 + 86_400) * 1000)

Deno.test({
  name: "tgpulse verify: a sound chain, a tampered entry, a removed one, an exported file",
  ignore: !pgAvailable,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    runEffect(Effect.gen(function* () {
      const url = yield* freshDatabase
      const dir = yield* tempDir
      const env = { DATABASE_URL: Redacted.value(url) }
      const services = yield* Layer.build(
        Layer.mergeAll(ChannelRepo.layer, PostRepo.layer).pipe(Layer.provideMerge(Sql.layerUrl(url))),
      )
      const write = <A, E>(e: Effect.Effect<A, E, ChannelRepo | PostRepo | SqlClient.SqlClient>) =>
        Effect.provideContext(e, services)
      yield* write(Effect.gen(function* () {
        const posts = yield* PostRepo
        for (const id of [3001, 3002]) {
          yield* ChannelRepo.use((r) =>
            r.upsert({ id, accessHash: "1", username: `c${id}`, title: `C ${id}`, kind: "broadcast" })
          )
          yield* posts.upsertPage(id, [1, 2, 3].map((m) => makePost(id, m, { text: `line one\nline ${m}` })), at)
          yield* posts.upsertPage(id, [makePost(id, 2, { text: "edited", contentHash: "e2" })], at)
          yield* posts.markDeleted(id, [3], at)
        }
      }))
      const verify = (...args: Array<string>) => Effect.promise(() => runTask("verify", args, env))

      const sound = yield* verify()
      assertEquals(sound.code, 0, sound.output)
      assert(sound.stdout.includes("channel 3001: 5 entries, chain verified"), sound.output)
      assert(sound.stdout.includes("channel 3002: 5 entries, chain verified"), sound.output)

      const file = `${dir}/chain.jsonl`
      const exported = yield* verify("--channel", "3002", "--export", file)
      assertEquals(exported.code, 0, exported.output)
      const fromFile = yield* verify("--file", file)
      assertEquals(fromFile.code, 0, fromFile.output)
      assert(fromFile.stdout.includes("channel 3002: 5 entries, chain verified"), fromFile.output)
      const lines = (yield* Effect.promise(() => Deno.readTextFile(file))).trim().split("\n")
      lines[3] = lines[3]!.replace(/"text":"[^"]*"/, '"text":"forged"')
      yield* Effect.promise(() => Deno.writeTextFile(`${dir}/forged.jsonl`, lines.join("\n")))
      const forgedFile = yield* verify("--file", `${dir}/forged.jsonl`)
      assertEquals(forgedFile.code, 1, forgedFile.output)
      assert(
        forgedFile.stderr.includes("channel 3002: chain broken at seq 4 (msg 2): content does not match"),
        forgedFile.output,
      )

      yield* write(SqlClient.SqlClient.use((sql) =>
        sql`UPDATE post_versions SET text = 'forged' WHERE channel_id = 3001 AND seq = 2`
      ))
      const tampered = yield* verify("--channel", "-1003001")
      assertEquals(tampered.code, 1, tampered.output)
      assert(
        tampered.stderr.includes("channel 3001: chain broken at seq 2 (msg 2): content does not match its hash"),
        tampered.output,
      )
      noStack(tampered.output)

      yield* write(SqlClient.SqlClient.use((sql) =>
        sql`DELETE FROM post_versions WHERE channel_id = 3002 AND seq = 3`
      ))
      const gap = yield* verify()
      assertEquals(gap.code, 1, gap.output)
      assert(gap.stderr.includes("channel 3002: chain broken at seq 3: gap: seq 3 missing (next is seq 4)"), gap.output)

      const bad = yield* verify("--channel", "nope")
      assertEquals(bad.code, 2, bad.output)
      noStack(bad.output)
      // An export that cannot be written: one line naming it, no stack trace.
      const unwritable = yield* verify("--export", "/nonexistent-dir/chain.jsonl")
      assertEquals(unwritable.code, 2, unwritable.output)
      assert(unwritable.output.includes("--export /nonexistent-dir/chain.jsonl: cannot write it"), unwritable.output)
      noStack(unwritable.output)
    })),
})
