/** GramJS must not use localStorage (checked in subprocesses, each origin with its own storage). */
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

Deno.test("NoSchemaCache keeps GramJS from reading or writing a schema cache in localStorage", async () => {
  const location = `http://schema-cache-${crypto.randomUUID()}.invalid`
  // What another GramJS version could have left behind (here an empty schema, which would break every class).
  await run(location, `localStorage.setItem("GramJs:apiCache", "[]")`)
  const loaded = await run(
    location,
    `
    import "./src/telegram/NoSchemaCache.ts"
    import { Api } from "telegram"
    console.log(new Api.help.GetNearestDc().getBytes().length)
  `,
  )
  assertEquals(loaded, "4", "GramJS built its classes from its own schema")
  const left = await run(location, `console.log(localStorage.getItem("GramJs:apiCache")); localStorage.clear()`)
  assertEquals(left, "[]", "and wrote nothing")
})
