/**
 * The rules of a configuration beyond one setting (pure). Before the settings read the environment: the original
 * design's variables that tgpulse has another name for, and the safe-mode preset; each either becomes the variable it
 * stands for, with one notice line saying so, or is a ConfigError naming its replacement (an old variable is never
 * silently ignored). After: the checks that involve more than one setting.
 */
import { Option } from "effect"
import { ConfigError } from "./domain/Errors.ts"
import { flag, integer, type Setting } from "./Settings.ts"

export type Env = Readonly<Record<string, string | undefined>>

/** The environment the settings read, and the lines to log at the start of work (what was mapped or preset). */
export interface Adapted {
  readonly env: Env
  readonly notices: ReadonlyArray<string>
}

const isSet = (env: Env, variable: string) => (env[variable]?.trim() ?? "") !== ""

/**
 * Seconds of FLOOD_WAIT the original design let the client sleep through; longer waits failed. tgpulse never lets
 * GramJS sleep: its pool waits instead, up to MTPROTO_MAX_FLOOD_WAIT_S, and fails the work past it. The same rule,
 * so a positive threshold becomes that setting; 0 (never sleep) is what tgpulse's client does anyway.
 */
export const SLEEP_THRESHOLD: Setting<number> = integer("MTPROTO_SLEEP_THRESHOLD", 0, 604_800, 0)
const MAX_FLOOD_WAIT = "MTPROTO_MAX_FLOOD_WAIT_S"

function sleepThreshold(env: Env): { readonly env: Env; readonly notice?: string } | ConfigError {
  const raw = env[SLEEP_THRESHOLD.variable]
  if (!isSet(env, SLEEP_THRESHOLD.variable)) return { env }
  const parsed = SLEEP_THRESHOLD.schema.safeParse(raw)
  if (!parsed.success) {
    return new ConfigError({
      variable: SLEEP_THRESHOLD.variable,
      message: `Invalid ${SLEEP_THRESHOLD.variable} "${raw}": expected seconds from 0 to 604800 (it is read as ` +
        `${MAX_FLOOD_WAIT}, the longest FLOOD_WAIT the pool waits out; set that instead)`,
    })
  }
  const seconds = parsed.data
  if (seconds === 0) {
    return {
      env,
      notice: `${SLEEP_THRESHOLD.variable}=0: tgpulse's client never sleeps on a FLOOD_WAIT anyway; the pool waits ` +
        `one out up to ${MAX_FLOOD_WAIT} (unset it to silence this line)`,
    }
  }
  if (isSet(env, MAX_FLOOD_WAIT) && Number(env[MAX_FLOOD_WAIT]) !== seconds) {
    return new ConfigError({
      variable: SLEEP_THRESHOLD.variable,
      message: `${SLEEP_THRESHOLD.variable}=${seconds} and ${MAX_FLOOD_WAIT}=${env[MAX_FLOOD_WAIT]} disagree: ` +
        `${SLEEP_THRESHOLD.variable} is the original design's name of ${MAX_FLOOD_WAIT}; expected only ` +
        `${MAX_FLOOD_WAIT}`,
    })
  }
  return {
    env: { ...env, [MAX_FLOOD_WAIT]: String(seconds) },
    notice: `${SLEEP_THRESHOLD.variable}=${seconds} is read as ${MAX_FLOOD_WAIT}=${seconds}: FLOOD_WAITs up to ` +
      `${seconds} s are waited out by the pool, longer ones fail that work (rename it to silence this line)`,
  }
}

export const SAFE_MODE: Setting<boolean> = flag("MTPROTO_SAFE_MODE")

/**
 * The safe-mode preset, for a first run on a fresh account: a fraction of the usual pace, one channel and one call
 * at a time per account, a cap per channel and run, and a pause between channels. Each fills only a variable that
 * is not set: what the user sets explicitly stands.
 */
export const SAFE_PRESET: ReadonlyArray<readonly [variable: string, value: string, words: (v: string) => string]> = [
  ["MTPROTO_RPS_PER_ACCOUNT", "0.2", (v) => `${v} calls/s per account and kind of call`],
  ["MTPROTO_GLOBAL_RPS", "0.5", (v) => `${v} calls/s over all accounts`],
  ["MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT", "1", (v) => `${v} call at a time per account`],
  ["MTPROTO_CONCURRENCY", "1", (v) => `${v} channel at a time`],
  ["MTPROTO_HISTORY_LIMIT_PER_RUN", "2000", (v) => `at most ${v} posts per channel per run`],
  ["MTPROTO_CHANNEL_PAUSE_SEC", "30", (v) => `${v} s between channels`],
]

function safeMode(env: Env): { readonly env: Env; readonly notice?: string } | undefined {
  const on = SAFE_MODE.schema.safeParse(env[SAFE_MODE.variable])
  // A bad value is reported by the settings, which hold the flag too.
  if (!on.success || !on.data) return on.success ? { env } : undefined
  const out: Record<string, string | undefined> = { ...env }
  const applied: Array<string> = []
  const kept: Array<string> = []
  for (const [variable, value, words] of SAFE_PRESET) {
    if (isSet(env, variable)) kept.push(`${variable}=${env[variable]!.trim()}`)
    else {
      out[variable] = value
      applied.push(words(value))
    }
  }
  const notice = `safe mode (${SAFE_MODE.variable}=true): ${applied.length > 0 ? applied.join(", ") : "nothing"}` +
    (kept.length > 0 ? `; set explicitly and kept: ${kept.join(", ")}` : "")
  return { env: out, notice }
}

/** The environment with the old names mapped and the safe-mode preset filled in, or the ConfigError of an old name. */
export function adaptEnv(env: Env): Adapted | ConfigError {
  const notices: Array<string> = []
  const mapped = sleepThreshold(env)
  if (mapped instanceof ConfigError) return mapped
  if (mapped.notice) notices.push(mapped.notice)
  const preset = safeMode(mapped.env) ?? { env: mapped.env }
  if (preset.notice) notices.push(preset.notice)
  return { env: preset.env, notices }
}

/** What the cross checks read of a configuration (Config.ts's shape has it; named here so as not to import it). */
interface Checked {
  readonly telegram: { readonly apiId: Option.Option<number>; readonly apiHash: Option.Option<unknown> }
  readonly databaseUrl: Option.Option<unknown>
  readonly cluster: { readonly enabled: boolean; readonly runnerAddress: Option.Option<unknown> }
  readonly features: { readonly proxy: boolean }
  readonly proxy: { readonly proxies: ReadonlyArray<unknown> }
}

/** The checks that involve more than one setting: the first one a configuration fails, or undefined. */
export function crossCheck(config: Checked): ConfigError | undefined {
  const { telegram } = config
  if (Option.isSome(telegram.apiId) !== Option.isSome(telegram.apiHash)) {
    const [set, missing] = Option.isSome(telegram.apiId) ? ["TG_API_ID", "TG_API_HASH"] : ["TG_API_HASH", "TG_API_ID"]
    return new ConfigError({
      variable: missing,
      message: `Missing ${missing}: ${set} is set, expected both the api_id and api_hash of your application ` +
        "from my.telegram.org",
    })
  }
  if (config.cluster.enabled && Option.isNone(config.databaseUrl)) {
    return new ConfigError({
      variable: "DATABASE_URL",
      message: "CLUSTER_ENABLED is true but DATABASE_URL is not set: a cluster keeps its runners and messages in " +
        "PostgreSQL (the embedded database serves one runner only); expected postgres://user:password@host:port/db",
    })
  }
  if (config.cluster.enabled && Option.isNone(config.cluster.runnerAddress)) {
    return new ConfigError({
      variable: "CLUSTER_RUNNER_ADDRESS",
      message: "CLUSTER_ENABLED is true but CLUSTER_RUNNER_ADDRESS is not set: expected the host:port other runners " +
        "reach this one at, e.g. tgpulse-1:34431",
    })
  }
  if (config.features.proxy && config.proxy.proxies.length === 0) {
    return new ConfigError({
      variable: "MTPROTO_PROXIES",
      message: "MTPROTO_PROXY_ENABLED is true but MTPROTO_PROXIES is empty: expected at least one proxy URL",
    })
  }
  return undefined
}
