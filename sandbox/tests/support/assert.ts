/** Tiny assertion helpers for the sandbox's own tests (the package shares no test code with tgpulse). */
import { inspect, isDeepStrictEqual } from "node:util"

export class AssertionError extends Error {
  override name = "AssertionError"
}

export function assert(condition: unknown, message = "Assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}values differ\n  actual:   ${inspect(actual, { depth: 6 })}\n  expected: ${
        inspect(expected, { depth: 6 })
      }`,
    )
  }
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`${message ? message + ": " : ""}values are equal: ${inspect(actual, { depth: 6 })}`)
  }
}

export async function assertRejects(fn: () => Promise<unknown>, check?: (error: unknown) => void): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    check?.(error)
    return error
  }
  throw new AssertionError("Expected the promise to reject")
}

export function assertThrows(fn: () => unknown, check?: (error: unknown) => void): unknown {
  try {
    fn()
  } catch (error) {
    check?.(error)
    return error
  }
  throw new AssertionError("Expected the function to throw")
}
