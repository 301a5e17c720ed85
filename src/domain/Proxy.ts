/**
 * A proxy as the user writes it: SOCKS5/SOCKS4 and MTProxy URLs (Telegram's own tg://proxy links too), parsed into a
 * ProxySpec and shown only with credentials and secrets masked.
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

/** A proxy URL that did not parse, with anything that may be a password or secret replaced by `***`. */
export function maskProxyText(text: string): string {
  return text
    .replace(/\/\/([^/@]*)@/, (_, auth: string) => `//${auth.includes(":") ? auth.split(":")[0] + ":***" : "***"}@`)
    .replace(/([?&]secret=)[^&]*/gi, "$1***")
}
