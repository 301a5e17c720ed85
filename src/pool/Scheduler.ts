/**
 * The account pool's scheduler (its pure-ish core, on Clock): leases on accounts, a token bucket per (account, method
 * class) and one global bucket, per-account concurrency, flood-wait cooling per (account, method class), quarantine of
 * dead accounts, and backoff with recovery after transient failures. Generic over the account's client, so it knows
 * nothing of GramJS; the AccountPool service runs it over the connected accounts.
 *
 * Every decision (which account, when) is taken in one synchronous step, so it is atomic; the lease it yields is
 * released by `ensuring`, attached in the same uninterruptible step: interruption never leaks a lease or a permit.
 */
import { Clock, Deferred, Duration, Effect, Metric } from "effect"
import { book, cancel, fit, type Ledger, makeLedger, settle } from "./Gcra.ts"
import type { TelegramError } from "../domain/TelegramError.ts"
import { floodWaitSeconds, rateLimitHits } from "../observe/Metrics.ts"
import { formatSeconds, NoAccountAvailable, WAIT_CAUSES, type WaitCause, WaitTooLong } from "./PoolErrors.ts"

export { NoAccountAvailable, WaitTooLong } from "./PoolErrors.ts"

/** Budgets are kept apart per kind of call: tripping one never stops the others. */
export const METHOD_CLASSES = ["history", "updates", "views", "full", "stats", "resolve", "other"] as const
export type MethodClass = (typeof METHOD_CLASSES)[number]

export interface PoolSettings {
  /** Sustained calls per second per (account, method class). */
  readonly rpsPerAccount: number
  /** Calls per second over the whole pool. */
  readonly globalRps: number
  /** Calls in flight per account. */
  readonly maxConcurrencyPerAccount: number
  /** Calls an idle (account, method class) may make at once before the rate applies. @default 1 */
  readonly burstPerAccount?: number
  /** @default 1 */
  readonly globalBurst?: number
  /** Longest backoff after repeated transient failures, in ms. @default 60_000 */
  readonly maxBackoffMs?: number
  /**
   * Longest wait for a call, in ms (MTPROTO_MAX_FLOOD_WAIT_S): when no account may make it sooner (every eligible
   * one cools after a FLOOD_WAIT, or the budget is that slow), the call fails with WaitTooLong instead of sleeping.
   * @default unlimited
   */
  readonly maxWaitMs?: number
  /**
   * The account the first tie goes to (later ties go round from the last one chosen). Pools of several runners that
   * share accounts start at different ones, so that their calls do not all go to the same few accounts. @default 0
   */
  readonly firstAccount?: number
}

export interface PoolAccount<A> {
  /** A label for logs and metrics (never a phone number or a session). */
  readonly name: string
  readonly client: A
  /** Why the account starts quarantined (remembered from an earlier run); unset for a usable account. */
  readonly quarantined?: string
}

/** Sees every attempt of one `run` (for per-task counters). */
export interface RunObserver {
  /** An attempt is about to be sent on `account`. */
  readonly attempt?: (account: string) => Effect.Effect<void>
  /** The attempt on `account` was answered FLOOD_WAIT `seconds`. */
  readonly floodWait?: (account: string, seconds: number) => Effect.Effect<void>
}

export type AccountState = "healthy" | "cooling" | "backoff" | "quarantined"

export interface AccountStatus {
  readonly name: string
  readonly state: AccountState
  readonly inflight: number
  readonly requests: number
  readonly floodWaits: number
  readonly floodSeconds: number
  /** 1 healthy, lower after transient failures, 0 quarantined. */
  readonly health: number
  readonly quarantineReason: string | null
}

export interface Lease<A> {
  readonly name: string
  readonly client: A
}

export interface Scheduler<A> {
  /**
   * Runs `call` on an account that may make a `methodClass` call now (waiting for one if needed). A FLOOD_WAIT cools
   * that (account, class) until its deadline and the same call runs again, on another account when one is free; a
   * revoked account is quarantined and the call moves on; a transient failure backs the account off and is returned.
   */
  readonly run: <B, E, R>(
    methodClass: MethodClass,
    call: (lease: Lease<A>) => Effect.Effect<B, E | TelegramError, R>,
    observer?: RunObserver,
    /**
     * Only these accounts may make the call (e.g. a channel's admins, for its statistics); the others are not
     * considered, and when every one of these is quarantined the call fails with NoAccountAvailable.
     */
    only?: ReadonlySet<string>,
  ) => Effect.Effect<B, E | TelegramError | NoAccountAvailable | WaitTooLong, R>
  readonly status: Effect.Effect<ReadonlyArray<AccountStatus>>
}

interface Slot<A> {
  readonly account: PoolAccount<A>
  readonly buckets: Record<MethodClass, Ledger>
  readonly coolUntil: Record<MethodClass, number>
  inflight: number
  requests: number
  floodWaits: number
  floodSeconds: number
  failures: number
  backoffUntil: number
  health: number
  quarantine: string | null
}

type Decision<A> =
  | { readonly _tag: "Go"; readonly slot: Slot<A>; readonly at: number }
  | { readonly _tag: "Wait"; readonly until: number }
  | { readonly _tag: "Exhausted"; readonly quarantined: number }
  | { readonly _tag: "TooLong"; readonly at: number; readonly cause: WaitCause }

/** A reserved call whose account can no longer make it. */
const STALE: unique symbol = Symbol("stale")

/** A FLOOD_WAIT this long or longer is not worth waiting for when another account is merely busy. */
const PREFER_BUSY_MS = 1_000

/** A call that must wait this long or longer for its account says so (a long wait is never silent). */
const SAY_WAIT_MS = 10_000

const byClass = <V>(f: () => V): Record<MethodClass, V> =>
  Object.fromEntries(METHOD_CLASSES.map((c) => [c, f()])) as Record<MethodClass, V>

export const makeScheduler = <A>(
  accounts: ReadonlyArray<PoolAccount<A>>,
  settings: PoolSettings,
): Effect.Effect<Scheduler<A>> =>
  Effect.sync(() => {
    const burst = settings.burstPerAccount ?? 1
    const maxBackoff = settings.maxBackoffMs ?? 60_000
    const maxWait = settings.maxWaitMs ?? Number.POSITIVE_INFINITY
    const global = makeLedger(settings.globalRps, settings.globalBurst ?? 1)
    const slots: Array<Slot<A>> = accounts.map((account) => ({
      account,
      buckets: byClass(() => makeLedger(settings.rpsPerAccount, burst)),
      coolUntil: byClass(() => 0),
      inflight: 0,
      requests: 0,
      floodWaits: 0,
      floodSeconds: 0,
      failures: 0,
      backoffUntil: 0,
      health: account.quarantined === undefined ? 1 : 0,
      quarantine: account.quarantined ?? null,
    }))
    // Where the scan starts: just after the account chosen last, so that equally good accounts take turns.
    let next = accounts.length === 0 ? 0 : Math.abs(Math.trunc(settings.firstAccount ?? 0)) % accounts.length
    // Completed (and replaced) whenever a lease is returned or an account changes state: waiters look again.
    let changed = Deferred.makeUnsafe<void>()
    const signal = () => {
      Deferred.doneUnsafe(changed, Effect.void)
      changed = Deferred.makeUnsafe<void>()
    }

    /** Per slot, in scan order: the earliest start its own budget allows (global budget aside). */
    const starts: Array<number> = []

    /**
     * The best account for a call: earliest allowed start, then fewest calls in flight, then best health, then the
     * next in turn. Budgets take reservations in any order of time (Gcra's Ledger), so a call reserved ahead for one
     * account's next slot never holds back another account that may go sooner.
     */
    const decide = (methodClass: MethodClass, now: number, only: ReadonlySet<string> | undefined): Decision<A> => {
      settle(global, now)
      let soonest = Number.POSITIVE_INFINITY
      let eligible = 0
      let live = 0
      let busy = 0
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[(next + k) % slots.length]!
        starts[k] = Number.POSITIVE_INFINITY
        if (only !== undefined && !only.has(slot.account.name)) continue
        eligible++
        if (slot.quarantine !== null) continue
        live++
        if (slot.inflight >= settings.maxConcurrencyPerAccount) {
          busy++
          continue
        }
        const ledger = slot.buckets[methodClass]
        settle(ledger, now)
        starts[k] = fit(ledger, Math.max(now, slot.coolUntil[methodClass], slot.backoffUntil))
        soonest = Math.min(soonest, starts[k]!)
      }
      if (live === 0) return { _tag: "Exhausted", quarantined: eligible }
      // Nothing free, or only a long cooldown while a busy account may be free sooner: wait for a change.
      if (!Number.isFinite(soonest)) return { _tag: "Wait", until: Number.POSITIVE_INFINITY }
      // The global budget's earliest start from the soonest account's on; every account ready by then may take it
      // (fit only ever moves later with a later start).
      const bestAt = fit(global, soonest)
      let best: Slot<A> | undefined
      let bestIndex = 0
      for (let k = 0; k < slots.length; k++) {
        if (!(starts[k]! <= bestAt)) continue
        const index = (next + k) % slots.length
        const slot = slots[index]!
        if (
          best === undefined || slot.inflight < best.inflight ||
          (slot.inflight === best.inflight && slot.health > best.health)
        ) {
          best = slot
          bestIndex = index
        }
      }
      // Never taken: the soonest account's own start is at or before bestAt.
      if (best === undefined) return { _tag: "Wait", until: Number.POSITIVE_INFINITY }
      if (busy > 0 && bestAt - now >= PREFER_BUSY_MS) return { _tag: "Wait", until: bestAt }
      if (bestAt - now > maxWait) return { _tag: "TooLong", at: bestAt, cause: waitCause(best, methodClass, bestAt) }
      book(best.buckets[methodClass], bestAt)
      book(global, bestAt)
      best.inflight++
      next = (bestIndex + 1) % slots.length
      return { _tag: "Go", slot: best, at: bestAt }
    }

    const release = (slot: Slot<A>) =>
      Effect.sync(() => {
        slot.inflight--
        signal()
      })

    /** What a failed call means for its account; true when the same call should run again. */
    const onFailure = (
      slot: Slot<A>,
      methodClass: MethodClass,
      error: unknown,
      now: number,
      observer: RunObserver | undefined,
    ) =>
      Effect.suspend(() => {
        if (!isTelegramError(error)) return Effect.succeed(false)
        const reason = error.reason
        switch (reason._tag) {
          case "FloodWait": {
            slot.floodWaits++
            slot.floodSeconds += reason.seconds
            slot.coolUntil[methodClass] = Math.max(slot.coolUntil[methodClass], now + reason.seconds * 1000)
            signal()
            return Effect.logWarning("flood wait: the account cools for this kind of call").pipe(
              Effect.annotateLogs({ account: slot.account.name, methodClass, seconds: reason.seconds }),
              Effect.andThen(
                Metric.update(Metric.withAttributes(floodWaitSeconds, { account: slot.account.name }), reason.seconds),
              ),
              Effect.andThen(observer?.floodWait?.(slot.account.name, reason.seconds) ?? Effect.void),
              Effect.as(true),
            )
          }
          case "AuthRevoked": {
            if (slot.quarantine !== null) return Effect.succeed(true)
            slot.quarantine = reason.errorMessage
            slot.health = 0
            signal()
            return Effect.logError("account quarantined").pipe(
              Effect.annotateLogs({ account: slot.account.name, reason: reason.errorMessage }),
              Effect.as(true),
            )
          }
          case "Transient":
          case "Timeout": {
            slot.failures++
            slot.health = Math.max(0.05, slot.health * 0.5)
            slot.backoffUntil = now + Math.min(maxBackoff, 1000 * 2 ** (slot.failures - 1))
            signal()
            return Effect.succeed(false)
          }
          default:
            return Effect.succeed(false)
        }
      })

    const onSuccess = (slot: Slot<A>) =>
      Effect.sync(() => {
        slot.failures = 0
        slot.health = Math.min(1, slot.health + 0.25)
      })

    const run = <B, E, R>(
      methodClass: MethodClass,
      call: (lease: Lease<A>) => Effect.Effect<B, E | TelegramError, R>,
      observer?: RunObserver,
      only?: ReadonlySet<string>,
    ): Effect.Effect<B, E | TelegramError | NoAccountAvailable | WaitTooLong, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          while (true) {
            // An interruption that arrived while this fiber was woken is taken here, before it reserves anything.
            yield* restore(Effect.void)
            const now = yield* Clock.currentTimeMillis
            const decision = decide(methodClass, now, only)
            if (decision._tag === "Exhausted") {
              return yield* new NoAccountAvailable({ methodClass, quarantined: decision.quarantined })
            }
            if (decision._tag === "TooLong") {
              return yield* new WaitTooLong({
                methodClass,
                seconds: (decision.at - now) / 1000,
                cause: decision.cause,
                maxSeconds: maxWait / 1000,
              })
            }
            if (decision._tag === "Wait") {
              const wake = Deferred.await(changed)
              yield* restore(
                Number.isFinite(decision.until)
                  ? Effect.raceFirst(wake, Effect.sleep(Duration.millis(decision.until - now)))
                  : wake,
              )
              continue
            }
            const { slot, at } = decision
            if (at > now) yield* Metric.update(Metric.withAttributes(rateLimitHits, { method_class: methodClass }), 1)
            if (at - now >= SAY_WAIT_MS) {
              yield* Effect.logWarning(
                `waiting ${formatSeconds((at - now) / 1000)} for the next ${methodClass} call: ${
                  WAIT_CAUSES[waitCause(slot, methodClass, at)]
                }`,
              ).pipe(Effect.annotateLogs({ account: slot.account.name, methodClass }))
            }
            const lease: Lease<A> = { name: slot.account.name, client: slot.account.client }
            // The slot was reserved ahead; a flood, quarantine or backoff that struck the account meanwhile
            // cancels it (the call is decided again) instead of walking into the same wall.
            let started = false
            const attempt = Effect.gen(function* () {
              if (at > now) yield* Effect.sleep(Duration.millis(at - now))
              const start = yield* Clock.currentTimeMillis
              if (
                slot.quarantine !== null || slot.coolUntil[methodClass] > start || slot.backoffUntil > start
              ) return STALE
              started = true
              slot.requests++
              if (observer?.attempt) yield* observer.attempt(slot.account.name)
              return yield* call(lease)
            })
            const outcome = yield* restore(attempt).pipe(
              Effect.result,
              Effect.ensuring(Effect.suspend(() => {
                // A slot never used goes back to its budgets (unless its time has come and gone).
                if (!started) {
                  cancel(slot.buckets[methodClass], at)
                  cancel(global, at)
                }
                return release(slot)
              })),
            )
            if (outcome._tag === "Success" && outcome.success === STALE) continue
            if (outcome._tag === "Success") {
              yield* onSuccess(slot)
              return outcome.success as B
            }
            const again = yield* onFailure(slot, methodClass, outcome.failure, yield* Clock.currentTimeMillis, observer)
            if (!again) return yield* Effect.fail(outcome.failure)
          }
        })
      )

    const status = Effect.map(Clock.currentTimeMillis, (now) =>
      slots.map((slot): AccountStatus => ({
        name: slot.account.name,
        state: slot.quarantine !== null
          ? "quarantined"
          : slot.backoffUntil > now
          ? "backoff"
          : Object.values(slot.coolUntil).some((t) => t > now)
          ? "cooling"
          : "healthy",
        inflight: slot.inflight,
        requests: slot.requests,
        floodWaits: slot.floodWaits,
        floodSeconds: slot.floodSeconds,
        health: slot.health,
        quarantineReason: slot.quarantine,
      })))

    return { run, status }
  })

/** What holds a slot's call back until `at`: its flood cooling, its backoff, or else the token buckets. */
function waitCause<A>(slot: Slot<A>, methodClass: MethodClass, at: number): WaitCause {
  return slot.coolUntil[methodClass] >= at ? "flood" : slot.backoffUntil >= at ? "backoff" : "budget"
}

function isTelegramError(error: unknown): error is TelegramError {
  return typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "TelegramError"
}
