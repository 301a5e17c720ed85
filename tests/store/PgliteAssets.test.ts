/**
 * The embedded database loads PGlite's files from an explicit directory, as a bundle, an image or a compiled binary
 * must (PGlite's own lookup beside its module only works from node_modules): from a copy of the files elsewhere, a
 * clear error naming the missing file and TGPULSE_PGLITE_DIR, and the whole CLI bundled into one file running
 * `migrate` on the embedded database.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { packagedPgliteDir, PGLITE_FILES } from "../../src/store/PgliteAssets.ts"
import { Sql } from "../../src/store/Sql.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { effectTest } from "../support/effectTest.ts"
import { tempDir } from "../support/PgTest.ts"

/** A directory holding copies of PGlite's files (all of them, or all but `without`). */
const copiedAssets = (without?: string) =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    for (const file of PGLITE_FILES) {
      if (file !== without) {
        yield* Effect.promise(() => Deno.copyFile(`${packagedPgliteDir()}/${file}`, `${dir}/${file}`))
      }
    }
    return dir
  })

effectTest(
  "Sql.layerEmbedded loads PGlite's files from TGPULSE_PGLITE_DIR: a copy elsewhere opens, a missing file is named",
  Effect.gen(function* () {
    const assets = yield* copiedAssets()
    const data = yield* tempDir
    const rows = yield* SqlClient.SqlClient.use((sql) => sql<{ n: number }>`SELECT count(*)::int4 AS n FROM posts`)
      .pipe(
        Effect.provide(Sql.layerEmbedded(data, { assetsDir: assets })),
      )
    assertEquals(rows, [{ n: 0 }])

    const partial = yield* copiedAssets("pglite.data")
    const exit = yield* Effect.exit(Layer.build(Sql.layerEmbedded(yield* tempDir, { assetsDir: partial })))
    assert(Exit.isFailure(exit), "a directory without pglite.data fails")
    const message = Cause.prettyErrors(exit.cause)[0]?.message ?? ""
    assertEquals(
      message,
      `Cannot read PGlite's "pglite.data" in "${partial}" (no such file): set TGPULSE_PGLITE_DIR to a directory ` +
        "holding pglite.wasm, initdb.wasm, pglite.data",
    )
  }),
  { sanitizeOps: false, sanitizeResources: false },
)

Deno.test({
  name: "tgpulse bundled into one file runs `migrate` on the embedded database with its files in TGPULSE_PGLITE_DIR",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "tgpulse_bundle_" })
    try {
      const bundle = `${work}/tgpulse.js`
      const built = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--platform", "deno", "-o", bundle, "src/main.ts"],
        stdout: "piped",
        stderr: "piped",
      }).output()
      assertEquals(built.code, 0, new TextDecoder().decode(built.stderr))
      await Deno.mkdir(`${work}/pglite`)
      for (const file of PGLITE_FILES) await Deno.copyFile(`${packagedPgliteDir()}/${file}`, `${work}/pglite/${file}`)
      // Run from a directory with no deno.json and no node_modules: nothing but the bundle and the files.
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", bundle, "migrate"],
        cwd: work,
        env: { TGPULSE_DATA_DIR: `${work}/data`, TGPULSE_PGLITE_DIR: `${work}/pglite`, LOG_FORMAT: "json" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output()
      const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr)
      assertEquals(run.code, 0, output)
      assert(output.includes("applied migrations 0001_history"), output)
    } finally {
      await Deno.remove(work, { recursive: true })
    }
  },
})
