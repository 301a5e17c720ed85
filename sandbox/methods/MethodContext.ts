/** What the method handlers of one DC share: world, DCs, caches, sign-in state, statistics tokens and switches. */
import type { StatsControl } from "../control/Control.ts"
import type { Caller, RpcResult } from "../session/Rpc.ts"
import { StatsSwitches } from "../stats/StatsSwitches.ts"
import { StatsTokens } from "../stats/StatsTokens.ts"
import type { WorldApi } from "../world/Model.ts"
import { AuthState } from "./AuthState.ts"
import { ByteLru } from "./ByteLru.ts"

export interface MethodsOptions {
  readonly world: WorldApi
  /** Every DC of the sandbox (advertised by help.getConfig). */
  readonly dcs: ReadonlyArray<{ readonly id: number; readonly host: string; readonly port: number }>
  readonly mainDc: number
  /** The DC these handlers serve. */
  readonly thisDc: number
  /**
   * Statistics tokens and switches, shared by every DC of a sandbox (a token issued on one DC is checked on all).
   * @default private ones: tokens on the wall clock with the default TTL, no switch set
   */
  readonly stats?: { readonly tokens: StatsTokens; readonly switches: StatsControl }
}

export interface MethodContext {
  readonly world: WorldApi
  readonly dcs: MethodsOptions["dcs"]
  readonly mainDc: number
  readonly thisDc: number
  /** Serialized getHistory answers, by channel, world version, query and viewer. */
  readonly history: ByteLru
  readonly auth: AuthState
  readonly switches: StatsControl
  readonly tokens: StatsTokens
}

/** A method handler: the request (a GramJS object) of `caller`, answered in `ctx`. */
export type Handler = (ctx: MethodContext, request: any, caller: Caller) => RpcResult | Promise<RpcResult>

/** The handlers of one TL namespace, by GramJS class name (e.g. `"messages.GetHistory"`). */
export type Handlers = Readonly<Record<string, Handler>>

/**
 * Cached getHistory answers, per DC (pages are replayed many times by benchmarks and tests; a page is cached the second
 * time it is asked for). 32 MB hold 800 pages of 100 posts (and their gzip_packed forms, about a third of that more):
 * more than a benchmark replays, and a bounded part of the sandbox's memory whatever the world's size.
 */
const HISTORY_CACHE_ENTRIES = 2_000
const HISTORY_CACHE_BYTES = 32 * 1024 * 1024

export function makeContext(options: MethodsOptions): MethodContext {
  const { world, dcs, mainDc, thisDc } = options
  const history = new ByteLru(HISTORY_CACHE_ENTRIES, HISTORY_CACHE_BYTES)
  const auth = new AuthState(world)
  const switches = options.stats?.switches ?? new StatsSwitches()
  const tokens = options.stats?.tokens ??
    new StatsTokens({ secret: `${world.seed}`, nowMs: Date.now, bornExpired: () => switches.takeBornExpired() })
  return { world, dcs, mainDc, thisDc, history, auth, switches, tokens }
}
