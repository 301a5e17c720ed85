/**
 * The layout's import rules (README "Layout"), read from the sources: GramJS only in src/telegram/; from the sandbox
 * package, src/ uses its descriptor reader (and the two commands that run a sandbox its entry point), never its
 * internals, and the sandbox imports nothing of tgpulse; src/'s folders import only their own layer or lower ones; no
 * import cycle; the dashboard page imports only its own files, uPlot and (types only) the read models; no module over
 * 400 lines.
 */
import { assertEquals } from "./support/assert.ts"

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "")

/** Every .ts file under `dir` (relative to the repository), recursively. */
async function sources(dir: string): Promise<Array<string>> {
  const out: Array<string> = []
  for await (const entry of Deno.readDir(`${ROOT}/${dir}`)) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory) out.push(...await sources(path))
    else if (entry.name.endsWith(".ts")) out.push(path)
  }
  return out.sort()
}

// An import or re-export statement (which never holds `=` or parentheses, unlike `export const x = f("...")`).
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;'"=()]*?(?:from\s*)?["']([^"']+)["']/g
/** The same, with the statement up to its specifier (to tell type-only imports). */
const STATEMENT = /(?:^|\n)(\s*(?:import|export)\b[^;'"=()]*?)(?:from\s*)?["']([^"']+)["']/g

/** The specifiers `file` imports or re-exports (type-only ones too). */
async function importsOf(file: string): Promise<Array<string>> {
  const text = await Deno.readTextFile(`${ROOT}/${file}`)
  return [...text.matchAll(IMPORT)].map((m) => m[1]!)
}

/** A relative specifier of `from` resolved against the repository root. */
function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1)
  for (const piece of spec.split("/")) {
    if (piece === "..") parts.pop()
    else if (piece !== ".") parts.push(piece)
  }
  return parts.join("/")
}

const GRAMJS = /^(telegram|big-integer)(\/|$)/

/** src/'s layers, lowest first: a module imports only its own layer or lower ones. */
function layerOf(file: string): number {
  const rel = file.slice("src/".length)
  const folder = rel.includes("/") ? rel.split("/")[0]! : rel
  const layers: ReadonlyArray<ReadonlyArray<string>> = [
    ["domain", "NoAsyncResource.ts"],
    ["Settings.ts", "ConfigRules.ts", "Config.ts"],
    ["store"],
    ["observe"],
    ["pool"],
    ["telegram"],
    ["collect"],
    ["cluster"],
    ["api"],
    ["App.ts", "Daemon.ts", "Supervisor.ts", "Readiness.ts", "Cli.ts", "healthcheck.ts", "commands"],
    ["main.ts"],
  ]
  const i = layers.findIndex((names) => names.includes(folder))
  if (i < 0) throw new Error(`${file}: not in any layer of the README's Layout`)
  return i
}

const src = await sources("src")
const sandbox = await sources("sandbox")
const graph = new Map<string, Array<string>>()
for (const file of src) graph.set(file, await importsOf(file))

Deno.test("Layout: GramJS is imported only in src/telegram/", () => {
  const outside = src.filter((f) => !f.startsWith("src/telegram/"))
    .flatMap((f) => graph.get(f)!.filter((s) => GRAMJS.test(s)).map((s) => `${f} imports ${s}`))
  assertEquals(outside, [])
})

Deno.test("Layout: src/ uses the sandbox package's descriptor reader and entry point only; the sandbox nothing of src/", async () => {
  const runsSandbox = new Set(["src/commands/sandbox.ts", "src/commands/demo.ts"])
  const bad = src.flatMap((f) =>
    graph.get(f)!.filter((s) => {
      if (s.startsWith(".")) return resolve(f, s).startsWith("sandbox/")
      if (!s.startsWith("@tgpulse/sandbox")) return false
      return !(s === "@tgpulse/sandbox/descriptor" || (s === "@tgpulse/sandbox" && runsSandbox.has(f)))
    }).map((s) => `${f} imports ${s}`)
  )
  assertEquals(bad, [])
  const intoTgpulse: Array<string> = []
  for (const f of sandbox) {
    for (const s of await importsOf(f)) {
      if (
        s.startsWith(".")
          ? !resolve(f, s).startsWith("sandbox/")
          : s.startsWith("@tgpulse/") && !s.startsWith("@tgpulse/sandbox")
      ) {
        intoTgpulse.push(`${f} imports ${s}`)
      }
    }
  }
  assertEquals(intoTgpulse, [])
})

Deno.test("Layout: the dashboard page imports its own files, its chart library and the read models' types only", async () => {
  const bad: Array<string> = []
  for (const f of await sources("dashboard")) {
    const text = await Deno.readTextFile(`${ROOT}/${f}`)
    for (const [, statement, s] of text.matchAll(STATEMENT)) {
      const typesOnly = /^\s*(import|export) type\b/.test(statement!)
      const ok = s!.startsWith(".")
        ? resolve(f, s!).startsWith("dashboard/") || (typesOnly && resolve(f, s!) === "src/store/Analytics.ts")
        : s === "uplot"
      if (!ok) bad.push(`${f} imports ${s}`)
    }
  }
  assertEquals(bad, [])
})

Deno.test("Layout: each folder of src/ imports only its own layer or lower ones", () => {
  const upward = src.flatMap((f) =>
    graph.get(f)!.filter((s) => s.startsWith("."))
      .map((s) => resolve(f, s))
      .filter((t) => t.startsWith("src/") && layerOf(t) > layerOf(f))
      .map((t) => `${f} imports ${t}`)
  )
  assertEquals(upward, [])
})

Deno.test("Layout: no import cycle in src/", () => {
  const deps = new Map(
    src.map((
      f,
    ) => [f, graph.get(f)!.filter((s) => s.startsWith(".")).map((s) => resolve(f, s)).filter((t) => graph.has(t))]),
  )
  // Tarjan's strongly connected components: any component of more than one module (or a self-import) is a cycle.
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const cycles: Array<string> = []
  const visit = (v: string) => {
    indices.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of deps.get(v)!) {
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!))
    }
    if (low.get(v) === indices.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || deps.get(v)!.includes(v)) cycles.push(component.sort().join(" -> "))
    }
  }
  for (const f of src) if (!indices.has(f)) visit(f)
  assertEquals(cycles, [])
})

Deno.test("Layout: no module over 400 lines", async () => {
  const files = [
    ...src,
    ...sandbox,
    ...await sources("dashboard"),
    ...await sources("tests"),
    ...await sources("bench"),
    ...await sources("tasks"),
  ]
  const long: Array<string> = []
  for (const f of files) {
    const lines = (await Deno.readTextFile(`${ROOT}/${f}`)).split("\n").length - 1
    if (lines > 400) long.push(`${f}: ${lines} lines`)
  }
  assertEquals(long, [])
})
