/**
 * The account pool's scheduler on virtual time (TestClock): rates per account and overall, least-loaded spread, per-account
 * concurrency, flood cooling per (account, class), quarantine, transient backoff, and no leak under interruption.
 * A budget oracle (the same rule Telegram and the sandbox apply) answers FLOOD_WAIT to any call that comes too early.
 */
import { Clock, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeScheduler, type PoolSettings, type Scheduler } from "../../src/pool/Scheduler.ts"
import { AuthRevoked, FloodWait, TelegramError, Transient } from "../../src/domain/TelegramError.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { runFor, virtualTest } from "../support/effectTest.ts"

interface Call {
  readonly account: string
  readonly at: number
  readonly payload: number
}

const names = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `acc${i}`, client: `acc${i}` }))

const settings = (overrides: Partial<PoolSettings> = {}): PoolSettings => ({
  rpsPerAccount: 2,
  globalRps: 1000,
  maxConcurrencyPerAccount: 4,
  ...overrides,
})

/** A call that records itself and takes `millis` of virtual time. */
const recorder = (calls: Array<Call>, millis = 0) => (payload: number) => (lease: { name: string }) =>
  Effect.gen(function* () {
    calls.push({ account: lease.name, at: yield* Clock.currentTimeMillis, payload })
    if (millis > 0) yield* Effect.sleep(Duration.millis(millis))
    return payload
  })

const spacing = (calls: ReadonlyArray<Call>, account?: string) => {
  const times = calls.filter((c) => account === undefined || c.account === account).map((c) => c.at).sort((a, b) =>
    a - b
  )
  return Math.min(...times.slice(1).map((t, i) => t - times[i]!))
}

const countBy = (calls: ReadonlyArray<Call>) =>
  calls.reduce<Record<string, number>>((m, c) => ({ ...m, [c.account]: (m[c.account] ?? 0) + 1 }), {})

const history = <A>(pool: Scheduler<A>, call: (lease: { name: string }) => Effect.Effect<number, TelegramError>) =>
  pool.run("history", call)

virtualTest(
  "Scheduler: each account keeps its rate, the load spreads evenly, the total is the sum of the budgets",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(3), settings())
    const calls: Array<Call> = []
    const record = recorder(calls)
    const results = yield* runFor(11, Array.from({ length: 60 }, (_, i) => history(pool, record(i))))
    assertEquals(results.length, 60)
    for (const account of ["acc0", "acc1", "acc2"]) assert(spacing(calls, account) >= 500, `spacing of ${account}`)
    assertEquals(countBy(calls), { acc0: 20, acc1: 20, acc2: 20 })
    // 60 calls at 3 x 2/s: the last one starts at 9.5 s (the first three at 0).
    // (The global bucket, 1,000/s, spaces simultaneous starts by 1 ms.)
    const last = Math.max(...calls.map((c) => c.at))
    assert(last >= 9_500 && last <= 9_502, `last start ${last}`)
  }),
)

virtualTest(
  "Scheduler: the global bucket caps the pool",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(3), settings({ rpsPerAccount: 10, globalRps: 5 }))
    const calls: Array<Call> = []
    yield* runFor(11, Array.from({ length: 50 }, (_, i) => history(pool, recorder(calls)(i))))
    assert(spacing(calls) >= 200, `global spacing ${spacing(calls)}`)
    assertEquals(Math.max(...calls.map((c) => c.at)), 49 * 200)
  }),
)

virtualTest(
  "Scheduler: no account runs more calls at once than allowed",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(2), settings({ rpsPerAccount: 100, maxConcurrencyPerAccount: 2 }))
    let inflight: Record<string, number> = {}
    let peak = 0
    const call = (lease: { name: string }) =>
      Effect.gen(function* () {
        inflight = { ...inflight, [lease.name]: (inflight[lease.name] ?? 0) + 1 }
        peak = Math.max(peak, inflight[lease.name]!)
        yield* Effect.sleep(Duration.seconds(1))
        inflight = { ...inflight, [lease.name]: inflight[lease.name]! - 1 }
        return 0
      })
    yield* runFor(6, Array.from({ length: 20 }, () => history(pool, call)))
    assertEquals(peak, 2)
    assertEquals((yield* pool.status).map((s) => s.requests), [10, 10])
  }),
)

virtualTest(
  "Scheduler: a FLOOD_WAIT cools that account for that class only, the same call runs again elsewhere",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(3), settings())
    const calls: Array<Call> = []
    let flooded = false
    const call = (payload: number) => (lease: { name: string }) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        calls.push({ account: lease.name, at, payload })
        if (lease.name === "acc0" && at >= 1_000 && !flooded) {
          flooded = true
          return yield* new TelegramError({
            method: "messages.getHistory",
            account: lease.name,
            reason: new FloodWait({ seconds: 30 }),
          })
        }
        return payload
      })
    const views = pool.run("views", call(1000))
    const results = yield* runFor(
      12,
      [...Array.from({ length: 40 }, (_, i) => history(pool, call(i))), Effect.delay(views, Duration.seconds(2))],
    )
    assertEquals(results.length, 41)
    const floodedCall = calls.find((c) => c.account === "acc0" && c.at >= 1_000)!
    const again = calls.filter((c) => c.payload === floodedCall.payload)
    assertEquals(again.length, 2, "the flooded call ran again once")
    assert(again[1]!.account !== "acc0", "and on another account")
    const floodedAt = floodedCall.at
    const acc0History = calls.filter((c) => c.account === "acc0" && c.payload < 1000 && c.at > floodedAt)
    assertEquals(acc0History, [], "acc0 made no history call while cooling")
    assertEquals(calls.find((c) => c.payload === 1000)?.account !== undefined, true, "views still ran")
    // The others were not slowed: 40 calls + 1 retry on acc1 and acc2 at 2/s each after the flood.
    for (const account of ["acc1", "acc2"]) assert(spacing(calls, account) >= 500)
    const status = yield* pool.status
    assertEquals(status.map((s) => [s.name, s.floodWaits, s.floodSeconds]), [
      ["acc0", 1, 30],
      ["acc1", 0, 0],
      ["acc2", 0, 0],
    ])
    assertEquals(status[0]!.state, "cooling")
  }),
)

virtualTest(
  "Scheduler: a FLOOD_WAIT longer than the longest wait fails the call at once with WaitTooLong; a shorter one waits",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(1), settings({ maxWaitMs: 900_000 }))
    const floods: Array<number> = [100_000, 600]
    const calls: Array<number> = []
    const call = (lease: { name: string }) =>
      Effect.gen(function* () {
        calls.push(yield* Clock.currentTimeMillis)
        const seconds = floods.shift()
        if (seconds === undefined) return 7
        return yield* new TelegramError({ method: "m", account: lease.name, reason: new FloodWait({ seconds }) })
      })
    // 100,000 s (27.8 h) on the only account: no sleep, a failure that says why (virtual time never moved).
    const error = yield* history(pool, call).pipe(Effect.flip)
    assertEquals(error._tag, "WaitTooLong")
    assert(
      error.message.includes("27 h 46 min") && error.message.includes("MTPROTO_MAX_FLOOD_WAIT_S (900 s)"),
      error.message,
    )
    assertEquals(calls, [0])
    // Once the cooling is over, 600 s (within the limit) is waited and the same call runs again.
    yield* TestClock.adjust(Duration.seconds(100_000))
    const fiber = yield* Effect.forkChild(history(pool, call))
    yield* TestClock.adjust(Duration.seconds(601))
    assertEquals(yield* Fiber.join(fiber), 7)
    assertEquals(calls.map((t) => Math.round((t - calls[1]!) / 1000)), [-100_000, 0, 600])
  }),
)

virtualTest(
  "Scheduler: a revoked account is quarantined once and the work finishes on the others; none left is an error",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(2), settings())
    const calls: Array<Call> = []
    const call = (payload: number) => (lease: { name: string }) =>
      Effect.gen(function* () {
        calls.push({ account: lease.name, at: yield* Clock.currentTimeMillis, payload })
        if (lease.name === "acc0") {
          return yield* new TelegramError({
            method: "messages.getHistory",
            account: lease.name,
            reason: new AuthRevoked({ code: 401, errorMessage: "AUTH_KEY_UNREGISTERED" }),
          })
        }
        return payload
      })
    const results = yield* runFor(12, Array.from({ length: 20 }, (_, i) => history(pool, call(i))))
    assertEquals(results.toSorted((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
    assertEquals(calls.filter((c) => c.account === "acc0").length, 1, "one failed call, no retry loop")
    const status = yield* pool.status
    assertEquals(status.map((s) => [s.state, s.quarantineReason]), [
      ["quarantined", "AUTH_KEY_UNREGISTERED"],
      ["healthy", null],
    ])

    const dead = yield* makeScheduler(names(1), settings())
    const revoked = (lease: { name: string }): Effect.Effect<number, TelegramError> =>
      Effect.fail(
        new TelegramError({
          method: "x",
          account: lease.name,
          reason: new AuthRevoked({ code: 406, errorMessage: "AUTH_KEY_DUPLICATED" }),
        }),
      )
    const error = yield* dead.run("other", revoked).pipe(Effect.flip)
    assertEquals(error._tag, "NoAccountAvailable")
  }),
)

virtualTest(
  "Scheduler: a transient failure is returned and backs the account off; a success brings it back",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(2), settings({ rpsPerAccount: 100 }))
    const calls: Array<Call> = []
    const failing = (lease: { name: string }) =>
      Effect.gen(function* () {
        calls.push({ account: lease.name, at: yield* Clock.currentTimeMillis, payload: -1 })
        return yield* new TelegramError({
          method: "x",
          account: lease.name,
          reason: new Transient({ code: 500, errorMessage: "INTERNAL" }),
        })
      })
    const error = yield* pool.run("history", failing).pipe(Effect.flip)
    assertEquals(error._tag, "TelegramError")
    const first = calls[0]!.account
    // The next calls avoid the backed-off account until its backoff (1 s) has passed.
    yield* runFor(0.5, Array.from({ length: 3 }, (_, i) => history(pool, recorder(calls)(i))))
    assert(calls.slice(1).every((c) => c.account !== first), "the backed-off account was avoided")
    assertEquals((yield* pool.status).find((s) => s.name === first)!.state, "backoff")
    yield* TestClock.adjust(Duration.seconds(1))
    assertEquals((yield* pool.status).find((s) => s.name === first)!.state, "healthy")
  }),
)

virtualTest(
  "Scheduler: 1,000 interrupted tasks leak no lease and no permit",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(3), settings({ maxConcurrencyPerAccount: 2 }))
    const calls: Array<Call> = []
    const slow = recorder(calls, 5_000)
    const fibers = yield* Effect.forEach(
      Array.from({ length: 1000 }, (_, i) => i),
      (i) => Effect.forkChild(history(pool, slow(i))),
    )
    // Some are waiting for an account, some for their rate slot, some are inside their call.
    for (let t = 0; t < 15; t++) yield* TestClock.adjust(Duration.millis(100))
    yield* Effect.forEach(fibers, Fiber.interrupt, { concurrency: "unbounded", discard: true })
    const status = yield* pool.status
    assertEquals(status.map((s) => s.inflight), [0, 0, 0])
    assert(calls.length > 0 && calls.length < 1000, `${calls.length} calls started`)
    // Every account is usable again at once (at most the rate slots reserved before the interruption are lost).
    const fresh: Array<Call> = []
    const interruptedAt = yield* Clock.currentTimeMillis
    yield* runFor(3, Array.from({ length: 3 }, (_, i) => history(pool, recorder(fresh)(i))))
    assertEquals(fresh.length, 3)
    assert(fresh.every((c) => c.at - interruptedAt <= 1_000), "within the rate slots already reserved")
    assertEquals(new Set(fresh.map((c) => c.account)).size, 3)
  }),
)

virtualTest(
  "Scheduler: a call for some accounts only runs on them, waits for them, and fails when they are all quarantined",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(3), settings())
    const calls: Array<Call> = []
    const record = recorder(calls)
    const only = new Set(["acc1"])
    // Six calls for acc1 at 2/s: all on acc1, 500 ms apart, though acc0 and acc2 are idle.
    const results = yield* runFor(4, Array.from({ length: 6 }, (_, i) => pool.run("stats", record(i), undefined, only)))
    assertEquals(results.length, 6)
    assertEquals(countBy(calls), { acc1: 6 })
    assert(spacing(calls) >= 500, `spacing ${spacing(calls)}`)
    // acc1's key is revoked: the call is not moved to acc0 or acc2.
    const revoked = () =>
      Effect.fail(
        new TelegramError({
          method: "stats.GetBroadcastStats",
          account: "acc1",
          reason: new AuthRevoked({ code: 401, errorMessage: "AUTH_KEY_UNREGISTERED" }),
        }),
      )
    const outcome = yield* Effect.result(pool.run("stats", revoked, undefined, only))
    assert(outcome._tag === "Failure" && outcome.failure._tag === "NoAccountAvailable", "fails: no account")
    assertEquals((outcome as { failure: { quarantined: number } }).failure.quarantined, 1)
    // The other accounts still serve calls for anyone.
    calls.length = 0
    yield* runFor(1, [pool.run("stats", record(7))])
    assert(calls.length === 1 && calls[0]!.account !== "acc1", "another account took the call")
  }),
)

virtualTest(
  "Scheduler: equally good accounts take turns, starting at firstAccount (runners sharing accounts start apart)",
  Effect.gen(function* () {
    // One call a second, each done before the next: every account is free and within its budget each time.
    const sequential = (first: number) =>
      Effect.gen(function* () {
        const pool = yield* makeScheduler(names(4), settings({ firstAccount: first }))
        const calls: Array<Call> = []
        const record = recorder(calls)
        for (let i = 0; i < 6; i++) {
          yield* history(pool, record(i))
          yield* TestClock.adjust(Duration.seconds(1))
        }
        return calls.map((c) => c.account)
      })
    assertEquals(yield* sequential(0), ["acc0", "acc1", "acc2", "acc3", "acc0", "acc1"])
    assertEquals(yield* sequential(2), ["acc2", "acc3", "acc0", "acc1", "acc2", "acc3"])
    assertEquals(yield* sequential(7), ["acc3", "acc0", "acc1", "acc2", "acc3", "acc0"])
  }),
)

virtualTest(
  "Scheduler: a call reserved ahead for one account's next slot never holds back another account or class",
  Effect.gen(function* () {
    const pool = yield* makeScheduler(names(2), settings({ rpsPerAccount: 1 }))
    const calls: Array<Call> = []
    const record = recorder(calls)
    // acc0 takes a call now and one for its next slot (1 s ahead); acc1 and acc0's views budget are free now.
    const first = yield* Effect.forkChild(history(pool, record(0)))
    const ahead = yield* Effect.forkChild(pool.run("history", record(1), undefined, new Set(["acc0"])))
    const other = yield* Effect.forkChild(history(pool, record(2)))
    const views = yield* Effect.forkChild(pool.run("views", record(3), undefined, new Set(["acc0"])))
    yield* TestClock.adjust(Duration.seconds(2))
    yield* Effect.forEach([first, ahead, other, views], Fiber.join)
    // The global budget (1,000/s) spaces them by 1 ms; before, every call waited for the one reserved at 1 s.
    assertEquals(calls.map((c) => [c.payload, c.account, c.at]).sort((a, b) => Number(a[0]) - Number(b[0])), [
      [0, "acc0", 0],
      [1, "acc0", 1_000],
      [2, "acc1", 1],
      [3, "acc0", 2],
    ])
  }),
)

virtualTest(
  "Scheduler: accounts keep their own pace: one whose calls answer late is not pulled onto another's slots",
  Effect.gen(function* () {
    // Two channels, each on its own account at 1/s: acc0's calls take 800 ms, acc1's 100 ms and start at 0.5 s. acc1
    // reserves its next slot (at x.5 s) before acc0 asks for its own (at x.0 s), which once made acc0 wait for it.
    const pool = yield* makeScheduler(names(2), settings({ rpsPerAccount: 1 }))
    const calls: Array<Call> = []
    const chain = (account: string, millis: number) =>
      Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) => pool.run("history", recorder(calls, millis)(i), undefined, new Set([account])),
        { discard: true },
      )
    yield* runFor(11, [chain("acc0", 800), Effect.delay(chain("acc1", 100), Duration.millis(500))])
    const times = (account: string) => calls.filter((c) => c.account === account).map((c) => c.at)
    assertEquals(times("acc0"), Array.from({ length: 10 }, (_, i) => i * 1_000))
    assertEquals(times("acc1"), Array.from({ length: 10 }, (_, i) => 500 + i * 1_000))
  }),
)
