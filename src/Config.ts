/**
 * The configuration: one tree of settings (the only reader of `Deno.env`), the shape derived from it, and every check
 * that involves more than one setting. Feature flags default to false; secrets are Redacted from the moment they are
 * read; a bad value is a ConfigError naming the variable, its value (secrets masked) and what was expected.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { z } from "zod"
import { ConfigError } from "./domain/Errors.ts"
import { ALL_PEERS, parsePeerRef, type PeerRef, PEERS_EXPECTED } from "./domain/Refs.ts"
import { DEFAULT_SCHEDULE, parseSchedule } from "./domain/Refresh.ts"
import { adaptEnv, crossCheck, SAFE_MODE, SLEEP_THRESHOLD } from "./ConfigRules.ts"
import {
  accountList,
  decimal,
  flag,
  integer,
  leavesOf,
  listOf,
  maybeText,
  optional,
  parsedBy,
  parseLeaves,
  proxyList,
  type Setting,
  setting,
  type ShapeOf,
} from "./Settings.ts"

export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "none"

const redacted = (inner: z.ZodType<string, string>): z.ZodType<Redacted.Redacted<string>, string> =>
  inner.transform((v) => Redacted.make(v))

const peers = (variable: string): Setting<ReadonlyArray<PeerRef>> =>
  setting(variable, { schema: optional(listOf(parsePeerRef), []), expected: PEERS_EXPECTED })

/** The refresh schedule, or why it is not one. */
const schedule = (raw: string) => {
  try {
    return parseSchedule(raw)
  } catch (e) {
    return (e as Error).message
  }
}

/** `host:port` with a port in 1..65535. */
const hostPort = (raw: string): { readonly host: string; readonly port: number } | string => {
  const m = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(raw)
  const port = Number(m?.[2])
  return m && port >= 1 && port <= 65_535 ? { host: m[1]!, port } : "expected host:port"
}

const isHttpUrl = (v: string) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)

const isPostgresUrl = (v: string) => {
  const url = URL.canParse(v) ? new URL(v) : undefined
  return url !== undefined && (url.protocol === "postgres:" || url.protocol === "postgresql:")
}

/** Every setting, where it sits in the configuration. The configuration's type is derived from this tree. */
const SETTINGS = {
  /** PostgreSQL URL; none: the embedded database under `dataDir`. */
  databaseUrl: setting("DATABASE_URL", {
    schema: optional(redacted(z.string().refine(isPostgresUrl)).transform(Option.some), Option.none()),
    expected: "postgres://user:password@host:port/database (unset: the embedded database)",
    secret: true,
  }),
  /** Trailing slashes removed. @default "./.tgpulse" */
  dataDir: setting("TGPULSE_DATA_DIR", {
    schema: optional(z.string().min(1).transform((v) => v.replace(/\/+$/, "") || "."), "./.tgpulse"),
    expected: "a directory path",
  }),
  /** Where PGlite's files are (pglite.wasm, initdb.wasm, pglite.data); none: its installed package. */
  pgliteDir: maybeText("TGPULSE_PGLITE_DIR", "a directory holding pglite.wasm, initdb.wasm and pglite.data"),
  telegram: {
    apiId: setting("TG_API_ID", {
      schema: optional(z.string().regex(/^\d{1,10}$/).transform(Number).pipe(z.number().int().min(1)), undefined)
        .transform(Option.fromNullishOr),
      expected: "the positive integer api_id from my.telegram.org",
    }),
    apiHash: setting("TG_API_HASH", {
      schema: optional(redacted(z.string().regex(/^[0-9a-fA-F]{32}$/)), undefined).transform(Option.fromNullishOr),
      expected: "the 32 hexadecimal characters of api_hash from my.telegram.org",
      secret: true,
    }),
    accounts: setting("MTPROTO_ACCOUNTS", {
      schema: optional(parsedBy(accountList), []),
      expected:
        "a comma-separated list of GramJS session strings or session names (files under <data dir>/sessions), each once",
      secret: true,
      explains: true,
    }),
    /** A sandbox descriptor: route every DC there (and use its accounts when none are configured). */
    sandboxFile: maybeText("TG_SANDBOX_FILE", "the path of a sandbox descriptor (written by deno task sandbox)"),
    /** Seconds a Telegram call may take before it fails as a timeout. @default 30 */
    requestTimeoutS: integer("MTPROTO_REQUEST_TIMEOUT_S", 1, 600, 30),
    /**
     * Threads that decode getHistory answers beside the one reading the connections (0: that one decodes them too).
     * @default 1
     */
    decodeWorkers: integer("MTPROTO_DECODE_WORKERS", 0, 16, 1),
    /** Tries again of a call that failed in passing (network, timeout, Telegram's own errors). @default 5 */
    retryMax: integer("MTPROTO_RETRY_MAX", 0, 20, 5),
    /** Seconds before the first try again; each next one waits twice as long. @default 0.25 */
    retryBackoffS: decimal("MTPROTO_RETRY_BACKOFF", 0.01, 60, 0.25),
  },
  /** Feature flags, all false by default. */
  features: {
    mtproto: flag("MTPROTO_ENABLED"),
    history: flag("MTPROTO_HISTORY_ENABLED"),
    updates: flag("MTPROTO_UPDATES_ENABLED"),
    /** Metrics refresh of young posts (run by poll-updates). */
    refresh: flag("MTPROTO_REFRESH_ENABLED"),
    stats: flag("MTPROTO_STATS_ENABLED"),
    /** Comments under the posts of channels with a discussion group (sync-history, serve, poll-updates). */
    comments: flag("MTPROTO_COMMENTS_ENABLED"),
    /** Deletions found without live updates: stored posts asked about again (serve, poll-updates). */
    deletionProbe: flag("MTPROTO_DELETION_PROBE_ENABLED"),
    pool: flag("MTPROTO_POOL_ENABLED"),
    proxy: flag("MTPROTO_PROXY_ENABLED"),
    /** Channels named by an invite link that no account belongs to are joined (importChatInvite). */
    joinInvites: flag("MTPROTO_JOIN_INVITES"),
    prometheus: flag("OBS_PROMETHEUS_ENABLED"),
    otel: flag("OBS_OTEL_ENABLED"),
    /** Conservative limits for a first run on a fresh account (src/ConfigRules.ts fills them in). */
    safeMode: SAFE_MODE,
  },
  updates: {
    /** Seconds between catch-ups of every followed channel (pushes are best-effort). @default 60 */
    reconcileSec: integer("MTPROTO_UPDATES_RECONCILE_SEC", 1, 86_400, 60),
    /** Seconds between status lines of poll-updates (0: none). @default 10 */
    statusSec: integer("MTPROTO_UPDATES_STATUS_SEC", 0, 86_400, 10),
  },
  refresh: {
    /** How often posts' counters are read again, by age. @default 1d:10m,7d:1h,30d:1d */
    schedule: setting("MTPROTO_REFRESH_SCHEDULE", {
      schema: optional(parsedBy(schedule), parseSchedule(DEFAULT_SCHEDULE)),
      expected: `AGE:EVERY pairs with units s, m, h or d, ages increasing (e.g. "${DEFAULT_SCHEDULE}")`,
    }),
  },
  comments: {
    /** How often a post's comments are read again, by the post's age. @default 1d:10m,7d:1h,30d:1d */
    schedule: setting("MTPROTO_COMMENTS_SCHEDULE", {
      schema: optional(parsedBy(schedule), parseSchedule(DEFAULT_SCHEDULE)),
      expected: `AGE:EVERY pairs with units s, m, h or d, ages increasing (e.g. "${DEFAULT_SCHEDULE}")`,
    }),
  },
  deletionProbe: {
    /** Seconds one sweep over every stored post is spread over (its calls evenly spaced). @default 86400 */
    periodSec: integer("MTPROTO_DELETION_PROBE_PERIOD_SEC", 60, 2_592_000, 86_400),
  },
  history: {
    peers: peers("MTPROTO_PEERS"),
    /** Posts per channel per run; 0: no limit. @default 0 */
    limitPerRun: integer("MTPROTO_HISTORY_LIMIT_PER_RUN", 0, Number.MAX_SAFE_INTEGER, 0),
    /** Channels synced at once. @default 2 */
    concurrency: integer("MTPROTO_CONCURRENCY", 1, 64, 2),
    /** serve: seconds between history runs. @default 300 */
    intervalSec: integer("MTPROTO_HISTORY_INTERVAL_SEC", 1, 604_800, 300),
    /** Seconds a sync waits after a channel before it starts the next one. @default 0 */
    channelPauseSec: integer("MTPROTO_CHANNEL_PAUSE_SEC", 0, 86_400, 0),
  },
  pool: {
    // Slower than one call per 100 s is a stall, not a budget.
    /** @default 0.7 */
    rpsPerAccount: decimal("MTPROTO_RPS_PER_ACCOUNT", 0.01, 1000, 0.7),
    /** @default 2 */
    maxConcurrencyPerAccount: integer("MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT", 1, 64, 2),
    /** @default 2.5 */
    globalRps: decimal("MTPROTO_GLOBAL_RPS", 0.01, 10_000, 2.5),
    /** Longest a call may wait for an account (a long FLOOD_WAIT); longer fails that work. @default 900 */
    maxFloodWaitS: integer("MTPROTO_MAX_FLOOD_WAIT_S", 1, 604_800, 900),
  },
  proxy: {
    /** Proxies (they may hold passwords: show them with maskProxy only). */
    proxies: setting("MTPROTO_PROXIES", {
      schema: optional(parsedBy(proxyList), []),
      expected: "a comma-separated list of proxy URLs: socks5://user:pass@host:port, socks4://host:port, " +
        "mtproxy://SECRET@host:port or tg://proxy?server=host&port=443&secret=SECRET",
      secret: true,
      explains: true,
    }),
    /** @default 300 */
    rotationSec: integer("MTPROTO_PROXY_ROTATION_SEC", 1, 86_400 * 7, 300),
    /** @default 3 */
    failScoreLimit: integer("MTPROTO_PROXY_FAIL_SCORE_LIMIT", 1, 1_000, 3),
  },
  stats: {
    peers: peers("MTPROTO_STATS_PEERS"),
    /** @default 30 */
    periodDays: integer("MTPROTO_STATS_PERIOD_DAYS", 1, 365, 30),
    /** @default 1 */
    concurrency: integer("MTPROTO_STATS_CONCURRENCY", 1, 16, 1),
    /** Posts per peer per run that get their own statistics (newest first); 0: every post of the period. @default 0 */
    postsLimit: integer("MTPROTO_STATS_POSTS_LIMIT", 0, Number.MAX_SAFE_INTEGER, 0),
    /** serve: seconds between statistics runs. @default 86400 */
    intervalSec: integer("MTPROTO_STATS_INTERVAL_SEC", 60, 2_592_000, 86_400),
  },
  observe: {
    /** @default 9108 */
    prometheusPort: integer("PROMETHEUS_PORT", 1, 65_535, 9108),
    otlpEndpoint: maybeText(
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "an http(s) URL of an OTLP collector, e.g. http://127.0.0.1:4318",
      z.string().refine(isHttpUrl),
    ),
    /** The traces endpoint itself (used as it is), as OpenTelemetry's own variable has it. */
    otlpTracesEndpoint: maybeText(
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      "an http(s) URL of an OTLP collector's traces endpoint, e.g. http://127.0.0.1:4318/v1/traces",
      z.string().refine(isHttpUrl),
    ),
    /** @default 0.05 */
    samplerRatio: decimal("OTEL_SAMPLER_RATIO", 0, 1, 0.05),
    /**
     * host:port; unset: serve uses 127.0.0.1:8091, poll-updates serves no health routes. Checked where the health
     * server starts: a malformed value is reported there and the default used (only a port clash stops the process).
     */
    healthBind: maybeText("HEALTH_BIND", "host:port, e.g. 127.0.0.1:8091 or 0.0.0.0:8091"),
    /** @default "info" */
    logLevel: setting("LOG_LEVEL", {
      schema: optional(
        z.string().toLowerCase().transform((v) => (v === "warning" ? "warn" : v)).pipe(
          z.enum(["trace", "debug", "info", "warn", "error", "fatal", "none"]),
        ),
        "info" as LogLevelName,
      ),
      expected: "one of trace, debug, info, warn, error, fatal, none",
    }),
    /** undefined: pretty at a terminal, JSON otherwise. */
    logFormat: setting("LOG_FORMAT", {
      schema: optional(z.string().toLowerCase().pipe(z.enum(["json", "pretty"])), undefined),
      expected: "one of json, pretty",
    }),
  },
  /** @default 25 */
  gracefulShutdownTimeoutS: integer("GRACEFUL_SHUTDOWN_TIMEOUT_S", 1, 3_600, 25),
  /** serve: the read API (`/api/v1`, JSON and CSV, with its OpenAPI document). */
  api: {
    enabled: flag("API_ENABLED"),
    /** @default 127.0.0.1:8080 */
    bind: setting("API_BIND", {
      schema: optional(parsedBy(hostPort), { host: "127.0.0.1", port: 8080 }),
      expected: "host:port the read API listens on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080",
    }),
    /** Where the built dashboard page is; none: `dist/dashboard` (deno task dashboard), inside a compiled binary too. */
    dashboardDir: maybeText(
      "TGPULSE_DASHBOARD_DIR",
      "a directory holding the page `deno task dashboard --out DIR` built",
    ),
    /** Requests must carry `Authorization: Bearer <token>` when set. */
    token: setting("API_TOKEN", {
      schema: optional(redacted(z.string().min(16).regex(/^[\x21-\x7e]+$/)), undefined).transform(
        Option.fromNullishOr,
      ),
      expected: "a bearer token of at least 16 printable characters without spaces",
      secret: true,
    }),
  },
  /** serve on several runners (Effect Cluster); off: the same entities on one runner in this process. */
  cluster: {
    enabled: flag("CLUSTER_ENABLED"),
    /** Where this runner listens and how the others reach it. Required when the cluster is on. */
    runnerAddress: setting("CLUSTER_RUNNER_ADDRESS", {
      schema: optional(parsedBy(hostPort).transform(Option.some), Option.none()),
      expected:
        "host:port other runners reach this one at, e.g. tgpulse-1:34431 (it listens there), or auto:PORT for " +
        "this machine's own non-loopback IPv4 address",
    }),
    /** Shards per shard group (every runner of a cluster must agree). @default 300 */
    shardsPerGroup: integer("CLUSTER_SHARDS_PER_GROUP", 1, 10_000, 300),
    /**
     * Seconds a dead runner's shards stay locked before another runner takes them (the lock is refreshed every third
     * of it). @default 9
     */
    shardLockExpirationS: integer("CLUSTER_SHARD_LOCK_EXPIRATION_S", 3, 600, 9),
  },
  /** The original design's names that stand for another setting (src/ConfigRules.ts maps them). */
  legacy: {
    sleepThreshold: SLEEP_THRESHOLD,
  },
} as const

/** The configuration, as the settings tree gives it, and what to say about it when work starts. */
export type AppConfigShape = ShapeOf<typeof SETTINGS> & {
  /** Old variables read under their new names, the safe-mode preset: one line each, logged as the pool starts. */
  readonly notices: ReadonlyArray<string>
}

const LEAVES = leavesOf(SETTINGS)

const BY_VARIABLE: ReadonlyMap<string, Setting<unknown>> = new Map(LEAVES.map(([, s]) => [s.variable, s]))

/** Every variable tgpulse reads (for `.env.example` and `--help` texts). */
export const VARIABLES: ReadonlyArray<string> = LEAVES.map(([, s]) => s.variable)

/** The setting of one variable (a command-line flag that stands for it is held to the same schema). */
export const settingOf = (variable: string): Setting<unknown> | undefined => BY_VARIABLE.get(variable)

/** Parses an environment (pure): the configuration, or the ConfigError of the first bad variable or combination. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): AppConfigShape | ConfigError {
  const adapted = adaptEnv(env)
  if (adapted instanceof ConfigError) return adapted
  const root = parseLeaves(LEAVES, adapted.env)
  if (root instanceof ConfigError) return root
  const config = { ...root, notices: adapted.notices } as AppConfigShape
  return crossCheck(config) ?? config
}

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

/** The collectors a feature flag turns on (under MTPROTO_ENABLED). */
export const COLLECTORS = ["history", "updates", "refresh", "stats"] as const
export type Collector = (typeof COLLECTORS)[number]

/** The variable that keeps `collector` off (MTPROTO_ENABLED first), or undefined when it is on. */
export const switchedOffBy = (config: AppConfigShape, collector: Collector): string | undefined =>
  !config.features.mtproto
    ? SETTINGS.features.mtproto.variable
    : !config.features[collector]
    ? SETTINGS.features[collector].variable
    : undefined

/** Which collectors are on. */
export const collectorsOn = (config: AppConfigShape): Readonly<Record<Collector, boolean>> => {
  const on = (c: Collector) => switchedOffBy(config, c) === undefined
  return { history: on("history"), updates: on("updates"), refresh: on("refresh"), stats: on("stats") }
}

/** Who needs channels, and what to tell the user when there are none. */
const NO_CHANNELS = {
  "sync-history": ["MTPROTO_PEERS", "No channels to sync: pass --channels @name,123 or set MTPROTO_PEERS"],
  "poll-updates": ["MTPROTO_PEERS", "No channels to follow: set MTPROTO_PEERS (comma-separated usernames or ids)"],
  "serve": ["MTPROTO_PEERS", "No channels to collect: set MTPROTO_PEERS (comma-separated usernames or ids)"],
  "load-stats": [
    "MTPROTO_STATS_PEERS",
    "No peers to load statistics for: pass --peers @name,123 or set MTPROTO_STATS_PEERS (or MTPROTO_PEERS)",
  ],
} as const

/**
 * The channels a job works on: the ones given on its command line, else the configured ones (load-stats: its own
 * MTPROTO_STATS_PEERS, else MTPROTO_PEERS); a ConfigError when there are none.
 */
export const channelsFor = (
  config: AppConfigShape,
  job: keyof typeof NO_CHANNELS,
  given: Option.Option<ReadonlyArray<PeerRef>> = Option.none(),
): Effect.Effect<ReadonlyArray<PeerRef>, ConfigError> => {
  const configured = job === "load-stats" && config.stats.peers.length > 0 ? config.stats.peers : config.history.peers
  const refs = Option.getOrElse(given, () => configured)
  const [variable, message] = NO_CHANNELS[job]
  // sync-history with no channels named syncs every channel of the accounts' dialogs (the original design's default).
  if (refs.length === 0 && job === "sync-history") return Effect.succeed([ALL_PEERS])
  return refs.length > 0 ? Effect.succeed(refs) : Effect.fail(new ConfigError({ variable, message }))
}
