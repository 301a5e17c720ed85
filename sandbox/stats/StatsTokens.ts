/**
 * Statistics graph tokens (statsGraphAsync tokens and zoom tokens): signed, self-describing strings that name the
 * channel, graph and account they were issued for and expire after a TTL of wall-clock time. Nothing is stored.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { Buffer } from "node:buffer"

/** How long a graph token stays valid by default: 5 minutes. */
export const STATS_TOKEN_TTL_MS = 300_000

export interface GraphClaims {
  /** "async": a statsGraphAsync token (load without x); "zoom": a zoom token (load with x = a day). */
  readonly kind: "async" | "zoom"
  readonly channelId: number
  /** Graph name, e.g. "views_by_source_graph". */
  readonly graph: string
  /** The account it was issued to. */
  readonly userId: number
  readonly dark: boolean
}

export interface StatsTokensOptions {
  /** Server secret: tokens of one sandbox are worthless to another. */
  readonly secret: string
  /** Wall clock in milliseconds. */
  nowMs(): number
  /** @default STATS_TOKEN_TTL_MS */
  readonly ttlMs?: number
  /** Asked once per async token issued: true makes it born expired (the operator's expire-next switch). */
  bornExpired(): boolean
}

/** An opened token: its claims, and whether its time is up. */
export interface OpenedToken {
  readonly claims: GraphClaims
  readonly expired: boolean
}

const SIGNATURE_BYTES = 18
const GRAPH = /^[a-z_]{1,64}$/

export class StatsTokens {
  readonly ttlMs: number
  private readonly key: Buffer

  constructor(private readonly options: StatsTokensOptions) {
    this.ttlMs = options.ttlMs ?? STATS_TOKEN_TTL_MS
    if (!(Number.isFinite(this.ttlMs) && this.ttlMs > 0)) throw new RangeError("ttlMs must be a positive number")
    this.key = createHash("sha256").update(`tgpulse-sandbox-stats-token/${options.secret}`).digest()
  }

  /** A token for these claims, valid for `ttlMs` from now (async tokens may be born expired). */
  issue(claims: GraphClaims): string {
    const now = this.options.nowMs()
    const expires = claims.kind === "async" && this.options.bornExpired() ? now : now + this.ttlMs
    const body = [
      claims.kind === "async" ? "a" : "z",
      claims.channelId,
      claims.graph,
      claims.userId,
      claims.dark ? 1 : 0,
      Math.floor(expires),
    ].join(".")
    const payload = Buffer.from(body).toString("base64url")
    return `${payload}.${this.sign(payload).toString("base64url")}`
  }

  /** The claims of a token this sandbox issued; undefined for anything else (unknown, garbled, tampered). */
  open(token: string): OpenedToken | undefined {
    if (typeof token !== "string" || token.length > 512) return undefined
    const dot = token.indexOf(".")
    if (dot <= 0) return undefined
    const payload = token.slice(0, dot)
    const signature = Buffer.from(token.slice(dot + 1), "base64url")
    const expected = this.sign(payload)
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined
    const parts = Buffer.from(payload, "base64url").toString().split(".")
    if (parts.length !== 6) return undefined
    const [kind, channelId, graph, userId, dark, expires] = parts as [string, string, string, string, string, string]
    const numbers = [channelId, userId, expires].map(Number)
    if (!numbers.every(Number.isSafeInteger) || (kind !== "a" && kind !== "z") || !GRAPH.test(graph)) return undefined
    return {
      claims: {
        kind: kind === "a" ? "async" : "zoom",
        channelId: numbers[0]!,
        graph,
        userId: numbers[1]!,
        dark: dark === "1",
      },
      expired: this.options.nowMs() >= numbers[2]!,
    }
  }

  private sign(payload: string): Buffer {
    return createHmac("sha256", this.key).update(payload).digest().subarray(0, SIGNATURE_BYTES)
  }
}
