/**
 * Waiting in tests for something observable to happen: a condition polled until it holds, or a promise. The deadline
 * only ends a test that is failing (a wait that never ends); it is never a measure of speed, so it is generous whatever
 * the caller asks: at least PATIENCE_MS, enough for a loaded 2-core machine. The mechanism is the sandbox package's
 * (`eventually`, `unlessHung`), with tgpulse's longer patience.
 */
import { eventually, unlessHung } from "../../sandbox/tests/support/sandbox.ts"

/** The shortest deadline of any wait. */
export const PATIENCE_MS = 120_000

/**
 * Polls `check` every `everyMs` (100) until it is true; a check that throws counts as false. Fails after
 * max(`ms`, PATIENCE_MS) naming `what`.
 */
export const until = (
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 100,
): Promise<void> => eventually(what, check, { everyMs, ms: Math.max(ms, PATIENCE_MS) })

/** `promise`'s value, or a failure naming `what` after PATIENCE_MS (a wait that never ends). */
export const settled = <A>(promise: Promise<A>, what: string): Promise<A> => unlessHung(what, promise, PATIENCE_MS)
