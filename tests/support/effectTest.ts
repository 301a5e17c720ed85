/** Deno.test for Effect programs: runs the effect scoped and fails with the pretty Cause (no TestClock: real I/O). */
import { Cause, Effect, Exit, type Scope } from "effect"

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
