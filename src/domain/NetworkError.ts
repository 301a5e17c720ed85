/** Socket failures in a few words ("connection refused"), for every adapter that connects somewhere (pure). */

const CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
}

/**
 * The first well-known socket error code in `error` or its causes ("connection refused", "host not found", ...),
 * or undefined when there is none. Deno's errors carry the code in `code` or only in the message ("(os error 111)").
 */
export function describeNetworkError(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 8; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof code === "string" && CODES[code]) return CODES[code]
    if (typeof message === "string") {
      if (/connection refused|os error 111\b/i.test(message)) return CODES.ECONNREFUSED
      if (/timed out/i.test(message)) return CODES.ETIMEDOUT
      for (const [name, words] of Object.entries(CODES)) if (message.includes(name)) return words
    }
    e = cause
  }
  return undefined
}
