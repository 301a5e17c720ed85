/**
 * Waiting in tests for something observable to happen: a condition polled until it holds. The deadline only ends a
 * test that is failing (a wait that never ends); it is never a measure of speed, so it is generous whatever the
 * caller asks: at least PATIENCE_MS, enough for a loaded 2-core machine.
 */

/** The shortest deadline of any wait. */
export const PATIENCE_MS = 120_000

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every `everyMs` (100) until it is true; a check that throws counts as false. Fails after
 * max(`ms`, PATIENCE_MS) with "timed out waiting for <what>".
 */
export async function until(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + Math.max(ms, PATIENCE_MS)
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await pause(everyMs)
  }
}

/** `promise`'s value, or a failure "timed out waiting for <what>" after PATIENCE_MS (a wait that never ends). */
export async function settled<A>(promise: Promise<A>, what: string): Promise<A> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), PATIENCE_MS)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}
