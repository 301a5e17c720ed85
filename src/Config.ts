/**
 * The configuration: the environment parsed once with zod (the only reader of `Deno.env` and the only zod importer).
 * Feature flags default to false; secrets are Redacted from the moment they are read; a bad value is a ConfigError
 * naming the variable, its value (secrets masked) and what was expected.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { z } from "zod"
import { ConfigError } from "./domain/Errors.ts"
import { maskProxy, parseProxyUrl, type ProxySpec } from "./pool/ProxyPool.ts"
import { DEFAULT_SCHEDULE, parseSchedule, type RefreshTier } from "./domain/Refresh.ts"

/** A channel as the user names it: a username (`@name`, `name`, `t.me/name`) or a numeric id (`123`, `-100123`). */
export type PeerRef =
  | { readonly _tag: "Username"; readonly username: string }
  | { readonly _tag: "Id"; readonly id: number }

/** An account: a GramJS session string, or the name of a session file under `<data dir>/sessions`. */
export type AccountRef =
  | { readonly _tag: "SessionString"; readonly session: Redacted.Redacted<string> }
  | { readonly _tag: "SessionFile"; readonly name: string }

export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "none"

export interface AppConfigShape {
  /** PostgreSQL URL; none: the embedded database under `dataDir`. */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  /** @default "./.tgpulse" */
  readonly dataDir: string
  /** Where PGlite's files are (pglite.wasm, initdb.wasm, pglite.data); none: its installed package. */
  readonly pgliteDir: Option.Option<string>
  readonly telegram: {
    readonly apiId: Option.Option<number>
    readonly apiHash: Option.Option<Redacted.Redacted<string>>
    readonly accounts: ReadonlyArray<AccountRef>
    /** A sandbox descriptor: route every DC there (and use its accounts when none are configured). */
    readonly sandboxFile: Option.Option<string>
    /** Seconds a Telegram call may take before it fails as a timeout. @default 30 */
    readonly requestTimeoutS: number
  }
  /** Feature flags, all false by default. */
  readonly features: {
    readonly mtproto: boolean
    readonly history: boolean
    readonly updates: boolean
    /** Metrics refresh of young posts (run by poll-updates). */
    readonly refresh: boolean
    readonly stats: boolean
    readonly pool: boolean
    readonly proxy: boolean
    readonly prometheus: boolean
    readonly otel: boolean
  }
  readonly updates: {
    /** Seconds between catch-ups of every followed channel (pushes are best-effort). @default 60 */
    readonly reconcileSec: number
    /** Seconds between status lines of poll-updates (0: none). @default 10 */
    readonly statusSec: number
  }
  readonly refresh: {
    /** How often posts' counters are read again, by age. @default 1d:10m,7d:1h,30d:1d */
    readonly schedule: ReadonlyArray<RefreshTier>
  }
  readonly history: {
    readonly peers: ReadonlyArray<PeerRef>
    /** Posts per channel per run; 0: no limit. @default 0 */
    readonly limitPerRun: number
    /** Channels synced at once. @default 2 */
    readonly concurrency: number
    /** serve: seconds between history runs. @default 300 */
    readonly intervalSec: number
  }
  readonly pool: {
    /** @default 0.7 */
    readonly rpsPerAccount: number
    /** @default 2 */
    readonly maxConcurrencyPerAccount: number
    /** @default 2.5 */
    readonly globalRps: number
    /** Longest a call may wait for an account (a long FLOOD_WAIT); longer fails that work. @default 900 */
    readonly maxFloodWaitS: number
  }
  readonly proxy: {
    /** Proxies (they may hold passwords: show them with maskProxy only). */
    readonly proxies: ReadonlyArray<ProxySpec>
    /** @default 300 */
    readonly rotationSec: number
    /** @default 3 */
    readonly failScoreLimit: number
  }
  readonly stats: {
    readonly peers: ReadonlyArray<PeerRef>
    /** @default 30 */
    readonly periodDays: number
    /** @default 1 */
    readonly concurrency: number
    /** Posts per peer per run that get their own statistics (newest first); 0: every post of the period. @default 0 */
    readonly postsLimit: number
    /** serve: seconds between statistics runs. @default 86400 */
    readonly intervalSec: number
  }
  readonly observe: {
    /** @default 9108 */
    readonly prometheusPort: number
    readonly otlpEndpoint: Option.Option<string>
    /** @default 0.05 */
    readonly samplerRatio: number
    /** host:port; unset: serve uses 127.0.0.1:8091, poll-updates serves no health routes. */
    readonly healthBind: Option.Option<string>
    /** @default "info" */
    readonly logLevel: LogLevelName
    /** undefined: pretty at a terminal, JSON otherwise. */
    readonly logFormat: "json" | "pretty" | undefined
  }
  /** @default 25 */
  readonly gracefulShutdownTimeoutS: number
}

// --- parsers: each variable has a schema and the words for what it expects ----------------------------------------

interface Spec<A> {
  readonly schema: z.ZodType<A, string | undefined>
  /** What a valid value looks like, for the error message. */
  readonly expected: string
  /** Masked in error messages. */
  readonly secret?: boolean
  /** The schema's issue message says which entry is wrong and why, already masked: shown as it is. */
  readonly explains?: boolean
}

const TRUE = ["true", "1", "yes", "on"]
const FALSE = ["false", "0", "no", "off"]

/** An optional variable: unset (or blank) gives `fallback`, anything else must pass `parse`. */
function optional<A, B>(inner: z.ZodType<A, string>, fallback: B): z.ZodType<A | B, string | undefined> {
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

const flag = (): Spec<boolean> => ({
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

const integer = (min: number, max: number, fallback: number): Spec<number> => ({
  schema: optional(z.string().regex(/^[+-]?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)), fallback),
  expected: max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`,
})

const decimal = (min: number, max: number, fallback: number): Spec<number> => ({
  schema: optional(
    z.string().regex(/^[+-]?(\d+\.?\d*|\.\d+)$/).transform(Number).pipe(z.number().min(min).max(max)),
    fallback,
  ),
  expected: `a number from ${min} to ${max}`,
})

/** The entries of a list setting: separated by commas and/or whitespace. */
export const listEntries = (raw: string): Array<string> => raw.split(/[,\s]+/).filter((p) => p !== "")

const listOf = <A>(item: (s: string) => A | undefined): z.ZodType<ReadonlyArray<A>, string> =>
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

/** A secret in an error: its first 4 characters and its length. */
export function maskSecret(text: string): string {
  return text.length <= 8 ? "***" : `${text.slice(0, 4)}***, ${text.length} characters`
}

/** A proxy URL that did not parse, with anything that may be a password or secret replaced by `***`. */
export function maskProxyText(text: string): string {
  return text
    .replace(/\/\/([^/@]*)@/, (_, auth: string) => `//${auth.includes(":") ? auth.split(":")[0] + ":***" : "***"}@`)
    .replace(/([?&]secret=)[^&]*/gi, "$1***")
}

/** `@name`, `name`, `https://t.me/name`, `123` or `-100123` (the Bot API form). */
export function parsePeerRef(raw: string): PeerRef | undefined {
  const s = raw.trim().replace(/^(?:https?:\/\/)?(?:www\.)?(?:t|telegram)\.me\//i, "").replace(/^@/, "")
  if (/^-100\d+$/.test(s)) return { _tag: "Id", id: Number(s.slice(4)) }
  if (/^\d+$/.test(s)) return Number.isSafeInteger(Number(s)) ? { _tag: "Id", id: Number(s) } : undefined
  if (/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(s)) return { _tag: "Username", username: s }
  return undefined
}

const PEERS_EXPECTED = "a comma-separated list of channel usernames (@name) or ids (123 or -100123)"

const peers = (): Spec<ReadonlyArray<PeerRef>> => ({
  schema: optional(listOf(parsePeerRef), []),
  expected: PEERS_EXPECTED,
})

/** A GramJS StringSession: "1" and base64 of at least 262 bytes (dc, address, port, 256-byte key). */
export const SESSION_STRING = /^1[A-Za-z0-9+/]{340,}={0,2}$/
/** A session file name: letters, digits, `_`, `.`, `-`. */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

function parseAccountRef(part: string): AccountRef | undefined {
  if (SESSION_STRING.test(part)) return { _tag: "SessionString", session: Redacted.make(part) }
  if (SESSION_NAME.test(part)) return { _tag: "SessionFile", name: part }
  return undefined
}

const redacted = (inner: z.ZodType<string, string>): z.ZodType<Redacted.Redacted<string>, string> =>
  inner.transform((v) => Redacted.make(v))

const SPECS = {
  DATABASE_URL: {
    schema: optional(
      redacted(
        z.string().refine((v) => {
          const url = URL.canParse(v) ? new URL(v) : undefined
          return url !== undefined && (url.protocol === "postgres:" || url.protocol === "postgresql:")
        }),
      ).transform(Option.some),
      Option.none(),
    ),
    expected: "postgres://user:password@host:port/database (unset: the embedded database)",
    secret: true,
  } satisfies Spec<Option.Option<Redacted.Redacted<string>>>,
  TGPULSE_DATA_DIR: {
    schema: optional(z.string().min(1), "./.tgpulse"),
    expected: "a directory path",
  } satisfies Spec<string>,
  TGPULSE_PGLITE_DIR: {
    schema: optional(z.string().min(1), undefined).transform(Option.fromNullishOr),
    expected: "a directory holding pglite.wasm, initdb.wasm and pglite.data",
  } satisfies Spec<Option.Option<string>>,
  TG_API_ID: {
    schema: optional(z.string().regex(/^\d{1,10}$/).transform(Number).pipe(z.number().int().min(1)), undefined)
      .transform(Option.fromNullishOr),
    expected: "the positive integer api_id from my.telegram.org",
  } satisfies Spec<Option.Option<number>>,
  TG_API_HASH: {
    schema: optional(redacted(z.string().regex(/^[0-9a-fA-F]{32}$/)), undefined).transform(Option.fromNullishOr),
    expected: "the 32 hexadecimal characters of api_hash from my.telegram.org",
    secret: true,
  } satisfies Spec<Option.Option<Redacted.Redacted<string>>>,
  MTPROTO_ACCOUNTS: {
    schema: optional(
      z.string().transform((v, ctx) => {
        const refs: Array<AccountRef> = []
        const seen = new Set<string>()
        for (const [i, part] of listEntries(v).entries()) {
          const ref = parseAccountRef(part)
          const key = ref === undefined ? "" : ref._tag === "SessionFile" ? ref.name : Redacted.value(ref.session)
          const problem = ref === undefined
            ? `entry ${i + 1} (${maskSecret(part)}) is neither a GramJS session string nor a session name`
            : seen.has(key)
            ? `entry ${i + 1} (${ref._tag === "SessionFile" ? `"${ref.name}"` : maskSecret(part)}) is listed twice`
            : undefined
          if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: problem })
            return z.NEVER
          }
          seen.add(key)
          refs.push(ref!)
        }
        return refs as ReadonlyArray<AccountRef>
      }),
      [],
    ),
    expected:
      "a comma-separated list of GramJS session strings or session names (files under <data dir>/sessions), each once",
    secret: true,
    explains: true,
  } satisfies Spec<ReadonlyArray<AccountRef>>,
  TG_SANDBOX_FILE: {
    schema: optional(z.string().min(1), undefined).transform(Option.fromNullishOr),
    expected: "the path of a sandbox descriptor (written by deno task sandbox)",
  } satisfies Spec<Option.Option<string>>,
  MTPROTO_REQUEST_TIMEOUT_S: integer(1, 600, 30),
  MTPROTO_ENABLED: flag(),
  MTPROTO_HISTORY_ENABLED: flag(),
  MTPROTO_UPDATES_ENABLED: flag(),
  MTPROTO_REFRESH_ENABLED: flag(),
  MTPROTO_STATS_ENABLED: flag(),
  MTPROTO_POOL_ENABLED: flag(),
  MTPROTO_PROXY_ENABLED: flag(),
  OBS_PROMETHEUS_ENABLED: flag(),
  OBS_OTEL_ENABLED: flag(),
  MTPROTO_PEERS: peers(),
  MTPROTO_HISTORY_LIMIT_PER_RUN: integer(0, Number.MAX_SAFE_INTEGER, 0),
  MTPROTO_CONCURRENCY: integer(1, 64, 2),
  MTPROTO_UPDATES_RECONCILE_SEC: integer(1, 86_400, 60),
  MTPROTO_HISTORY_INTERVAL_SEC: integer(1, 604_800, 300),
  MTPROTO_STATS_INTERVAL_SEC: integer(60, 2_592_000, 86_400),
  MTPROTO_UPDATES_STATUS_SEC: integer(0, 86_400, 10),
  MTPROTO_REFRESH_SCHEDULE: {
    schema: optional(
      z.string().transform((v, ctx) => {
        try {
          return parseSchedule(v)
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message })
          return z.NEVER
        }
      }),
      parseSchedule(DEFAULT_SCHEDULE),
    ),
    expected: `AGE:EVERY pairs with units s, m, h or d, ages increasing (e.g. "${DEFAULT_SCHEDULE}")`,
  },
  // Slower than one call per 100 s is a stall, not a budget.
  MTPROTO_RPS_PER_ACCOUNT: decimal(0.01, 1000, 0.7),
  MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT: integer(1, 64, 2),
  MTPROTO_GLOBAL_RPS: decimal(0.01, 10_000, 2.5),
  MTPROTO_MAX_FLOOD_WAIT_S: integer(1, 604_800, 900),
  MTPROTO_PROXIES: {
    schema: optional(
      z.string().transform((v, ctx) => {
        const specs: Array<ProxySpec> = []
        for (const [i, part] of listEntries(v).entries()) {
          const spec = parseProxyUrl(part)
          if (typeof spec === "string") {
            ctx.addIssue({ code: "custom", message: `entry ${i + 1} (${maskProxyText(part)}): ${spec}` })
            return z.NEVER
          }
          specs.push(spec)
        }
        const masked = specs.map(maskProxy)
        const twice = masked.findIndex((m, i) => masked.indexOf(m) !== i)
        if (twice >= 0) {
          ctx.addIssue({ code: "custom", message: `entry ${twice + 1} (${masked[twice]}) is listed twice` })
          return z.NEVER
        }
        return specs as ReadonlyArray<ProxySpec>
      }),
      [],
    ),
    expected: "a comma-separated list of proxy URLs: socks5://user:pass@host:port, socks4://host:port, " +
      "mtproxy://SECRET@host:port or tg://proxy?server=host&port=443&secret=SECRET",
    secret: true,
    explains: true,
  } satisfies Spec<ReadonlyArray<ProxySpec>>,
  MTPROTO_PROXY_ROTATION_SEC: integer(1, 86_400 * 7, 300),
  MTPROTO_PROXY_FAIL_SCORE_LIMIT: integer(1, 1_000, 3),
  MTPROTO_STATS_PEERS: peers(),
  MTPROTO_STATS_PERIOD_DAYS: integer(1, 365, 30),
  MTPROTO_STATS_CONCURRENCY: integer(1, 16, 1),
  MTPROTO_STATS_POSTS_LIMIT: integer(0, Number.MAX_SAFE_INTEGER, 0),
  PROMETHEUS_PORT: integer(1, 65_535, 9108),
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: optional(z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)), undefined)
      .transform(Option.fromNullishOr),
    expected: "an http(s) URL of an OTLP collector, e.g. http://127.0.0.1:4318",
  } satisfies Spec<Option.Option<string>>,
  OTEL_SAMPLER_RATIO: decimal(0, 1, 0.05),
  GRACEFUL_SHUTDOWN_TIMEOUT_S: integer(1, 3_600, 25),
  // Checked where the health server starts: a malformed value is reported there and the default used (issue 7: only a
  // port clash stops the process).
  HEALTH_BIND: {
    schema: optional(z.string().min(1), undefined).transform(Option.fromNullishOr),
    expected: "host:port, e.g. 127.0.0.1:8091 or 0.0.0.0:8091",
  } satisfies Spec<Option.Option<string>>,
  LOG_LEVEL: {
    schema: optional(
      z.string().toLowerCase().transform((v) => (v === "warning" ? "warn" : v)).pipe(
        z.enum(["trace", "debug", "info", "warn", "error", "fatal", "none"]),
      ),
      "info" as const,
    ),
    expected: "one of trace, debug, info, warn, error, fatal, none",
  } satisfies Spec<LogLevelName>,
  LOG_FORMAT: {
    schema: optional(z.string().toLowerCase().pipe(z.enum(["json", "pretty"])), undefined),
    expected: "one of json, pretty",
  } satisfies Spec<"json" | "pretty" | undefined>,
} as const

type Parsed = { readonly [K in keyof typeof SPECS]: z.output<(typeof SPECS)[K]["schema"]> }

const ENV_SCHEMA = z.object(
  Object.fromEntries(Object.entries(SPECS).map(([name, spec]) => [name, spec.schema])) as {
    [K in keyof typeof SPECS]: (typeof SPECS)[K]["schema"]
  },
)

/** The ConfigError for the first bad variable: its name, its value (masked when secret) and what it expects. */
function configError(env: Readonly<Record<string, string | undefined>>, error: z.ZodError): ConfigError {
  const issue = error.issues[0]
  const name = String(issue?.path[0] ?? "")
  const spec = (SPECS as Readonly<Record<string, Spec<unknown>>>)[name]
  const raw = env[name] ?? ""
  if (spec?.explains && issue?.message) {
    return new ConfigError({
      variable: name,
      message: `Invalid ${name}: ${issue.message}; expected ${spec.expected}`,
    })
  }
  const shown = spec?.secret ? "(value hidden)" : `"${raw.length > 80 ? raw.slice(0, 77) + "..." : raw}"`
  // A list names its bad entry (never for a secret list).
  const entry = !spec?.secret && issue?.message && issue.message !== raw.trim() && raw.includes(issue.message)
    ? ` (bad entry "${issue.message}")`
    : ""
  return new ConfigError({
    variable: name,
    message: `Invalid ${name} ${shown}${entry}: expected ${spec?.expected ?? "a valid value"}`,
  })
}

function build(p: Parsed): AppConfigShape {
  return {
    databaseUrl: p.DATABASE_URL,
    dataDir: p.TGPULSE_DATA_DIR.replace(/\/+$/, "") || ".",
    pgliteDir: p.TGPULSE_PGLITE_DIR,
    telegram: {
      apiId: p.TG_API_ID,
      apiHash: p.TG_API_HASH,
      accounts: p.MTPROTO_ACCOUNTS,
      sandboxFile: p.TG_SANDBOX_FILE,
      requestTimeoutS: p.MTPROTO_REQUEST_TIMEOUT_S,
    },
    features: {
      mtproto: p.MTPROTO_ENABLED,
      history: p.MTPROTO_HISTORY_ENABLED,
      updates: p.MTPROTO_UPDATES_ENABLED,
      refresh: p.MTPROTO_REFRESH_ENABLED,
      stats: p.MTPROTO_STATS_ENABLED,
      pool: p.MTPROTO_POOL_ENABLED,
      proxy: p.MTPROTO_PROXY_ENABLED,
      prometheus: p.OBS_PROMETHEUS_ENABLED,
      otel: p.OBS_OTEL_ENABLED,
    },
    refresh: { schedule: p.MTPROTO_REFRESH_SCHEDULE },
    updates: {
      reconcileSec: p.MTPROTO_UPDATES_RECONCILE_SEC,
      statusSec: p.MTPROTO_UPDATES_STATUS_SEC,
    },
    history: {
      peers: p.MTPROTO_PEERS,
      limitPerRun: p.MTPROTO_HISTORY_LIMIT_PER_RUN,
      concurrency: p.MTPROTO_CONCURRENCY,
      intervalSec: p.MTPROTO_HISTORY_INTERVAL_SEC,
    },
    pool: {
      rpsPerAccount: p.MTPROTO_RPS_PER_ACCOUNT,
      maxConcurrencyPerAccount: p.MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT,
      globalRps: p.MTPROTO_GLOBAL_RPS,
      maxFloodWaitS: p.MTPROTO_MAX_FLOOD_WAIT_S,
    },
    proxy: {
      proxies: p.MTPROTO_PROXIES,
      rotationSec: p.MTPROTO_PROXY_ROTATION_SEC,
      failScoreLimit: p.MTPROTO_PROXY_FAIL_SCORE_LIMIT,
    },
    stats: {
      peers: p.MTPROTO_STATS_PEERS,
      periodDays: p.MTPROTO_STATS_PERIOD_DAYS,
      concurrency: p.MTPROTO_STATS_CONCURRENCY,
      postsLimit: p.MTPROTO_STATS_POSTS_LIMIT,
      intervalSec: p.MTPROTO_STATS_INTERVAL_SEC,
    },
    observe: {
      prometheusPort: p.PROMETHEUS_PORT,
      otlpEndpoint: p.OTEL_EXPORTER_OTLP_ENDPOINT,
      samplerRatio: p.OTEL_SAMPLER_RATIO,
      healthBind: p.HEALTH_BIND,
      logLevel: p.LOG_LEVEL,
      logFormat: p.LOG_FORMAT,
    },
    gracefulShutdownTimeoutS: p.GRACEFUL_SHUTDOWN_TIMEOUT_S,
  }
}

/** Parses an environment (pure): the configuration, or the ConfigError of the first bad variable. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): AppConfigShape | ConfigError {
  const result = ENV_SCHEMA.safeParse(env)
  return result.success ? build(result.data as Parsed) : configError(env, result.error)
}

/** Every variable tgpulse reads (for `.env.example` and `--help` texts). */
export const VARIABLES: ReadonlyArray<string> = Object.keys(SPECS)

export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()("tgpulse/Config/AppConfig") {
  /** A configuration from `env` (tests, the demo): the same parser as the process environment's. */
  static readonly layerFrom = (
    env: Readonly<Record<string, string | undefined>>,
  ): Layer.Layer<AppConfig, ConfigError> =>
    Layer.effect(
      AppConfig,
      Effect.suspend(() => {
        const parsed = parseConfig(env)
        return parsed instanceof ConfigError ? Effect.fail(parsed) : Effect.succeed(AppConfig.of(parsed))
      }),
    )

  /** The process environment, read once when the layer is built. */
  static readonly layer: Layer.Layer<AppConfig, ConfigError> = Layer.unwrap(
    Effect.sync(() => AppConfig.layerFrom(Deno.env.toObject())),
  )
}

/**
 * A command-line flag that stands for a variable (`--concurrency` for MTPROTO_CONCURRENCY) is held to the same rule:
 * the value, or a ConfigError naming the flag, its value and what the variable expects.
 */
export const flagAs = (
  flag: string,
  variable: "MTPROTO_CONCURRENCY" | "MTPROTO_HISTORY_LIMIT_PER_RUN",
  value: number,
): Effect.Effect<number, ConfigError> => {
  const spec: Spec<number> = SPECS[variable]
  const parsed = spec.schema.safeParse(String(value))
  return parsed.success ? Effect.succeed(parsed.data) : Effect.fail(
    new ConfigError({
      variable: flag,
      message: `Invalid ${flag} ${value}: expected ${spec.expected} (as ${variable})`,
    }),
  )
}

/** "a,b,123": channel references, or a ConfigError naming `source` and the bad entry. */
export const peerList = (raw: string, source: string): Effect.Effect<ReadonlyArray<PeerRef>, ConfigError> => {
  const parts = listEntries(raw)
  const refs = parts.map(parsePeerRef)
  const bad = parts.find((_, i) => refs[i] === undefined)
  return bad === undefined && refs.length > 0 ? Effect.succeed(refs as ReadonlyArray<PeerRef>) : Effect.fail(
    new ConfigError({
      variable: source,
      message: `Invalid ${source} "${raw}"${bad === undefined ? "" : ` (bad entry "${bad}")`}: expected ` +
        "a comma-separated list of channel usernames (@name) or ids (123 or -100123)",
    }),
  )
}
