/**
 * `tgpulse healthcheck` and the container's HEALTHCHECK: asks the running daemon's `/readyz` (HEALTH_BIND, a wildcard
 * host asked on loopback) and exits 0 when it is ready, 1 otherwise, with one line saying why. Small on purpose (no
 * Effect, no GramJS): it runs every few seconds beside the daemon.
 */

/** The URL of `/readyz` for a HEALTH_BIND value (`0.0.0.0:8091` is asked as `127.0.0.1:8091`). */
export function readyzUrl(bind: string | undefined): string {
  const m = /^\[?([^\s\]]+?)\]?:(\d{1,5})$/.exec((bind ?? "").trim())
  const host = !m || m[1] === "0.0.0.0" || m[1] === "::" ? "127.0.0.1" : m[1]!
  const port = m ? m[2]! : "8091"
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`
}

/** 0 when `/readyz` answers 200 within `timeoutMs`, else 1; `say` gets one line. */
export async function checkReady(url: string, say: (line: string) => void, timeoutMs = 5_000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    say(`${url}: ${res.status} ${body.slice(0, 300)}`)
    return res.status === 200 ? 0 : 1
  } catch (error) {
    say(`${url}: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
}

if (import.meta.main) {
  const line = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"))
  Deno.exit(await checkReady(readyzUrl(Deno.env.get("HEALTH_BIND")), line))
}
