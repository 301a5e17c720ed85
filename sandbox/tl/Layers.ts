/**
 * Other API layers: a client that announces another layer with invokeWithLayer has its requests read in that layer's
 * schema and gets its answers and pushed updates in it. The sandbox itself speaks GramJS's layer; a request or an
 * answer is read into a tree by one schema and written by the other, constructor by constructor and field by field,
 * matched by name (ids change between layers, names do not):
 * - a field the target constructor lacks is left out; a field it adds is left out when optional (a flags bit), or
 *   written as its zero value (0, "", false, an empty vector, the simplest constructor of its type) when required;
 * - a field whose type changed is converted where the value carries over (int to long, true to Bool), or treated as
 *   missing; an element of a vector that the target layer cannot express is left out of the vector.
 * Schemas are data: the sandbox's own is GramJS's `api.tl` text, the others mtcute's published `api-schema.json`.
 */
import { Reader, VECTOR_ID, Writer } from "../transport/Bytes.ts"
import {
  type MtcuteSchemaJson,
  parseMtcuteJson,
  parseTlText,
  type TlArg,
  type TlCombinator,
  type TlSchema,
} from "./Schema.ts"
import { API_TL, LAYER } from "./Tl.ts"

/** A request or an answer the other layer cannot express, or bytes that are no valid TL of the layer read. */
export class LayerError extends Error {}

/** The layers the sandbox can answer in, besides its own; each schema is loaded the first time a client needs it. */
const LOADERS: Readonly<Record<number, () => Promise<MtcuteSchemaJson>>> = {
  223: async () => (await import("@mtcute/tl/api-schema.json", { with: { type: "json" } })).default,
}

/** Every layer the sandbox answers in, oldest first. */
export const KNOWN_LAYERS: ReadonlyArray<number> = [LAYER, ...Object.keys(LOADERS).map(Number)].sort((a, b) => a - b)

/**
 * The layer a client announcing `announced` is answered in: that layer when known; the newest known for a newer one
 * (its constructors are those of the newest layer the server has, as Telegram serves a layer it does not know yet);
 * the newest known below it for one between two known layers; undefined (CONNECTION_LAYER_INVALID) for one older
 * than every layer the sandbox knows. 0 (no invokeWithLayer yet) is the sandbox's own layer.
 */
export function servedLayer(announced: number): number | undefined {
  if (announced === 0) return LAYER
  let best: number | undefined
  for (const layer of KNOWN_LAYERS) if (layer <= announced) best = layer
  return best
}

const schemas = new Map<number, TlSchema>()
let own: TlSchema | undefined

function ownSchema(): TlSchema {
  return own ??= parseTlText(LAYER, API_TL)
}

/** The schema of a known layer, loaded on first use. */
export async function loadSchema(layer: number): Promise<TlSchema> {
  if (layer === LAYER) return ownSchema()
  const loaded = schemas.get(layer)
  if (loaded) return loaded
  const loader = LOADERS[layer]
  if (!loader) throw new LayerError(`layer ${layer} is not known`)
  const schema = parseMtcuteJson(await loader())
  schemas.set(layer, schema)
  return schema
}

/** The schema of a layer already loaded (a push goes only to sessions whose requests loaded theirs). */
export function loadedSchema(layer: number): TlSchema | undefined {
  return layer === LAYER ? ownSchema() : schemas.get(layer)
}

const BOOL_TRUE = 0x997275b5
const BOOL_FALSE = 0xbc799737
const SIZES: Readonly<Record<string, number>> = { long: 8, double: 8, int128: 16, int256: 32 }

type Value = number | boolean | Uint8Array | Obj | ReadonlyArray<Value>
interface Field {
  readonly type: string
  readonly vector: boolean
  readonly value: Value
}
interface Obj {
  readonly c: TlCombinator
  readonly fields: ReadonlyMap<string, Field>
}

function isObj(v: Value): v is Obj {
  return typeof v === "object" && v !== null && "c" in v
}

function readBoxed(r: Reader, schema: TlSchema): Obj {
  const id = r.uint32()
  const c = schema.byId.get(id)
  if (!c) throw new LayerError(`constructor #${id.toString(16).padStart(8, "0")} is not in layer ${schema.layer}`)
  const fields = new Map<string, Field>()
  const flags = new Map<string, number>()
  for (const a of c.args) {
    if (a.type === "#") {
      flags.set(a.name, r.uint32())
      continue
    }
    if (a.flag && ((flags.get(a.flag.field) ?? 0) & (1 << a.flag.bit)) === 0) continue
    fields.set(a.name, { type: a.type, vector: a.vector, value: readValue(r, schema, a) })
  }
  return { c, fields }
}

function readValue(r: Reader, schema: TlSchema, a: { readonly type: string; readonly vector: boolean }): Value {
  if (!a.vector) return readOne(r, schema, a.type)
  if (r.uint32() !== VECTOR_ID) throw new LayerError(`a Vector<${a.type}> expected`)
  const n = r.int32()
  if (n < 0 || n > r.remaining) throw new LayerError(`a Vector of ${n} elements`)
  const out: Array<Value> = []
  for (let i = 0; i < n; i++) out.push(readOne(r, schema, a.type))
  return out
}

function readOne(r: Reader, schema: TlSchema, type: string): Value {
  switch (type) {
    case "int":
      return r.int32()
    case "string":
    case "bytes":
      return r.bytes()
    case "Bool": {
      const id = r.uint32()
      if (id !== BOOL_TRUE && id !== BOOL_FALSE) throw new LayerError("a Bool expected")
      return id === BOOL_TRUE
    }
    case "true":
      return true
    default: {
      const size = SIZES[type]
      return size === undefined ? readBoxed(r, schema) : r.raw(size)
    }
  }
}

/** Raised when a value cannot be written as the target field: the field is then left out or zeroed. */
class Incompatible extends Error {}

/** Writes `obj` as the target layer's constructor of the same name, of type `expected` ("!X": any method). */
function writeObj(w: Writer, obj: Obj, to: TlSchema, expected: string, depth = 0): void {
  const c = to.byName.get(obj.c.name)
  if (!c || c.kind !== obj.c.kind || (expected !== "!X" && c.type !== expected)) throw new Incompatible()
  const parts = new Map<string, Uint8Array>()
  for (const a of c.args) {
    if (a.type === "#") continue
    const part = encodeArg(a, obj.fields.get(a.name), to, depth)
    if (part) parts.set(a.name, part)
  }
  w.uint32(c.id)
  for (const a of c.args) {
    if (a.type === "#") {
      let flags = 0
      for (const b of c.args) if (b.flag?.field === a.name && parts.has(b.name)) flags |= 1 << b.flag.bit
      w.uint32(flags)
    } else {
      const part = parts.get(a.name)
      if (part) w.raw(part)
    }
  }
}

const NOTHING = new Uint8Array(0)

/** The bytes of one target field (empty for a set `true` flag), or undefined when it is left out. */
function encodeArg(a: TlArg, f: Field | undefined, to: TlSchema, depth: number): Uint8Array | undefined {
  if (a.type === "true") return f !== undefined && f.value === true ? NOTHING : undefined
  if (f !== undefined) {
    try {
      const w = new Writer(16)
      writeField(w, a, f, to, depth)
      return w.finish()
    } catch (error) {
      if (!(error instanceof Incompatible)) throw error
    }
  }
  if (a.flag) return undefined
  const w = new Writer(16)
  writeZero(w, a, to, depth)
  return w.finish()
}

function writeField(w: Writer, a: TlArg, f: Field, to: TlSchema, depth: number): void {
  if (a.vector !== f.vector) throw new Incompatible()
  if (!a.vector) return writeOne(w, a.type, f.type, f.value, to, depth)
  const items: Array<Uint8Array> = []
  for (const item of f.value as ReadonlyArray<Value>) {
    try {
      const iw = new Writer(16)
      writeOne(iw, a.type, f.type, item, to, depth)
      items.push(iw.finish())
    } catch (error) {
      if (!(error instanceof Incompatible)) throw error
    }
  }
  w.vector(items.length)
  for (const item of items) w.raw(item)
}

function writeOne(w: Writer, type: string, from: string, v: Value, to: TlSchema, depth: number): void {
  if (isObj(v)) return writeObj(w, v, to, type, depth + 1)
  if (typeof v === "boolean") {
    if (type !== "Bool") throw new Incompatible()
    w.uint32(v ? BOOL_TRUE : BOOL_FALSE)
  } else if (typeof v === "number") {
    if (type === "int") w.int32(v)
    else if (type === "long") w.int64(BigInt(v))
    else throw new Incompatible()
  } else if (Array.isArray(v)) {
    throw new Incompatible()
  } else if ((type === "string" || type === "bytes") && (from === "string" || from === "bytes")) {
    w.bytes(v as Uint8Array)
  } else if (type === from && SIZES[type] !== undefined) {
    w.raw(v as Uint8Array)
  } else {
    throw new Incompatible()
  }
}

/** A required field the source lacks: its type's zero value. */
function writeZero(w: Writer, a: { readonly type: string; readonly vector: boolean }, to: TlSchema, depth: number) {
  if (a.vector) return w.vector(0)
  switch (a.type) {
    case "int":
      return w.int32(0)
    case "string":
    case "bytes":
      return w.bytes(NOTHING)
    case "Bool":
      return w.uint32(BOOL_FALSE)
  }
  const size = SIZES[a.type]
  if (size !== undefined) return w.raw(new Uint8Array(size))
  // The constructor of the type with the fewest required fields, itself zeroed (bounded: types can nest).
  const candidates = [...(to.byType.get(a.type) ?? [])].sort((x, y) => required(x) - required(y))
  const simplest = candidates[0]
  if (!simplest || depth > 4) throw new Incompatible()
  writeObj(w, { c: simplest, fields: new Map() }, to, a.type, depth + 1)
}

function required(c: TlCombinator): number {
  return c.args.filter((a) => a.type !== "#" && !a.flag).length
}

/** A request translated into the sandbox's layer, and the method it calls (inside invokeWithLayer and the like). */
export interface TranslatedRequest {
  readonly bytes: Uint8Array
  readonly method: string
}

/** Translates a request (wrappers included) from `from` into the sandbox's own layer. */
export function requestToOwn(bytes: Uint8Array, from: TlSchema): TranslatedRequest {
  const to = ownSchema()
  const r = new Reader(bytes)
  const tree = readBoxed(r, from)
  let inner = tree
  for (;;) {
    const query = inner.fields.get("query")
    if (!query || !isObj(query.value) || query.type !== "!X") break
    inner = query.value
  }
  const w = new Writer(bytes.length + 64)
  try {
    writeObj(w, tree, to, "!X")
  } catch (error) {
    if (error instanceof Incompatible) throw new LayerError(`${inner.c.name} is not in layer ${to.layer}`)
    throw error
  }
  return { bytes: w.finish(), method: inner.c.name }
}

/** Translates the answer to `method` (its TL name) from the sandbox's own layer into `to`. */
export function answerFromOwn(bytes: Uint8Array, method: string, to: TlSchema): Uint8Array {
  const own = ownSchema()
  const m = own.byName.get(method)
  const target = to.byName.get(method)
  if (!m || !target) throw new LayerError(`${method} is not in layer ${m ? to.layer : own.layer}`)
  return translateValue(bytes, m, own, to, target.type)
}

/** Translates a pushed `Updates` from the sandbox's own layer into `to`. */
export function updatesFromOwn(bytes: Uint8Array, to: TlSchema): Uint8Array {
  return translateValue(bytes, { type: "Updates", vector: false }, ownSchema(), to, "Updates")
}

function translateValue(
  bytes: Uint8Array,
  shape: { readonly type: string; readonly vector: boolean },
  from: TlSchema,
  to: TlSchema,
  toType: string,
): Uint8Array {
  const value = readValue(new Reader(bytes), from, shape)
  const w = new Writer(bytes.length + 64)
  try {
    writeField(w, { name: "result", type: toType, vector: shape.vector }, { ...shape, value }, to, 0)
  } catch (error) {
    if (error instanceof Incompatible) throw new LayerError(`a ${shape.type} that layer ${to.layer} cannot express`)
    throw error
  }
  return w.finish()
}
