/**
 * What the sandbox takes from a connection whatever it sends: a connection that says nothing, or begins a packet and
 * never finishes it, is closed with one log line and its buffer freed; everyone else is served. An auth key that opens
 * connections too fast (while flood budgets are in force) gets -429.
 */
import { Writer } from "../transport/Bytes.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { eventually, sandboxTest, startSandbox } from "./support/sandbox.ts"

/** Resolves when the server closes `conn` (a read that ends or fails). */
async function closedByServer(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64)
  while ((await conn.read(buffer).catch(() => null)) !== null) {
    // the server sends nothing before it closes
  }
}

sandboxTest(
  "Limits: an idle connection and one that never finishes its packet are closed, with one line each",
  async () => {
    await using sandbox = await startSandbox({ connectionLimits: { idleMs: 300, unfinishedPacketMs: 300 } })
    const dc = sandbox.descriptor.dcs[0]!
    const connections = sandbox.dcs.get(dc.id)!.connections
    const idle = await Deno.connect({ hostname: dc.host, port: dc.port })
    const slow = await Deno.connect({ hostname: dc.host, port: dc.port })
    try {
      // The intermediate transport's tag, then nothing.
      await idle.write(Uint8Array.of(0xee, 0xee, 0xee, 0xee))
      // A packet of 8,000,000 bytes announced, 64 KB of it sent.
      await slow.write(new Writer().uint32(0xeeeeeeee).int32(8_000_000).raw(new Uint8Array(65_536)).finish())
      await Promise.all([closedByServer(idle), closedByServer(slow)])
      const lines = sandbox.logs.filter((l) => l.message === "connection closed").map((l) => String(l.fields?.reason))
      assertEquals(lines.length, 2, lines.join("; "))
      assert(lines.some((l) => l.startsWith("idle for 300 ms")), lines.join("; "))
      assert(
        lines.some((l) => l.startsWith("a packet unfinished after 300 ms (65540 bytes received)")),
        lines.join("; "),
      )
      // Closed on the server's side too: nothing is left of them.
      await eventually("both connections gone from the DC", () => connections.size === 0)
    } finally {
      idle.close()
      slow.close()
    }
  },
)

sandboxTest(
  "Limits: with flood budgets in force, an auth key's connection past 100 in a minute gets transport error -429",
  async () => {
    await using sandbox = await startSandbox({ flood: [{ method: "*", rate: 1_000, burst: 1_000 }] })
    const dc = sandbox.descriptor.dcs[0]!
    // A packet that names a key the DC knows (it fails the msg_key check after being counted, which is all it is for).
    const keyId = [...sandbox.dcs.get(dc.id)!.keys.keys()][0]!
    const packet = new Writer().uint32(0xeeeeeeee).int32(24 + 48).int64(1n).raw(new Uint8Array(16))
      .raw(new Uint8Array(48)).finish()
    new DataView(packet.buffer).setBigUint64(8, keyId, true)
    /** What the DC sends back before closing a connection that sent `packet`. */
    const answer = async () => {
      const conn = await Deno.connect({ hostname: dc.host, port: dc.port })
      try {
        await conn.write(packet)
        const received: Array<number> = []
        const buffer = new Uint8Array(16)
        for (;;) {
          const n = await conn.read(buffer).catch(() => null)
          if (n === null) return received
          received.push(...buffer.subarray(0, n))
        }
      } finally {
        conn.close()
      }
    }
    for (let i = 0; i < 100; i++) assertEquals(await answer(), [], `connection ${i + 1}: closed without a word`)
    const refused = await answer()
    // A packet of 4 bytes (intermediate framing: its length first), as Telegram sends transport errors.
    const view = new DataView(Uint8Array.from(refused).buffer)
    assertEquals([view.getInt32(0, true), view.getInt32(4, true)], [4, -429], "the 101st: -429")
    assert(
      sandbox.logs.some((l) => String(l.fields?.reason).includes("Too many connections of one auth key")),
      "one line says why",
    )
  },
)
