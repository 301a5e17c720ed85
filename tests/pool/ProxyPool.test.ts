/** ProxyPool: parsing and masking, one proxy per account, failure scores and bans, timed recovery, rotation. */
import { maskProxy, parseProxyUrl, type ProxySpec } from "../../src/domain/Proxy.ts"
import { ProxyPool } from "../../src/pool/ProxyPool.ts"
import { assert, assertEquals } from "../support/assert.ts"

const spec = (url: string): ProxySpec => {
  const parsed = parseProxyUrl(url)
  if (typeof parsed === "string") throw new Error(parsed)
  return parsed
}

const A = spec("socks5://a:secret@10.0.0.1:1080")
const B = spec("socks5://10.0.0.2:1080")
const C = spec(`mtproxy://${"ab".repeat(16)}@10.0.0.3:443`)
const pool = (specs = [A, B, C], rotationMs = 60_000, failScoreLimit = 3) =>
  new ProxyPool(specs, { rotationMs, failScoreLimit, banMs: 10_000, maxBanMs: 30_000 })

Deno.test("ProxyPool: URLs parse and mask; bad ones say why without the secret", () => {
  assertEquals(maskProxy(A), "socks5://a:***@10.0.0.1:1080")
  assertEquals(maskProxy(C), "mtproxy://***@10.0.0.3:443")
  assertEquals(spec("https://t.me/proxy?server=h&port=443&secret=ee" + "00".repeat(16) + "676f6f676c652e636f6d"), {
    kind: "mtproxy",
    host: "h",
    port: 443,
    secret: "ee" + "00".repeat(16) + "676f6f676c652e636f6d",
  })
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ["socks5://h", /missing port/],
    ["socks4://u:pw@h:1", /SOCKS4 has no password/],
    ["http://h:8080", /unsupported scheme "http"/],
    ["mtproxy://short@h:1", /secret must be 32 hex/],
    ["tg://proxy?server=h&secret=" + "ab".repeat(16), /needs server= and port=/],
    ["nonsense", /not a URL/],
  ]
  for (const [url, pattern] of cases) {
    const r = parseProxyUrl(url)
    assert(typeof r === "string" && pattern.test(r), `${url}: ${String(r)}`)
  }
})

Deno.test("ProxyPool: accounts spread over proxies and keep theirs while it is healthy and young", () => {
  const p = pool()
  const got = ["x", "y", "z", "w"].map((name) => p.acquire(name, 0)!.masked)
  assertEquals(new Set(got.slice(0, 3)).size, 3, "three accounts on three proxies")
  assertEquals(p.acquire("x", 30_000)!.masked, got[0], "a reconnect within the rotation period keeps the proxy")
  const moved = p.acquire("x", 61_000)!.masked
  assert(moved !== got[0], "after the rotation period the next connection takes another proxy")
  assertEquals(p.status(61_000).flatMap((s) => s.accounts).sort(), ["w", "x", "y", "z"])
})

Deno.test("ProxyPool: failures net of successes ban a proxy; its accounts move; it recovers on probation", () => {
  const p = pool([A, B], 60_000, 3)
  const first = p.acquire("x", 0)!
  assertEquals(first.masked, maskProxy(A))
  assertEquals(p.fail(first, 1), false)
  p.succeed(first)
  assertEquals(p.fail(first, 2), false)
  assertEquals(p.fail(first, 3), false)
  assertEquals(p.fail(first, 4), true, "third net failure bans")
  assertEquals(p.isUsable(first, 5), false)
  assertEquals(p.status(5)[0]!.state, "banned")
  assertEquals(p.acquire("x", 5)!.masked, maskProxy(B), "the account moves to the other proxy")
  assertEquals(p.nextRecovery(5), 10_004)
  // After the ban it is usable again, but one more failure bans it for twice as long.
  assertEquals(p.isUsable(first, 10_004), true)
  assertEquals(p.fail(first, 10_005), true)
  assertEquals(p.nextRecovery(10_005), 30_005)
  // Every proxy banned: nothing to hand out, and the pool says when one recovers.
  const other = p.acquire("y", 10_006)!
  for (let i = 0; i < 3; i++) p.fail(other, 10_007)
  assertEquals(p.acquire("z", 10_008), undefined)
  assertEquals(p.nextRecovery(10_008), 20_007)
})
