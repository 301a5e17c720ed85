/**
 * Deno.test for Effect programs: `effectTest` runs the effect scoped on the real clock (real I/O) and fails with the
 * pretty Cause; `virtualTest` runs it on virtual time (TestClock), where `runFor` advances the clock.
 */
import { Cause, Duration, Effect, Exit, Fiber, type Scope } from "effect"
import { TestClock } from "effect/testing"

export interface EffectTestOptions {
  readonly ignore?: boolean
  readonly sanitizeOps?: boolean
  readonly sanitizeResources?: boolean
}

/** Runs `effect` in a fresh scope; a failure or defect rejects with `Cause.pretty` as the message. */
export async function runEffect<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> {
  const exit = await Effect.runPromiseExit(Effect.scoped(effect))
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(Cause.pretty(exit.cause))
}

export function effectTest<A, E>(
  name: string,
  effect: Effect.Effect<A, E, Scope.Scope>,
  options: EffectTestOptions = {},
): void {
  Deno.test({ name, ...options, fn: () => runEffect(effect).then(() => undefined) })
}

/** Deno.test on virtual time (TestClock): nothing sleeps for real; `runFor` or `TestClock.adjust` moves the clock. */
export const virtualTest = <E>(name: string, body: Effect.Effect<void, E, Scope.Scope>): void =>
  Deno.test(name, () => runEffect(body.pipe(Effect.provide(TestClock.layer()))))

/** Runs every effect concurrently while virtual time advances by `seconds`, in 100 ms steps; their results. */
export const runFor = <A, E>(seconds: number, effects: ReadonlyArray<Effect.Effect<A, E>>) =>
  Effect.gen(function* () {
    const fibers = yield* Effect.forEach(effects, (e) => Effect.forkChild(e))
    for (let t = 0; t < seconds * 10; t++) yield* TestClock.adjust(Duration.millis(100))
    return yield* Effect.forEach(fibers, (f) => Fiber.join(f))
  })
