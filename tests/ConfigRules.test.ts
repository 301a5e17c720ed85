/**
 * The original design's settings honoured: JSON lists, MTPROTO_SLEEP_THRESHOLD read as MTPROTO_MAX_FLOOD_WAIT_S, the
 * retry settings, OTLP endpoints with or without the signal path, and the safe-mode preset with its pause between
 * channels (on virtual time).
 */
import { Clock, Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { type AppConfigShape, parseConfig } from "../src/Config.ts"
import { ConfigError } from "../src/domain/Errors.ts"
import { forEachPeer } from "../src/collect/Peers.ts"
import { syncOptionsOf } from "../src/collect/HistorySync.ts"
import { tracesUrl } from "../src/observe/Tracing.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { virtualTest } from "./support/effectTest.ts"

const ok = (env: Record<string, string>): AppConfigShape => {
  const parsed = parseConfig(env)
  if (parsed instanceof ConfigError) throw new Error(`unexpected ConfigError: ${parsed.message}`)
  return parsed
}

const bad = (env: Record<string, string>): ConfigError => {
  const parsed = parseConfig(env)
  if (!(parsed instanceof ConfigError)) throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`)
  return parsed
}

Deno.test("Config: list settings take the original design's JSON lists", () => {
  const config = ok({
    MTPROTO_STATS_PEERS: '["@durov", -1001234567890, 42, "https://t.me/telegram"]',
    MTPROTO_PEERS: '[ "chan_one" ]',
    MTPROTO_ACCOUNTS: '["main", "backup"]',
  })
  assertEquals(config.stats.peers, [
    { _tag: "Username", username: "durov" },
    { _tag: "Id", id: 1234567890 },
    { _tag: "Id", id: 42 },
    { _tag: "Username", username: "telegram" },
  ])
  assertEquals(config.history.peers, [{ _tag: "Username", username: "chan_one" }])
  assertEquals(config.telegram.accounts, [{ _tag: "SessionFile", name: "main" }, {
    _tag: "SessionFile",
    name: "backup",
  }])
  // The comma-separated form still works, and both give the same list.
  assertEquals(ok({ MTPROTO_STATS_PEERS: "@durov, -1001234567890" }).stats.peers, config.stats.peers.slice(0, 2))
})

Deno.test("Config: a JSON list that is not one is named as the bad entry of its variable", () => {
  for (const raw of ['["@durov", ', '["@durov", {"id": 1}]', "[1.5]"]) {
    const error = bad({ MTPROTO_STATS_PEERS: raw })
    assertEquals(error.variable, "MTPROTO_STATS_PEERS")
    assert(error.message.includes("JSON list"), error.message)
  }
  assertEquals(bad({ MTPROTO_PEERS: '["ok_name", "not a name!"]' }).variable, "MTPROTO_PEERS")
})

Deno.test("Config: MTPROTO_SLEEP_THRESHOLD is read as MTPROTO_MAX_FLOOD_WAIT_S, with one line saying so", () => {
  const mapped = ok({ MTPROTO_SLEEP_THRESHOLD: "60" })
  assertEquals(mapped.pool.maxFloodWaitS, 60)
  assertEquals(mapped.notices.length, 1)
  assert(mapped.notices[0]!.includes("MTPROTO_MAX_FLOOD_WAIT_S=60"), mapped.notices[0]!)
  // 0 was "never sleep": what tgpulse's client does anyway; the pool's own limit stands, and the line says why.
  const zero = ok({ MTPROTO_SLEEP_THRESHOLD: "0" })
  assertEquals(zero.pool.maxFloodWaitS, 900)
  assert(zero.notices[0]!.includes("never sleeps"), zero.notices[0]!)
  // Agreeing with the new name is fine; disagreeing is an error naming both.
  assertEquals(ok({ MTPROTO_SLEEP_THRESHOLD: "120", MTPROTO_MAX_FLOOD_WAIT_S: "120" }).pool.maxFloodWaitS, 120)
  const clash = bad({ MTPROTO_SLEEP_THRESHOLD: "60", MTPROTO_MAX_FLOOD_WAIT_S: "120" })
  assertEquals(clash.variable, "MTPROTO_SLEEP_THRESHOLD")
  assert(clash.message.includes("MTPROTO_MAX_FLOOD_WAIT_S=120"), clash.message)
  const garbage = bad({ MTPROTO_SLEEP_THRESHOLD: "a minute" })
  assertEquals(garbage.variable, "MTPROTO_SLEEP_THRESHOLD")
  assert(garbage.message.includes("MTPROTO_MAX_FLOOD_WAIT_S"), garbage.message)
  assertEquals(ok({}).notices, [])
})

Deno.test("Config: MTPROTO_RETRY_MAX and MTPROTO_RETRY_BACKOFF set the history fetch's tries again", () => {
  assertEquals(syncOptionsOf(ok({})).retry, { times: 5, backoffSeconds: 0.25 })
  assertEquals(syncOptionsOf(ok({ MTPROTO_RETRY_MAX: "0", MTPROTO_RETRY_BACKOFF: "2" })).retry, {
    times: 0,
    backoffSeconds: 2,
  })
  assertEquals(bad({ MTPROTO_RETRY_MAX: "-1" }).variable, "MTPROTO_RETRY_MAX")
  assertEquals(bad({ MTPROTO_RETRY_BACKOFF: "2s" }).variable, "MTPROTO_RETRY_BACKOFF")
})

Deno.test("Config: OTLP endpoints with or without the signal path reach <base>/v1/traces", () => {
  const url = (env: Record<string, string>) => tracesUrl(ok({ OBS_OTEL_ENABLED: "true", ...env }).observe)
  const traces = "http://collector:4318/v1/traces"
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }), traces)
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }), traces)
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/v1/traces" }), traces)
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/v1/traces/" }), traces)
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/v1/metrics" }), traces)
  assertEquals(url({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://gw.example/otlp" }), "https://gw.example/otlp/v1/traces")
  assertEquals(
    url({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:1/x" }),
    "http://t:1/x",
  )
  assertEquals(url({}), undefined)
  assertEquals(
    bad({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" }).variable,
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  )
})

Deno.test("Config: MTPROTO_SAFE_MODE presets conservative limits, keeps what is set, and says so", () => {
  const safe = ok({ MTPROTO_SAFE_MODE: "true" })
  assertEquals(safe.features.safeMode, true)
  assertEquals(safe.pool.rpsPerAccount, 0.2)
  assertEquals(safe.pool.globalRps, 0.5)
  assertEquals(safe.pool.maxConcurrencyPerAccount, 1)
  assertEquals(safe.history.concurrency, 1)
  assertEquals(safe.history.limitPerRun, 2000)
  assertEquals(safe.history.channelPauseSec, 30)
  assertEquals(safe.notices.length, 1)
  assert(safe.notices[0]!.startsWith("safe mode (MTPROTO_SAFE_MODE=true): 0.2 calls/s"), safe.notices[0]!)
  assert(safe.notices[0]!.includes("30 s between channels"), safe.notices[0]!)

  const mixed = ok({ MTPROTO_SAFE_MODE: "yes", MTPROTO_RPS_PER_ACCOUNT: "0.1", MTPROTO_HISTORY_LIMIT_PER_RUN: "500" })
  assertEquals(mixed.pool.rpsPerAccount, 0.1)
  assertEquals(mixed.history.limitPerRun, 500)
  assertEquals(mixed.pool.globalRps, 0.5)
  assert(
    mixed.notices[0]!.includes(
      "set explicitly and kept: MTPROTO_RPS_PER_ACCOUNT=0.1, MTPROTO_HISTORY_LIMIT_PER_RUN=500",
    ),
    mixed.notices[0]!,
  )
  // Off (the default): the usual limits and no line.
  const off = ok({})
  assertEquals([off.pool.rpsPerAccount, off.history.channelPauseSec, off.notices.length], [0.7, 0, 0])
  assertEquals(bad({ MTPROTO_SAFE_MODE: "maybe" }).variable, "MTPROTO_SAFE_MODE")
})

virtualTest(
  "forEachPeer: a pause between channels delays each next start, and none follows the last",
  Effect.gen(function* () {
    const refs = [1, 2, 3].map((id) => ({ _tag: "Id", id }) as const)
    const cells = yield* Effect.forEach(refs, () => Ref.make({ status: "pending", error: undefined, seconds: 0 }))
    const starts: Array<number> = []
    const run = forEachPeer(
      refs,
      cells,
      { concurrency: 1, stream: "history", failed: "channel failed", pauseSeconds: 30 },
      () =>
        Effect.gen(function* () {
          starts.push(yield* Clock.currentTimeMillis)
          yield* Effect.sleep("5 seconds")
        }),
    )
    const fiber = yield* Effect.forkChild(Effect.andThen(run, Clock.currentTimeMillis))
    for (let t = 0; t < 200; t++) yield* TestClock.adjust("1 second")
    assertEquals(starts, [0, 35_000, 70_000])
    // The last channel ends at 75 s, and so does the run: no pause follows it.
    assertEquals(yield* Fiber.join(fiber), 75_000)
  }),
)
