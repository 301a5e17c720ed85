/** The package's rules (README.md): what each folder may import, one GramJS module, one version of each npm package. */
import { assert, assertEquals } from "./support/assert.ts"

const ROOT = new URL("../", import.meta.url)

/** What the modules of each folder may import from the package's other folders (root modules: anything). */
const MAY_IMPORT: Readonly<Record<string, ReadonlyArray<string>>> = {
  transport: [],
  control: [],
  world: ["control"],
  stats: ["world", "control"],
  tl: ["transport", "world"],
  session: ["transport", "tl", "control", "world"],
  methods: ["transport", "tl", "session", "stats", "world", "control"],
  admin: ["session", "stats", "world", "control"],
}

const MAX_LINES = 400

interface Module {
  /** Path from the package root, e.g. "world/World.ts". */
  readonly path: string
  readonly lines: number
  /** Every specifier it imports (static and dynamic), as written. */
  readonly imports: ReadonlyArray<string>
}

async function modules(dir = ""): Promise<Array<Module>> {
  const out: Array<Module> = []
  for await (const entry of Deno.readDir(new URL(dir || ".", ROOT))) {
    const path = dir + entry.name
    if (entry.isDirectory) out.push(...await modules(path + "/"))
    else if (entry.name.endsWith(".ts")) {
      const text = await Deno.readTextFile(new URL(path, ROOT))
      const imports = [...text.matchAll(/(?:^import[^"\n]*?(?:\{[^}]*\}[^"\n]*)?"([^"]+)"|import\("([^"]+)"\))/gm)]
        .map((m) => m[1] ?? m[2]!)
      out.push({ path, lines: text.split("\n").length - 1, imports })
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1))
}

/** The package-relative path a relative specifier of `from` points at ("../world/Model.ts" → "world/Model.ts"). */
function resolve(from: string, specifier: string): string {
  return new URL(specifier, new URL(from, "file:///pkg/")).pathname.replace(/^\/pkg\//, "")
}

const sources = (all: ReadonlyArray<Module>) => all.filter((m) => !m.path.startsWith("tests/"))

Deno.test("Package: no module reaches outside the package; each folder imports only the folders below it", async () => {
  const all = await modules()
  assert(all.length > 40, `found the package's modules (${all.length})`)
  const wrong: Array<string> = []
  for (const m of all) {
    const folder = m.path.includes("/") ? m.path.split("/")[0]! : ""
    for (const specifier of m.imports.filter((s) => s.startsWith("."))) {
      const target = resolve(m.path, specifier)
      if (target.startsWith("../") || target.startsWith("/")) wrong.push(`${m.path} → ${specifier} (outside)`)
      const into = target.includes("/") ? target.split("/")[0]! : ""
      const allowed = folder === "" || folder === "tests" || into === folder || MAY_IMPORT[folder]?.includes(into)
      if (!allowed) wrong.push(`${m.path} → ${target}`)
    }
  }
  assertEquals(wrong, [])
  const descriptor = all.find((m) => m.path === "descriptor.ts")!
  assertEquals(descriptor.imports, [], "descriptor.ts imports nothing")
})

Deno.test("Package: GramJS is read through tl/Tl.ts alone, Hono by the admin API alone", async () => {
  const all = sources(await modules())
  const importers = (prefix: string) =>
    all.filter((m) => m.imports.some((s) => s === prefix || s.startsWith(prefix + "/"))).map((m) => m.path)
  assertEquals(importers("telegram"), ["tl/Tl.ts"])
  assertEquals(importers("big-integer"), ["tl/Tl.ts"])
  assert(importers("hono").every((p) => p.startsWith("admin/")), `hono: ${importers("hono")}`)
})

Deno.test(`Package: no module is longer than ${MAX_LINES} lines`, async () => {
  const long = (await modules()).filter((m) => m.lines > MAX_LINES).map((m) => `${m.path} (${m.lines})`)
  assertEquals(long, [])
})

Deno.test("Package: its npm imports pin the workspace root's versions (one version of each package)", async () => {
  const own = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)))
  const root = await Deno.readTextFile(new URL("../deno.json", ROOT)).then(JSON.parse).catch(() => undefined)
  if (root === undefined) return // the package on its own: there is no workspace to agree with
  const differ = Object.entries(own.imports as Record<string, string>)
    .filter(([name, target]) => root.imports?.[name] !== undefined && root.imports[name] !== target)
  assertEquals(differ, [])
})
