/**
 * A small SOCKS5 proxy (RFC 1928 CONNECT, no-auth or RFC 1929 username/password) run as its own process by the tests:
 *   deno run --allow-net tests/support/socks5_server.ts [--user U --pass P]
 * It prints `LISTENING <port>` once, then `CONNECT <host>:<port>` per tunnel it opens and `AUTH_FAILED` per refused
 * login, so a test can count what went through it. Killing the process is a dead proxy.
 */

/** Reads exactly `n` bytes from a connection (undefined when it closes first). */
class Reader {
  private buffer = new Uint8Array(0)
  constructor(private readonly conn: Deno.Conn) {}

  async read(n: number): Promise<Uint8Array | undefined> {
    while (this.buffer.length < n) {
      const chunk = new Uint8Array(4096)
      const got = await this.conn.read(chunk)
      if (got === null) return undefined
      const joined = new Uint8Array(this.buffer.length + got)
      joined.set(this.buffer)
      joined.set(chunk.subarray(0, got), this.buffer.length)
      this.buffer = joined
    }
    const out = this.buffer.slice(0, n)
    this.buffer = this.buffer.slice(n)
    return out
  }

  /** Bytes read past the handshake, to forward first. */
  rest(): Uint8Array {
    return this.buffer
  }
}

const write = (conn: Deno.Conn, bytes: ReadonlyArray<number>) => conn.write(new Uint8Array(bytes))
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"))

async function handshake(
  conn: Deno.Conn,
  credentials: { user: string; pass: string } | undefined,
): Promise<{ host: string; port: number; reader: Reader } | undefined> {
  const r = new Reader(conn)
  const head = await r.read(2)
  if (!head || head[0] !== 5) return undefined
  const methods = await r.read(head[1]!)
  if (!methods) return undefined
  const wanted = credentials ? 2 : 0
  if (!methods.includes(wanted)) {
    await write(conn, [5, 0xff])
    return undefined
  }
  await write(conn, [5, wanted])
  if (credentials) {
    const ver = await r.read(2)
    if (!ver) return undefined
    const user = await r.read(ver[1]!)
    const plen = await r.read(1)
    const pass = plen && await r.read(plen[0]!)
    const ok = user && pass && text(user) === credentials.user && text(pass) === credentials.pass
    await write(conn, [1, ok ? 0 : 1])
    if (!ok) {
      say("AUTH_FAILED")
      return undefined
    }
  }
  const req = await r.read(4)
  if (!req || req[0] !== 5 || req[1] !== 1) return undefined
  let host: string
  if (req[3] === 1) host = [...(await r.read(4))!].join(".")
  else if (req[3] === 3) host = text((await r.read((await r.read(1))![0]!))!)
  else if (req[3] === 4) {
    const b = (await r.read(16))!
    host = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(":")
  } else return undefined
  const p = (await r.read(2))!
  return { host, port: (p[0]! << 8) | p[1]!, reader: r }
}

async function serve(conn: Deno.Conn, credentials: { user: string; pass: string } | undefined): Promise<void> {
  const target = await handshake(conn, credentials)
  if (!target) return conn.close()
  let upstream: Deno.Conn
  try {
    upstream = await Deno.connect({ hostname: target.host, port: target.port })
  } catch {
    await write(conn, [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).catch(() => 0)
    return conn.close()
  }
  say(`CONNECT ${target.host}:${target.port}`)
  await write(conn, [5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
  const early = target.reader.rest()
  if (early.length > 0) await upstream.write(early)
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable)
    } catch {
      // one side went away
    }
    for (const c of [from, to]) {
      try {
        c.close()
      } catch {
        // already closed
      }
    }
  }
  await Promise.all([pipe(conn, upstream), pipe(upstream, conn)])
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name)
    return i >= 0 ? Deno.args[i + 1] : undefined
  }
  const user = arg("--user")
  const pass = arg("--pass")
  const credentials = user !== undefined && pass !== undefined ? { user, pass } : undefined
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(arg("--port") ?? 0) })
  say(`LISTENING ${listener.addr.port}`)
  for await (const conn of listener) serve(conn, credentials).catch(() => conn.close())
}
