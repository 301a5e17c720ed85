/**
 * Embedded databases for tests without running initdb each time: the first test process that needs one creates a
 * data directory with PGlite through `Sql.layerEmbedded` (initdb, every migration) under the temp directory, keyed by
 * the PGlite version and the migrations' source; every test then starts from a copy of it (a few seconds saved per database).
 * Creating one from nothing stays tested: the template itself, the demo's first run, the bundle test.
 */
import { createHash } from "node:crypto"
import { Effect, Layer, References } from "effect"
import denoJson from "../../deno.json" with { type: "json" }
import { migrations } from "../../migrations/mod.ts"
import { Sql } from "../../src/store/Sql.ts"

// The migrations' source, not only their names: a migration changed before it lands must not reuse an old template.
const sources = await Promise.all(
  Object.keys(migrations).map((name) => Deno.readTextFile(new URL(`../../migrations/${name}.ts`, import.meta.url))),
)
const KEY = createHash("sha256")
  .update(denoJson.imports["@electric-sql/pglite"])
  .update(JSON.stringify(Object.keys(migrations)))
  .update(sources.join("\0"))
  .digest("hex")
  .slice(0, 12)

const TEMPLATE = `${Deno.env.get("TMPDIR") ?? "/tmp"}/tgpulse_pglite_template_${KEY}`

const exists = (path: string) => Deno.stat(path).then(() => true, () => false)

async function create(): Promise<string> {
  if (await exists(`${TEMPLATE}/pgdata/PG_VERSION`)) return TEMPLATE
  const work = await Deno.makeTempDir({ prefix: "tgpulse_pglite_making_" })
  await Effect.runPromise(
    Layer.build(Sql.layerEmbedded(work)).pipe(
      Effect.scoped,
      Effect.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
    ),
  )
  await Deno.remove(`${work}/pgdata.lock`).catch(() => undefined)
  try {
    // Atomic: of several test processes making it at once, one rename wins and the others use it.
    await Deno.rename(work, TEMPLATE)
  } catch {
    await Deno.remove(work, { recursive: true }).catch(() => undefined)
  }
  return TEMPLATE
}

let template: Promise<string> | undefined

/** Fills the empty directory `dir` with a migrated embedded database (a copy of the template). */
export async function fillDataDir(dir: string): Promise<void> {
  const from = await (template ??= create())
  const out = await new Deno.Command("cp", { args: ["-a", `${from}/pgdata`, `${dir}/pgdata`], stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`copying the PGlite template failed: ${new TextDecoder().decode(out.stderr)}`)
}
