/** The server side of the MTProto transports: quick ack requests on each, and the tokens sent back. */
import { crc32, Framer } from "../transport/Framer.ts"
import { Writer } from "../transport/Bytes.ts"
import { assertEquals } from "./support/assert.ts"

const PAYLOAD = Uint8Array.from({ length: 16 }, (_, i) => i + 1)

/** A framer that has seen `tag`, fed `packet` in two chunks. */
function receive(tag: Uint8Array, packet: Uint8Array) {
  const framer = new Framer()
  const bytes = Uint8Array.from([...tag, ...packet])
  const half = Math.floor(bytes.length / 2)
  return { framer, packets: [...framer.push(bytes.subarray(0, half)), ...framer.push(bytes.subarray(half))] }
}

Deno.test("Framer: a quick ack request (the top bit of the length) is read on every transport, not taken as a size", () => {
  const intermediateLength = (PAYLOAD.length | 0x80000000) >>> 0
  const fullLength = ((12 + PAYLOAD.length) | 0x80000000) >>> 0
  const full = new Writer().uint32(fullLength).int32(0).raw(PAYLOAD).finish()
  const fullPacket = new Writer().raw(full).uint32(crc32(full)).finish()
  const cases = [
    ["abridged", Uint8Array.of(0xef), Uint8Array.from([(PAYLOAD.length >> 2) | 0x80, ...PAYLOAD])],
    ["abridged, long form", Uint8Array.of(0xef), Uint8Array.from([0xff, PAYLOAD.length >> 2, 0, 0, ...PAYLOAD])],
    [
      "intermediate",
      Uint8Array.of(0xee, 0xee, 0xee, 0xee),
      new Writer().uint32(intermediateLength).raw(PAYLOAD).finish(),
    ],
    ["padded", Uint8Array.of(0xdd, 0xdd, 0xdd, 0xdd), new Writer().uint32(intermediateLength).raw(PAYLOAD).finish()],
    ["full", new Uint8Array(0), fullPacket],
  ] as const
  for (const [name, tag, packet] of cases) {
    const { packets } = receive(tag, packet)
    assertEquals(packets.length, 1, name)
    assertEquals([[...packets[0]!.bytes], packets[0]!.quickAck], [[...PAYLOAD], true], name)
    // The same packet without the bit: no quick ack.
    const plain = Uint8Array.from(packet)
    if (name.startsWith("abridged")) plain[0]! &= 0x7f
    else plain[3]! &= 0x7f
    if (name === "full") new DataView(plain.buffer).setUint32(plain.length - 4, crc32(plain.subarray(0, -4)), true)
    assertEquals(receive(tag, plain).packets[0]?.quickAck, false, `${name} without the bit`)
  }
})

Deno.test("Framer: a quick ack token goes as 4 bytes of its own, byte-swapped on the abridged transport", () => {
  const token = 0x81020304
  const on = (tag: Uint8Array) => {
    const framer = new Framer()
    framer.push(tag)
    return [...framer.encodeQuickAck(token)]
  }
  assertEquals(on(Uint8Array.of(0xee, 0xee, 0xee, 0xee)), [0x04, 0x03, 0x02, 0x81])
  assertEquals(on(Uint8Array.of(0xef)), [0x81, 0x02, 0x03, 0x04])
})
