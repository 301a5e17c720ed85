/**
 * Test support: a sandbox per test (or per Effect scope) and calls to its admin API. The helpers are the sandbox
 * package's own test support (one copy for both suites); this adds the Effect-scoped form.
 */
import { Effect } from "effect"
import type { SandboxOptions } from "@tgpulse/sandbox"
import { startSandbox } from "../../sandbox/tests/support/sandbox.ts"

export { admin, type LogLine, sandboxTest, startSandbox } from "../../sandbox/tests/support/sandbox.ts"

/** A sandbox for the current Effect scope (stopped when it closes). */
export const scopedSandbox = (options: SandboxOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startSandbox(options)),
    (s) => Effect.promise(() => s.stop()),
  )
