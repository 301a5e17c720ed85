/** A loopback TCP proxy that a test can cut (closing every connection and refusing new ones) and restore. */

export class TcpProxy implements AsyncDisposable {
  private readonly listener: Deno.TcpListener
  private readonly live = new Set<Deno.Conn>()
  private down = false
  private readonly loop: Promise<void>
  /** Connections accepted and forwarded since the start. */
  forwarded = 0
  /** Connections refused while cut. */
  refused = 0
  private waiters: Array<{ readonly n: number; readonly resolve: () => void }> = []

  constructor(private readonly target: { readonly hostname: string; readonly port: number }) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
    this.loop = this.accept()
  }

  get port(): number {
    return this.listener.addr.port
  }

  /** Closes every open connection; new ones are closed at once until `restore`. */
  cut(): void {
    this.down = true
    for (const c of this.live) c.close()
    this.live.clear()
  }

  restore(): void {
    this.down = false
  }

  /** Resolves once `n` connections in all were refused while cut (someone kept trying to get through). */
  refusals(n: number): Promise<void> {
    return this.refused >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }))
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cut()
    this.listener.close()
    await this.loop
  }

  private async accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn
      try {
        client = await this.listener.accept()
      } catch {
        return
      }
      if (this.down) {
        client.close()
        this.refused++
        this.waiters = this.waiters.filter((w) => (w.n <= this.refused ? (w.resolve(), false) : true))
        continue
      }
      this.forward(client).catch(() => {})
    }
  }

  private async forward(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn
    try {
      server = await Deno.connect(this.target)
    } catch {
      client.close()
      return
    }
    this.forwarded++
    this.live.add(client)
    this.live.add(server)
    const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
      try {
        await from.readable.pipeTo(to.writable, { preventClose: false })
      } catch {
        // one side went away
      }
      for (const c of [from, to]) {
        if (this.live.delete(c)) {
          try {
            c.close()
          } catch {
            // already closed
          }
        }
      }
    }
    await Promise.all([pipe(client, server), pipe(server, client)])
  }
}
