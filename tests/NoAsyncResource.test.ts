/** src/NoAsyncResource.ts: Effect finds no AsyncResource in node:async_hooks; everything else there is untouched. */
import "../src/NoAsyncResource.ts"
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks"
import { assert, assertEquals } from "./support/assert.ts"

Deno.test("NoAsyncResource: getBuiltinModule hides AsyncResource only", () => {
  const process = (globalThis as unknown as { process: { getBuiltinModule(name: string): Record<string, unknown> } })
    .process
  const hooks = process.getBuiltinModule("node:async_hooks")
  assertEquals(hooks.AsyncResource, undefined)
  assertEquals(process.getBuiltinModule("async_hooks").AsyncResource, undefined)
  assertEquals(hooks.AsyncLocalStorage, AsyncLocalStorage)
  assert(typeof AsyncResource === "function", "a plain import still gets it")
  assert(typeof process.getBuiltinModule("node:path").join === "function")
})
