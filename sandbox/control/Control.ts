/** Contracts of the sandbox's operator controls: flood budgets, fault injection, the request log, pushed updates. */
import type { KeyStats } from "./KeyWatch.ts"

/** A flood budget: a token bucket of `burst` requests refilled at `rate` per second, per (account, method). */
export interface FloodBudget {
  /** GramJS class name of the method, e.g. "messages.GetHistory", or "*" for every method. */
  readonly method: string
  /** Limit only this account (user id); every account when undefined. */
  readonly userId?: number
  /** Requests per second. */
  readonly rate: number
  /** Bucket size (requests allowed back to back). */
  readonly burst: number
  /**
   * Waits grow as Telegram's do with repeated violations: each one within an hour of the last doubles the wait, up
   * to `maxWaitS`, and a call during a wait is told what is left of it (and counts as a violation). Off: the wait is
   * the time the bucket needs to refill one request.
   */
  readonly escalate?: { readonly maxWaitS: number }
  /**
   * A speed limit that Telegram Premium lifts (downloads): its waits answer FLOOD_PREMIUM_WAIT_X, not FLOOD_WAIT_X.
   * No sandbox account has Premium, so every account is held to it.
   */
  readonly premium?: boolean
}

export interface FloodControl {
  set(budget: FloodBudget): void
  clear(): void
  list(): ReadonlyArray<FloodBudget>
  /** Takes a token for (userId, method): 0 when allowed, else the FLOOD_WAIT seconds (at least 1). */
  check(userId: number, method: string): number
  /** True when a Premium speed limit covers `method`: its waits are FLOOD_PREMIUM_WAIT_X. */
  premiumLimited(method: string): boolean
  /**
   * Counts a new connection of an auth key: false (transport error -429) when, while any budget is in force, the key
   * opened CONNECTIONS_PER_MINUTE connections within the last minute.
   */
  admitConnection(authKeyId: bigint): boolean
}

export type Fault =
  /** Adds `ms` before answering (only `method` when given). */
  | { readonly _tag: "Latency"; readonly ms: number; readonly method?: string }
  /** Answers rpc_error `code message` to the next `times` calls of `method` (only for `userId` when given). */
  | {
    readonly _tag: "RpcError"
    readonly method: string
    readonly code: number
    readonly message: string
    readonly times: number
    readonly userId?: number
  }
  /** The account's authorization is revoked: every user method answers 401 AUTH_KEY_UNREGISTERED. */
  | { readonly _tag: "RevokeKey"; readonly userId: number }
  /** The account's session was seen twice: every user method answers 406 AUTH_KEY_DUPLICATED. */
  | { readonly _tag: "DuplicateKey"; readonly userId: number }
  /**
   * The next `times` key exchanges end in dh_gen_ok with a wrong new_nonce_hash1: the client sees exactly what GramJS
   * sees when it drops a leading zero byte of the key (about 1 exchange in 256), and must start over.
   */
  | { readonly _tag: "BadKeyExchange"; readonly times: number }

export interface FaultControl {
  add(fault: Fault): void
  clear(): void
  list(): ReadonlyArray<Fault>
  /** Milliseconds to wait before answering this call. */
  latency(method: string): number
  /** An injected error for this call, if one is due (consumes one of its `times`). */
  takeError(method: string, userId: number | undefined): { readonly code: number; readonly message: string } | undefined
  /** An auth fault of this account, if any. */
  authFault(userId: number): { readonly code: number; readonly message: string } | undefined
  /** True when this key exchange is to be spoiled (consumes one of a BadKeyExchange's `times`). */
  takeKeyExchangeFault(): boolean
}

export interface LogEntry {
  readonly seq: number
  /** Wall-clock milliseconds when the request arrived. */
  readonly at: number
  readonly dcId: number
  readonly userId: number | undefined
  /** GramJS class name of the innermost method, e.g. "messages.GetHistory". */
  readonly method: string
  /** Small JSON summary of the arguments (peer id, offsets, limit, ids count…). */
  readonly params: Readonly<Record<string, number | string | boolean>>
  /** "ok" or the rpc_error message. */
  readonly outcome: string
  readonly ms: number
}

export interface RequestLog {
  append(entry: Omit<LogEntry, "seq">): void
  /** Entries with seq > since, optionally one method only. */
  since(since: number, method?: string): ReadonlyArray<LogEntry>
  readonly lastSeq: number
  clear(): void
}

/**
 * Operator switches of the served statistics: graphs served malformed, async graph tokens born expired, stats DCs left
 * out of channels.getFullChannel.
 */
export interface StatsControl {
  /** Serves `graph` (e.g. "followers_graph") of the channel as malformed JSON while `malformed` is true. */
  setMalformed(channelId: number, graph: string, malformed: boolean): void
  isMalformed(channelId: number, graph: string): boolean
  /** The graphs served malformed now, by channel id then graph. */
  malformed(): ReadonlyArray<{ readonly channelId: number; readonly graph: string }>
  /** The next `count` statsGraphAsync tokens issued are born expired (replaces the pending count; 0 clears it). */
  expireNext(count: number): void
  /** Async tokens still to be born expired. */
  readonly pendingExpired: number
  /** Called once per async token issued: true (and one fewer pending) when this one is born expired. */
  takeBornExpired(): boolean
  /** Whether channels.getFullChannel names the channel's stats_dc (Telegram may leave it out). @default true */
  setStatsDcAdvertised(channelId: number, advertised: boolean): void
  statsDcAdvertised(channelId: number): boolean
  /** Channels whose stats_dc is left out now, ascending. */
  unadvertisedStatsDcs(): ReadonlyArray<number>
}

/** What a pushed update carries: the WorldEvent it comes from, by the names the activity generator's mix uses. */
export type PushKind = "new" | "edit" | "delete" | "views" | "forwards" | "reactions"

export const PUSH_KINDS: ReadonlyArray<PushKind> = ["new", "edit", "delete", "views", "forwards", "reactions"]

/** One world change as pushed (or withheld): what a benchmark needs to time push → committed row. */
export interface PushEntry {
  readonly seq: number
  readonly channelId: number
  readonly kind: PushKind
  /** The channel's pts after the change (new, edit, delete only). */
  readonly pts?: number
  readonly ptsCount?: number
  /** The message ids the update is about. */
  readonly ids: ReadonlyArray<number>
  /** Wall-clock milliseconds when it was written to the sessions (or withheld). */
  readonly at: number
  /** Sessions (connections of member accounts, every DC) it was written to. */
  readonly sent: number
  /** Present (true) when the push was withheld: the world changed, nobody was told. */
  readonly withheld?: true
}

/** Withhold pushes: of one channel or of any, of some kinds or of all, the next `count` or all until released. */
export interface WithholdRule {
  readonly channelId?: number
  readonly kinds?: ReadonlyArray<PushKind>
  /** Pushes this rule still withholds; undefined = every matching push until released. */
  readonly remaining?: number
}

export interface PushControl {
  /** Log entries with seq > since, oldest first (one channel only when given); the log keeps the latest ones. */
  since(since: number, channelId?: number): ReadonlyArray<PushEntry>
  readonly lastSeq: number
  /** Adds a withholding rule; a push is withheld by the first rule that matches it (which counts it). */
  withhold(rule: WithholdRule): void
  /** Drops every withholding rule (only those of `channelId` when given); withheld pushes stay unsent. */
  release(channelId?: number): void
  /** The rules in force, with what is left of their counts. */
  rules(): ReadonlyArray<WithholdRule>
  /** Pushes withheld since the start. */
  readonly withheld: number
}

/** What the admin API can reach. */
export interface SandboxControl {
  readonly flood: FloodControl
  readonly faults: FaultControl
  readonly log: RequestLog
  /** Statistics switches; the admin API keeps its own when absent. */
  readonly stats?: StatsControl
  /** Pushed updates: their log and withholding; the admin API keeps an empty one when absent. */
  readonly pushes?: PushControl
  /** Closes matching live connections; returns how many were closed. */
  dropConnections(filter: { readonly userId?: number; readonly dcId?: number }): number
  /** Duplicated-key counters and the live connections per account (`GET /stats`). */
  sessions(): SessionStats
}

/** `GET /stats`: how sessions use their keys, and who is connected now. */
export interface SessionStats extends KeyStats {
  /** Live connections per account (user id), and of keys not signed in as `unauthorized`. */
  readonly connections: Readonly<Record<string, number>>
}
