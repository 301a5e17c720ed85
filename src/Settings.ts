/**
 * One environment variable as a setting: its zod schema (unset or blank gives the default) and the words for what it
 * expects, and the ConfigError for a bad value (naming the variable, its value unless secret, and what it expects).
 * Config.ts declares every setting with these (the parsers of the account and proxy lists are here too); nothing else
 * imports zod.
 */
import { Option, Redacted } from "effect"
import { z } from "zod"
import { ConfigError } from "./domain/Errors.ts"
import { maskProxy, maskProxyText, parseProxyUrl, type ProxySpec } from "./domain/Proxy.ts"
import { type AccountRef, listEntries, maskSecret, parseAccountRef } from "./domain/Refs.ts"

export interface Setting<A> {
  readonly variable: string
  readonly schema: z.ZodType<A, string | undefined>
  /** What a valid value looks like, for the error message. */
  readonly expected: string
  /** Masked in error messages. */
  readonly secret?: boolean
  /** The schema's issue message says which entry is wrong and why, already masked: shown as it is. */
  readonly explains?: boolean
}

/** A setting from its parts. */
export const setting = <A>(
  variable: string,
  spec: Omit<Setting<A>, "variable">,
): Setting<A> => ({ variable, ...spec })

const TRUE = ["true", "1", "yes", "on"]
const FALSE = ["false", "0", "no", "off"]

/** An optional value: unset (or blank) gives `fallback`, anything else (trimmed) must pass `inner`. */
export function optional<A, B>(inner: z.ZodType<A, string>, fallback: B): z.ZodType<A | B, string | undefined> {
  return z.string().optional().transform((v, ctx): A | B => {
    if (v === undefined || v.trim() === "") return fallback
    const result = inner.safeParse(v.trim())
    if (result.success) return result.data
    ctx.addIssue({
      code: "custom",
      message: result.error.issues[0]?.code === "custom" ? result.error.issues[0].message : "",
    })
    return z.NEVER
  })
}

/** A value `parse` accepts, or an issue with the message it throws or returns (already masked when secret). */
export const parsedBy = <A>(parse: (raw: string) => A | string): z.ZodType<A, string> =>
  z.string().transform((v, ctx) => {
    const parsed = parse(v)
    if (typeof parsed !== "string") return parsed
    ctx.addIssue({ code: "custom", message: parsed })
    return z.NEVER
  })

/** A feature flag: false unless set to true, 1, yes or on. */
export const flag = (variable: string): Setting<boolean> =>
  setting(variable, {
    schema: optional(
      z.string().transform((v, ctx) => {
        const lower = v.toLowerCase()
        if (TRUE.includes(lower)) return true
        if (FALSE.includes(lower)) return false
        ctx.addIssue({ code: "custom", message: "" })
        return z.NEVER
      }),
      false,
    ),
    expected: "true or false",
  })

export const integer = (variable: string, min: number, max: number, fallback: number): Setting<number> =>
  setting(variable, {
    schema: optional(
      z.string().regex(/^[+-]?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)),
      fallback,
    ),
    expected: max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`,
  })

export const decimal = (variable: string, min: number, max: number, fallback: number): Setting<number> =>
  setting(variable, {
    schema: optional(
      z.string().regex(/^[+-]?(\d+\.?\d*|\.\d+)$/).transform(Number).pipe(z.number().min(min).max(max)),
      fallback,
    ),
    expected: `a number from ${min} to ${max}`,
  })

/** A string that may be unset (none). */
export const maybeText = (
  variable: string,
  expected: string,
  inner: z.ZodType<string, string> = z.string().min(1),
): Setting<Option.Option<string>> =>
  setting(variable, { schema: optional(inner, undefined).transform(Option.fromNullishOr), expected })

/** A list: each entry (see listEntries) must pass `item`; the issue message is the bad entry. */
export const listOf = <A>(item: (s: string) => A | undefined): z.ZodType<ReadonlyArray<A>, string> =>
  z.string().transform((v, ctx) => {
    const out: Array<A> = []
    for (const part of listEntries(v)) {
      const parsed = item(part)
      if (parsed === undefined) {
        ctx.addIssue({ code: "custom", message: part })
        return z.NEVER
      }
      out.push(parsed)
    }
    return out
  })

/** The ConfigError for a bad value of `spec`: its variable, its value (hidden when secret) and what it expects. */
export function settingError(spec: Setting<unknown>, raw: string, issue: string | undefined): ConfigError {
  const name = spec.variable
  if (spec.explains && issue) {
    return new ConfigError({ variable: name, message: `Invalid ${name}: ${issue}; expected ${spec.expected}` })
  }
  const shown = spec.secret ? "(value hidden)" : `"${raw.length > 80 ? raw.slice(0, 77) + "..." : raw}"`
  // A list names its bad entry (never for a secret list).
  const entry = !spec.secret && issue && issue !== raw.trim() && raw.includes(issue) ? ` (bad entry "${issue}")` : ""
  return new ConfigError({ variable: name, message: `Invalid ${name} ${shown}${entry}: expected ${spec.expected}` })
}

/** Each account once; a bad entry is named by its position and masked. */
export const accountList = (raw: string): ReadonlyArray<AccountRef> | string => {
  const refs: Array<AccountRef> = []
  const seen = new Set<string>()
  for (const [i, part] of listEntries(raw).entries()) {
    const ref = parseAccountRef(part)
    if (ref === undefined) {
      return `entry ${i + 1} (${maskSecret(part)}) is neither a GramJS session string nor a session name`
    }
    const key = ref._tag === "SessionFile" ? ref.name : Redacted.value(ref.session)
    if (seen.has(key)) {
      return `entry ${i + 1} (${ref._tag === "SessionFile" ? `"${ref.name}"` : maskSecret(part)}) is listed twice`
    }
    seen.add(key)
    refs.push(ref)
  }
  return refs
}

/** Each proxy once; a bad entry is named by its position, its credentials masked. */
export const proxyList = (raw: string): ReadonlyArray<ProxySpec> | string => {
  const specs: Array<ProxySpec> = []
  for (const [i, part] of listEntries(raw).entries()) {
    const spec = parseProxyUrl(part)
    if (typeof spec === "string") return `entry ${i + 1} (${maskProxyText(part)}): ${spec}`
    specs.push(spec)
  }
  const masked = specs.map(maskProxy)
  const twice = masked.findIndex((m, i) => masked.indexOf(m) !== i)
  return twice >= 0 ? `entry ${twice + 1} (${masked[twice]}) is listed twice` : specs
}

/** The shape a tree of settings gives: each setting replaced by its value. */
export type ShapeOf<T> = {
  readonly [K in keyof T]: T[K] extends Setting<infer A> ? A : ShapeOf<T[K]>
}

/** A tree of settings: settings and subtrees by key. */
export interface SettingsTree {
  readonly [key: string]: Setting<unknown> | SettingsTree
}

/** A setting and where it sits in its tree. */
export type Leaf = readonly [path: ReadonlyArray<string>, setting: Setting<unknown>]

const isSetting = (node: Setting<unknown> | SettingsTree): node is Setting<unknown> => typeof node.variable === "string"

/** Every setting of `tree` with its path, in declaration order. */
export function leavesOf(tree: SettingsTree): ReadonlyArray<Leaf> {
  const out: Array<Leaf> = []
  const walk = (node: SettingsTree, path: ReadonlyArray<string>) => {
    for (const [key, child] of Object.entries(node)) {
      if (isSetting(child)) out.push([[...path, key], child])
      else walk(child, [...path, key])
    }
  }
  walk(tree, [])
  return out
}

/** The values of `leaves` read from `env`, as a tree, or the ConfigError of the first bad variable. */
export function parseLeaves(
  leaves: ReadonlyArray<Leaf>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> | ConfigError {
  const root: Record<string, unknown> = {}
  for (const [path, spec] of leaves) {
    const result = spec.schema.safeParse(env[spec.variable])
    if (!result.success) return settingError(spec, env[spec.variable] ?? "", result.error.issues[0]?.message)
    let node = root
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>
    node[path[path.length - 1]!] = result.data
  }
  return root
}
