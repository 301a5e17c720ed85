/** Config: defaults, parsing of every kind of value, errors naming the variable (secrets masked), `.env.example`. */
import { Option, Redacted } from "effect"
import { type AppConfigShape, parseConfig, VARIABLES } from "../src/Config.ts"
import { ConfigError } from "../src/domain/Errors.ts"
import { maskProxy } from "../src/domain/Proxy.ts"
import { assert, assertEquals } from "./support/assert.ts"

const SESSION = "1" + "A".repeat(348) + "="

function ok(env: Record<string, string>): AppConfigShape {
  const parsed = parseConfig(env)
  if (parsed instanceof ConfigError) throw new Error(`unexpected ConfigError: ${parsed.message}`)
  return parsed
}

function bad(env: Record<string, string>): ConfigError {
  const parsed = parseConfig(env)
  assert(parsed instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}`)
  return parsed
}

Deno.test("Config: nothing set gives the documented defaults, every feature off", () => {
  const c = ok({})
  assert(Option.isNone(c.databaseUrl))
  assertEquals(c.dataDir, "./.tgpulse")
  assertEquals(Object.entries(c.features).filter(([, on]) => on !== false), [])
  assertEquals(c.history, { peers: [], limitPerRun: 0, concurrency: 2, intervalSec: 300, channelPauseSec: 0 })
  assertEquals(c.updates, { reconcileSec: 60, statusSec: 10 })
  assertEquals(c.refresh.schedule, [
    { maxAgeSec: 86_400, everySec: 600 },
    { maxAgeSec: 7 * 86_400, everySec: 3_600 },
    { maxAgeSec: 30 * 86_400, everySec: 86_400 },
  ])
  assertEquals(c.stats, { peers: [], periodDays: 30, concurrency: 1, postsLimit: 0, intervalSec: 86_400 })
  assertEquals(c.pool, { rpsPerAccount: 0.7, maxConcurrencyPerAccount: 2, globalRps: 2.5, maxFloodWaitS: 900 })
  assertEquals(c.observe.healthBind, Option.none())
  assertEquals(c.observe.logLevel, "info")
  assertEquals(c.gracefulShutdownTimeoutS, 25)
  assertEquals(c.cluster, {
    enabled: false,
    runnerAddress: Option.none(),
    shardsPerGroup: 300,
    shardLockExpirationS: 9,
  })
})

Deno.test("Config: flags, integers, peers, accounts and secrets parse", () => {
  const c = ok({
    MTPROTO_ENABLED: "TRUE",
    MTPROTO_HISTORY_ENABLED: "1",
    MTPROTO_STATS_ENABLED: "no",
    MTPROTO_PEERS: "@durov, telegram ,https://t.me/some_channel,-1001234567,42",
    MTPROTO_HISTORY_LIMIT_PER_RUN: "5000",
    MTPROTO_CONCURRENCY: "8",
    MTPROTO_ACCOUNTS: `main,${SESSION}`,
    DATABASE_URL: "postgres://u:hunter2@db:5432/x",
    TG_API_ID: "12345",
    TG_API_HASH: "0123456789abcdef0123456789ABCDEF",
    TGPULSE_DATA_DIR: "/var/lib/tgpulse///",
    LOG_LEVEL: "WARNING",
  })
  assertEquals([c.features.mtproto, c.features.history, c.features.stats], [true, true, false])
  assertEquals(c.history.peers, [
    { _tag: "Username", username: "durov" },
    { _tag: "Username", username: "telegram" },
    { _tag: "Username", username: "some_channel" },
    { _tag: "Id", id: 1234567 },
    { _tag: "Id", id: 42 },
  ])
  assertEquals([c.history.limitPerRun, c.history.concurrency], [5000, 8])
  assertEquals(c.telegram.accounts.map((a) => a._tag), ["SessionFile", "SessionString"])
  assertEquals(c.dataDir, "/var/lib/tgpulse")
  assertEquals(c.observe.logLevel, "warn")
  const url = Option.getOrThrow(c.databaseUrl)
  assert(Redacted.isRedacted(url) && !String(url).includes("hunter2"), "the URL is Redacted")
  assertEquals(Redacted.value(url), "postgres://u:hunter2@db:5432/x")
  assert(!JSON.stringify(c.telegram).includes(SESSION.slice(0, 40)), "sessions do not serialize")
})

Deno.test("Config: a bad value names the variable, the value and what is expected", () => {
  const cases: ReadonlyArray<readonly [Record<string, string>, string, RegExp]> = [
    [{ MTPROTO_CONCURRENCY: "0" }, "MTPROTO_CONCURRENCY", /"0".*expected/],
    [{ MTPROTO_CONCURRENCY: "two" }, "MTPROTO_CONCURRENCY", /"two"/],
    [{ MTPROTO_HISTORY_ENABLED: "maybe" }, "MTPROTO_HISTORY_ENABLED", /"maybe"/],
    [{ MTPROTO_PEERS: "good_name,b@d" }, "MTPROTO_PEERS", /bad entry "b@d"/],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", /one of trace/],
    [{ MTPROTO_GLOBAL_RPS: "0" }, "MTPROTO_GLOBAL_RPS", /"0"/],
    [{ MTPROTO_RPS_PER_ACCOUNT: "0.0000001" }, "MTPROTO_RPS_PER_ACCOUNT", /"0.0000001".*from 0.01 to 1000/],
    [{ MTPROTO_MAX_FLOOD_WAIT_S: "0" }, "MTPROTO_MAX_FLOOD_WAIT_S", /"0".*from 1 to 604800/],
    [{ CLUSTER_RUNNER_ADDRESS: "tgpulse-1" }, "CLUSTER_RUNNER_ADDRESS", /"tgpulse-1".*host:port/],
    [{ CLUSTER_RUNNER_ADDRESS: "tgpulse-1:70000" }, "CLUSTER_RUNNER_ADDRESS", /"tgpulse-1:70000"/],
    [{ CLUSTER_SHARD_LOCK_EXPIRATION_S: "1" }, "CLUSTER_SHARD_LOCK_EXPIRATION_S", /"1".*from 3 to 600/],
    [{ API_BIND: "8080" }, "API_BIND", /"8080".*host:port/],
    [{ API_ENABLED: "sure" }, "API_ENABLED", /"sure"/],
  ]
  for (const [env, variable, pattern] of cases) {
    const e = bad(env)
    assertEquals(e.variable, variable)
    assert(e.message.startsWith(`Invalid ${variable} `), e.message)
    assert(pattern.test(e.message), `${e.message} should match ${pattern}`)
  }
})

Deno.test("Config: settings that only work together are checked together, naming what is missing", () => {
  const hash = "0123456789abcdef0123456789ABCDEF"
  const cases: ReadonlyArray<readonly [Record<string, string>, string, RegExp]> = [
    [{ TG_API_ID: "12345" }, "TG_API_HASH", /^Missing TG_API_HASH: TG_API_ID is set, expected both/],
    [{ TG_API_HASH: hash }, "TG_API_ID", /^Missing TG_API_ID: TG_API_HASH is set/],
    [
      { MTPROTO_PROXY_ENABLED: "true" },
      "MTPROTO_PROXIES",
      /MTPROTO_PROXY_ENABLED is true but MTPROTO_PROXIES is empty/,
    ],
    [
      { CLUSTER_ENABLED: "true", CLUSTER_RUNNER_ADDRESS: "127.0.0.1:34431" },
      "DATABASE_URL",
      /CLUSTER_ENABLED is true but DATABASE_URL is not set.*embedded database serves one runner only/,
    ],
    [
      { CLUSTER_ENABLED: "true", DATABASE_URL: "postgres://u:hunter2@db/x" },
      "CLUSTER_RUNNER_ADDRESS",
      /CLUSTER_ENABLED is true but CLUSTER_RUNNER_ADDRESS is not set: expected the host:port/,
    ],
  ]
  for (const [env, variable, pattern] of cases) {
    const e = bad(env)
    assertEquals(e.variable, variable)
    assert(pattern.test(e.message), `${e.message} should match ${pattern}`)
    assert(!e.message.includes(hash), `secret leaked: ${e.message}`)
  }
  // Proxies given but not enabled are kept (and not used); the pair given together parses.
  assertEquals(ok({ MTPROTO_PROXIES: "socks5://h:1" }).proxy.proxies.length, 1)
  assertEquals(Option.getOrThrow(ok({ TG_API_ID: "12345", TG_API_HASH: hash }).telegram.apiId), 12345)
  const runner = ok({
    CLUSTER_ENABLED: "on",
    DATABASE_URL: "postgres://db/x",
    CLUSTER_RUNNER_ADDRESS: "tgpulse-2:34431",
  })
  assertEquals(runner.cluster.runnerAddress, Option.some({ host: "tgpulse-2", port: 34431 }))
  const api = ok({ API_ENABLED: "true", API_BIND: "0.0.0.0:9090", API_TOKEN: "a-token-of-twenty-chars" })
  assertEquals([api.api.enabled, api.api.bind], [true, { host: "0.0.0.0", port: 9090 }])
  assertEquals(Redacted.value(Option.getOrThrow(api.api.token)), "a-token-of-twenty-chars")
  assertEquals([ok({}).api.enabled, ok({}).api.bind, Option.isNone(ok({}).api.token)], [
    false,
    { host: "127.0.0.1", port: 8080 },
    true,
  ])
})

Deno.test("Config: a bad secret is named but never shown", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["DATABASE_URL", "mysql://root:hunter2@db/x"],
    ["TG_API_HASH", "hunter2-not-hex"],
    ["MTPROTO_ACCOUNTS", "ok,hunter2/../x"],
    ["MTPROTO_ACCOUNTS", `${SESSION},${SESSION}`.replaceAll("A", "h")],
    ["MTPROTO_PROXIES", "ftp://user:hunter2@proxy:1"],
    ["API_TOKEN", "hunter2"],
    ["API_TOKEN", "hunter2 with spaces in it"],
  ]
  for (const [variable, value] of cases) {
    const e = bad({ [variable]: value })
    assertEquals(e.variable, variable)
    assert(!e.message.includes("hunter2"), `secret leaked: ${e.message}`)
    assert(e.message.includes("(value hidden)") || /entry \d/.test(e.message), e.message)
  }
})

Deno.test("Config: a bad account or proxy entry is named by position, masked, with the reason", () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    [
      "MTPROTO_ACCOUNTS",
      "main,hunter2/../x",
      /^Invalid MTPROTO_ACCOUNTS: entry 2 \(hunt\*\*\*, 12 characters\) is neither/,
    ],
    ["MTPROTO_ACCOUNTS", "main,backup,main", /^Invalid MTPROTO_ACCOUNTS: entry 3 \("main"\) is listed twice/],
    [
      "MTPROTO_ACCOUNTS",
      `${SESSION},${SESSION}`,
      /^Invalid MTPROTO_ACCOUNTS: entry 2 \(1\w{3}\*\*\*, \d+ characters\) is listed twice/,
    ],
    ["MTPROTO_PROXIES", "socks5://u:hunter2@proxy", /entry 1 \(socks5:\/\/u:\*\*\*@proxy\): missing port/],
    [
      "MTPROTO_PROXIES",
      "socks5://a:1080,ftp://user:hunter2@proxy:1",
      /entry 2 \(ftp:\/\/user:\*\*\*@proxy:1\): unsupported scheme "ftp"/,
    ],
    ["MTPROTO_PROXIES", "mtproxy://hunter2@h:443", /entry 1 \(mtproxy:\/\/\*\*\*@h:443\): the MTProxy secret must be/],
    ["MTPROTO_PROXIES", "tg://proxy?server=h&port=443&secret=hunter2", /secret=\*\*\*\): the MTProxy secret/],
    [
      "MTPROTO_PROXIES",
      "socks5://u:hunter2@h:1,socks5://u:hunter2@h:1",
      /entry 2 \(socks5:\/\/u:\*\*\*@h:1\) is listed twice/,
    ],
    ["MTPROTO_PROXIES", "socks5://h:99999", /entry 1 \(socks5:\/\/h:99999\): not a URL|missing port/],
  ]
  for (const [variable, value, pattern] of cases) {
    const e = bad({ [variable]: value })
    assertEquals(e.variable, variable)
    assert(pattern.test(e.message), `${e.message} should match ${pattern}`)
    assert(!e.message.includes("hunter2"), `secret leaked: ${e.message}`)
  }
  const proxies = ok({
    MTPROTO_PROXIES: "socks5://u:p%40ss@127.0.0.1:1080 socks4://[::1]:9050,tg://proxy?server=mt.example&port=443" +
      `&secret=dd${"ab".repeat(16)}`,
  }).proxy.proxies
  assertEquals(proxies.map(maskProxy), [
    "socks5://u:***@127.0.0.1:1080",
    "socks4://[::1]:9050",
    "mtproxy://***@mt.example:443",
  ])
  assertEquals(proxies[0], {
    kind: "socks",
    version: 5,
    host: "127.0.0.1",
    port: 1080,
    username: "u",
    password: "p@ss",
  })
})

Deno.test("Config: .env.example documents every variable, and its values parse to the defaults", async () => {
  const text = await Deno.readTextFile(new URL("../.env.example", import.meta.url))
  const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!))
  assertEquals(VARIABLES.filter((v) => !documented.has(v)), [], "variables missing from .env.example")
  assertEquals([...documented].filter((v) => !VARIABLES.includes(v)), [], "unknown variables in .env.example")
  const env = Object.fromEntries(
    [...text.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].filter((m) => m[2] !== "").map((m) => [m[1]!, m[2]!]),
  )
  assertEquals(ok(env), ok({}))
})

Deno.test("Config: MTPROTO_REFRESH_SCHEDULE parses AGE:EVERY pairs and names what is wrong", () => {
  assertEquals(ok({ MTPROTO_REFRESH_SCHEDULE: "2h:5m, 3d:6h" }).refresh.schedule, [
    { maxAgeSec: 7_200, everySec: 300 },
    { maxAgeSec: 259_200, everySec: 21_600 },
  ])
  for (const value of ["1d", "1d:10x", "7d:1h,1d:10m", "0d:1m", ","]) {
    const e = bad({ MTPROTO_REFRESH_SCHEDULE: value })
    assertEquals(e.variable, "MTPROTO_REFRESH_SCHEDULE")
    assert(e.message.includes("AGE:EVERY"), e.message)
  }
})
