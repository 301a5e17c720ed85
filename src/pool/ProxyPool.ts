/**
 * The proxy pool: SOCKS5/SOCKS4 and MTProxy proxies parsed from URLs (shown only with credentials masked), one proxy
 * per account connection, failure scores, bans with timed recovery, and rotation that only happens when an account
 * connects again: a healthy connection is never moved. Synchronous and clock-free (callers pass the time), so every
 * decision is atomic and testable; no GramJS here.
 */

export type ProxySpec =
  | {
    readonly kind: "socks"
    readonly version: 4 | 5
    readonly host: string
    readonly port: number
    readonly username: string | undefined
    readonly password: string | undefined
  }
  | { readonly kind: "mtproxy"; readonly host: string; readonly port: number; readonly secret: string }

/** A proxy for logs, metrics and errors: the credentials and the MTProxy secret replaced by `***`. */
export function maskProxy(spec: ProxySpec): string {
  if (spec.kind === "mtproxy") return `mtproxy://***@${hostPort(spec.host, spec.port)}`
  const auth = spec.username === undefined ? "" : `${spec.username}${spec.password === undefined ? "" : ":***"}@`
  return `socks${spec.version}://${auth}${hostPort(spec.host, spec.port)}`
}

const hostPort = (host: string, port: number) => `${host.includes(":") ? `[${host}]` : host}:${port}`

/** An MTProxy secret: 16 bytes of hex, optionally prefixed dd (padded) or ee (fake TLS, with a domain after it). */
const MTPROXY_SECRET = /^(?:(?:dd)?[0-9a-f]{32}|ee[0-9a-f]{32}[0-9a-f]+)$/i

/**
 * Reads a proxy URL: `socks5://[user:pass@]host:port`, `socks4://host:port`, `mtproxy://SECRET@host:port`, or
 * Telegram's own `tg://proxy?server=H&port=P&secret=S` / `https://t.me/proxy?...`. A string explains what is wrong
 * (never echoing a password or secret); the caller names the variable.
 */
export function parseProxyUrl(raw: string): ProxySpec | string {
  if (!URL.canParse(raw)) return "not a URL"
  const url = new URL(raw)
  const isTelegramLink = url.protocol === "tg:" ||
    (url.protocol === "https:" && /^(www\.)?t\.me$/.test(url.hostname) && url.pathname === "/proxy")
  if (isTelegramLink) {
    const server = url.searchParams.get("server") ?? ""
    const secret = url.searchParams.get("secret") ?? ""
    const port = portOf(url.searchParams.get("port") ?? "")
    if (server === "" || port === undefined) return "a proxy link needs server= and port= (1-65535)"
    if (!MTPROXY_SECRET.test(secret)) return "the MTProxy secret must be 32 hex digits (optionally dd or ee first)"
    return { kind: "mtproxy", host: server, port, secret: secret.toLowerCase() }
  }
  const host = url.hostname.replace(/^\[|\]$/g, "")
  const port = portOf(url.port)
  if (host === "") return "missing host"
  if (port === undefined) return "missing port (host:port)"
  switch (url.protocol) {
    case "socks5:":
    case "socks4:": {
      const version = url.protocol === "socks5:" ? 5 : 4
      const username = url.username === "" ? undefined : decodeURIComponent(url.username)
      const password = url.password === "" ? undefined : decodeURIComponent(url.password)
      if (version === 4 && password !== undefined) return "SOCKS4 has no password (use socks5://)"
      return { kind: "socks", version, host, port, username, password }
    }
    case "mtproxy:": {
      const secret = decodeURIComponent(url.username)
      if (!MTPROXY_SECRET.test(secret)) return "the MTProxy secret must be 32 hex digits (optionally dd or ee first)"
      return { kind: "mtproxy", host, port, secret: secret.toLowerCase() }
    }
    default:
      return `unsupported scheme "${url.protocol.replace(/:$/, "")}" (Telegram clients use socks5, socks4 or mtproxy)`
  }
}

function portOf(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const n = Number(text)
  return n >= 1 && n <= 65_535 ? n : undefined
}

export interface ProxyPoolSettings {
  /** An account keeps its proxy for at least this long; after it, its next connection takes another one. */
  readonly rotationMs: number
  /** Failures (net of successes) that ban a proxy. */
  readonly failScoreLimit: number
  /** First ban length; each further ban of the same proxy doubles it, up to `maxBanMs`. @default 60_000 */
  readonly banMs?: number
  /** @default 3_600_000 */
  readonly maxBanMs?: number
}

export interface ProxyStatus {
  readonly proxy: string
  readonly state: "healthy" | "banned"
  readonly score: number
  readonly bans: number
  readonly bannedUntil: number | null
  readonly accounts: ReadonlyArray<string>
}

interface Entry {
  readonly spec: ProxySpec
  readonly masked: string
  score: number
  bans: number
  bannedUntil: number
}

interface Assignment {
  readonly entry: Entry
  readonly since: number
}

/** A proxy handed to one account connection. */
export interface ProxyLease {
  readonly spec: ProxySpec
  /** The masked URL. */
  readonly masked: string
}

export class ProxyPool {
  private readonly entries: ReadonlyArray<Entry>
  private readonly assigned = new Map<string, Assignment>()
  private next = 0
  private readonly banMs: number
  private readonly maxBanMs: number

  constructor(specs: ReadonlyArray<ProxySpec>, private readonly settings: ProxyPoolSettings) {
    if (specs.length === 0) throw new RangeError("a proxy pool needs at least one proxy")
    this.entries = specs.map((spec) => ({ spec, masked: maskProxy(spec), score: 0, bans: 0, bannedUntil: 0 }))
    this.banMs = settings.banMs ?? 60_000
    this.maxBanMs = settings.maxBanMs ?? 3_600_000
  }

  /**
   * The proxy for `account`'s next connection: the one it has while that is usable and younger than the rotation
   * period, else the next usable proxy with the fewest accounts on it (round robin among equals). Undefined when every
   * proxy is banned (`nextRecovery` says until when).
   */
  acquire(account: string, now: number): ProxyLease | undefined {
    const current = this.assigned.get(account)
    if (current && this.usable(current.entry, now) && now - current.since < this.settings.rotationMs) {
      return lease(current.entry)
    }
    const load = new Map<Entry, number>()
    for (const [name, a] of this.assigned) if (name !== account) load.set(a.entry, (load.get(a.entry) ?? 0) + 1)
    let best: Entry | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[(this.next + i) % this.entries.length]!
      if (!this.usable(entry, now)) continue
      // Rotation moves the account on: its old proxy only when nothing else is usable.
      const l = (load.get(entry) ?? 0) + (entry === current?.entry ? 0.5 : 0)
      if (l < bestLoad) {
        best = entry
        bestLoad = l
      }
    }
    if (best === undefined) {
      this.assigned.delete(account)
      return undefined
    }
    this.next = (this.entries.indexOf(best) + 1) % this.entries.length
    this.assigned.set(account, { entry: best, since: now })
    return lease(best)
  }

  /** How many proxies the pool holds (banned ones included). */
  get size(): number {
    return this.entries.length
  }

  /** The account's connection went away (it will acquire again). */
  release(account: string): void {
    this.assigned.delete(account)
  }

  /** A connection or call through `proxy` failed; returns true when that banned it. */
  fail(proxy: ProxyLease, now: number): boolean {
    const entry = this.find(proxy)
    if (!entry || entry.bannedUntil > now) return false
    entry.score++
    if (entry.score < this.settings.failScoreLimit) return false
    entry.bannedUntil = now + Math.min(this.maxBanMs, this.banMs * 2 ** entry.bans)
    entry.bans++
    // Probation after the ban: one more failure bans it again.
    entry.score = this.settings.failScoreLimit - 1
    for (const [name, a] of this.assigned) if (a.entry === entry) this.assigned.delete(name)
    return true
  }

  /** A call through `proxy` succeeded: its score recovers by one. */
  succeed(proxy: ProxyLease): void {
    const entry = this.find(proxy)
    if (entry && entry.score > 0) entry.score--
  }

  /** True while `proxy` may carry connections. */
  isUsable(proxy: ProxyLease, now: number): boolean {
    const entry = this.find(proxy)
    return entry !== undefined && this.usable(entry, now)
  }

  /** When the first banned proxy recovers (undefined when none is banned). */
  nextRecovery(now: number): number | undefined {
    const times = this.entries.filter((e) => e.bannedUntil > now).map((e) => e.bannedUntil)
    return times.length === 0 ? undefined : Math.min(...times)
  }

  status(now: number): ReadonlyArray<ProxyStatus> {
    return this.entries.map((e) => ({
      proxy: e.masked,
      state: e.bannedUntil > now ? "banned" : "healthy",
      score: e.score,
      bans: e.bans,
      bannedUntil: e.bannedUntil > now ? e.bannedUntil : null,
      accounts: [...this.assigned].filter(([, a]) => a.entry === e).map(([name]) => name).sort(),
    }))
  }

  private usable(entry: Entry, now: number): boolean {
    return entry.bannedUntil <= now
  }

  private find(proxy: ProxyLease): Entry | undefined {
    return this.entries.find((e) => e.spec === proxy.spec)
  }
}

const lease = (entry: Entry): ProxyLease => ({ spec: entry.spec, masked: entry.masked })
