/** The guard over GramJS's unversioned schema cache in localStorage (run in subprocesses with their own storage). */
import { assertEquals } from "../support/assert.ts"

/** Runs `code` as a module of this project with a private localStorage (its own --location origin). */
async function run(location: string, code: string): Promise<string> {
  const file = await Deno.makeTempFile({ dir: Deno.cwd(), prefix: ".schema_cache_", suffix: ".ts" })
  try {
    await Deno.writeTextFile(file, code)
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--location", location, file],
      stdout: "piped",
      stderr: "piped",
    }).output()
    const text = new TextDecoder().decode(out.stdout).trim()
    if (out.code !== 0) throw new Error(`exit ${out.code}: ${text} ${new TextDecoder().decode(out.stderr)}`)
    return text
  } finally {
    await Deno.remove(file)
  }
}

Deno.test("SchemaCache forgets a GramJS schema cache written by another telegram version", async () => {
  const location = `http://schema-cache-${crypto.randomUUID()}.invalid`
  // A cache that another GramJS version left behind (here: an empty schema, which would break every class).
  await run(
    location,
    `
    localStorage.setItem("tgpulse:GramJs:apiCache:package", "file:///old/telegram@2.0.0/index.js")
    localStorage.setItem("GramJs:apiCache", "[]")
  `,
  )
  const after = await run(
    location,
    `
    import { Api } from "./src/sandbox/Tl.ts"
    const bytes = new Api.help.GetNearestDc().getBytes()
    console.log(JSON.stringify({
      bytes: bytes.length,
      cached: (localStorage.getItem("GramJs:apiCache") ?? "").length > 100_000,
      package: localStorage.getItem("tgpulse:GramJs:apiCache:package")?.includes("telegram@"),
    }))
    localStorage.clear()
  `,
  )
  assertEquals(JSON.parse(after), { bytes: 4, cached: true, package: true })
})
