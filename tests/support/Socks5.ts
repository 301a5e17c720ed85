/** Test support: a real SOCKS5 proxy process on loopback (tests/support/socks5_server.ts) that a test can kill. */

export interface Socks5Process extends AsyncDisposable {
  readonly port: number
  /** `socks5://[user:pass@]127.0.0.1:port`. */
  readonly url: string
  /** Tunnels opened so far ("host:port" each). */
  readonly tunnels: ReadonlyArray<string>
  /** Refused logins so far. */
  readonly authFailures: () => number
  /** SIGKILL: every tunnel drops at once and new connections are refused. */
  kill(): Promise<void>
}

export async function startSocks5(credentials?: { user: string; pass: string }): Promise<Socks5Process> {
  const args = ["run", "--allow-net", new URL("./socks5_server.ts", import.meta.url).pathname]
  if (credentials) args.push("--user", credentials.user, "--pass", credentials.pass)
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "null", stdin: "null" }).spawn()
  const tunnels: Array<string> = []
  let authFailures = 0
  let resolvePort: (port: number) => void = () => {}
  const portKnown = new Promise<number>((resolve) => (resolvePort = resolve))
  const reading = (async () => {
    let pending = ""
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk
      const lines = pending.split("\n")
      pending = lines.pop()!
      for (const line of lines) {
        if (line.startsWith("LISTENING ")) resolvePort(Number(line.slice(10)))
        else if (line.startsWith("CONNECT ")) tunnels.push(line.slice(8))
        else if (line === "AUTH_FAILED") authFailures++
      }
    }
  })()
  const port = await Promise.race([
    portKnown,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the SOCKS5 proxy did not start")), 20_000)),
  ])
  let alive = true
  const kill = async () => {
    if (!alive) return
    alive = false
    child.kill("SIGKILL")
    await child.status
    await reading.catch(() => undefined)
  }
  const auth = credentials ? `${credentials.user}:${credentials.pass}@` : ""
  return {
    port,
    url: `socks5://${auth}127.0.0.1:${port}`,
    tunnels,
    authFailures: () => authFailures,
    kill,
    [Symbol.asyncDispose]: kill,
  }
}
