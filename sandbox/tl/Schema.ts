/**
 * TL schemas as data: the constructors and methods of one API layer, read from TL text (GramJS's `api.tl`) or from
 * mtcute's published JSON (`@mtcute/tl`'s `api-schema.json`). Layers.ts translates between two of them.
 */

/** One argument: its TL type without `Vector<>` (`vector` says), and the flags bit that carries it, if any. */
export interface TlArg {
  readonly name: string
  /** `int`, `long`, `string`, `Bool`, `true`, `#` (a flags word), `!X` (a wrapped query), or a boxed type name. */
  readonly type: string
  readonly vector: boolean
  readonly flag?: { readonly field: string; readonly bit: number }
}

/** A constructor (`class`) or a method, with the type it builds or returns. */
export interface TlCombinator {
  readonly id: number
  readonly name: string
  readonly kind: "class" | "method"
  /** The boxed type it is a constructor of, or the type a method returns (`X` for the generic wrappers). */
  readonly type: string
  /** A method returning `Vector<type>`. */
  readonly vector: boolean
  readonly args: ReadonlyArray<TlArg>
}

export interface TlSchema {
  readonly layer: number
  readonly byId: ReadonlyMap<number, TlCombinator>
  readonly byName: ReadonlyMap<string, TlCombinator>
  /** Constructors of each boxed type, in schema order. */
  readonly byType: ReadonlyMap<string, ReadonlyArray<TlCombinator>>
}

/** Types every schema has built in: they are not read from the definitions. */
const BUILT_IN: ReadonlySet<string> = new Set(["vector", "boolFalse", "boolTrue", "true"])

function build(layer: number, combinators: ReadonlyArray<TlCombinator>): TlSchema {
  const byId = new Map<number, TlCombinator>()
  const byName = new Map<string, TlCombinator>()
  const byType = new Map<string, Array<TlCombinator>>()
  for (const c of combinators) {
    byId.set(c.id, c)
    byName.set(c.name, c)
    if (c.kind !== "class") continue
    const list = byType.get(c.type)
    if (list) list.push(c)
    else byType.set(c.type, [c])
  }
  return { layer, byId, byName, byType }
}

/** `Vector<T>` → T with `vector`; `int53` (mtcute's name for a long it reads as a number) is a long on the wire. */
function typeOf(raw: string): { type: string; vector: boolean } {
  const m = /^Vector<(.+)>$/.exec(raw)
  const type = m ? m[1]! : raw
  return { type: type === "int53" ? "long" : type, vector: m !== null }
}

function flagOf(predicate: string | undefined): TlArg["flag"] {
  if (predicate === undefined) return undefined
  const m = /^(\w+)\.(\d+)$/.exec(predicate)
  if (!m) throw new SyntaxError(`Unreadable TL flag predicate "${predicate}"`)
  return { field: m[1]!, bit: Number(m[2]) }
}

const LINE = /^([\w.]+)#([0-9a-f]{1,8})((?:\s+[^=]+?)?)\s*=\s*([\w.<>!]+)\s*;$/

/** Reads TL text (`name#id arg:type ... = Type;` lines, `---functions---` before the methods). */
export function parseTlText(layer: number, text: string): TlSchema {
  const combinators: Array<TlCombinator> = []
  let kind: TlCombinator["kind"] = "class"
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "---functions---") kind = "method"
    else if (line === "---types---") kind = "class"
    if (line === "" || line.startsWith("//") || line.startsWith("---")) continue
    if (BUILT_IN.has(line.slice(0, line.indexOf("#")))) continue
    const m = LINE.exec(line)
    if (!m) throw new SyntaxError(`Unreadable TL line: ${line.slice(0, 80)}`)
    const name = m[1]!
    const args: Array<TlArg> = []
    for (const token of m[3]!.trim().split(/\s+/)) {
      if (token === "" || token.startsWith("{")) continue
      const colon = token.indexOf(":")
      const argName = token.slice(0, colon)
      let argType = token.slice(colon + 1)
      let predicate: string | undefined
      const q = argType.indexOf("?")
      if (q >= 0) {
        predicate = argType.slice(0, q)
        argType = argType.slice(q + 1)
      }
      const flag = flagOf(predicate)
      args.push({ name: argName, ...typeOf(argType), ...(flag ? { flag } : {}) })
    }
    combinators.push({ id: parseInt(m[2]!, 16) >>> 0, name, kind, ...typeOf(m[4]!), args })
  }
  return build(layer, combinators)
}

/** The shape of mtcute's `api-schema.json` that is read here. */
export interface MtcuteSchemaJson {
  readonly l: number
  readonly e: ReadonlyArray<{
    readonly kind: "class" | "method"
    readonly name: string
    readonly id: number
    readonly type: string
    readonly typeModifiers?: { readonly isVector?: boolean }
    readonly arguments: ReadonlyArray<{
      readonly name: string
      readonly type: string
      readonly typeModifiers?: { readonly predicate?: string; readonly isVector?: boolean }
    }>
  }>
}

/** Reads mtcute's JSON form of a layer's schema. */
export function parseMtcuteJson(json: MtcuteSchemaJson): TlSchema {
  const combinators = json.e.filter((e) => !BUILT_IN.has(e.name)).map((e): TlCombinator => ({
    id: e.id >>> 0,
    name: e.name,
    kind: e.kind,
    type: e.type === "int53" ? "long" : e.type,
    vector: e.typeModifiers?.isVector === true,
    args: e.arguments.map((a) => {
      const flag = flagOf(a.typeModifiers?.predicate)
      const { type, vector } = typeOf(a.type)
      return { name: a.name, type, vector: vector || a.typeModifiers?.isVector === true, ...(flag ? { flag } : {}) }
    }),
  }))
  return build(json.l, combinators)
}
