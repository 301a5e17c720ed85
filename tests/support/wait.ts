/** Waiting in tests: a plain sleep, and polling a condition until it holds or a deadline passes. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every `everyMs` (100) until it is true; a check that throws counts as false. Fails after `ms` with
 * "timed out waiting for <what>".
 */
export async function until(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}
