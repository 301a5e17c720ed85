/**
 * Keeps Effect from wrapping every fiber resumption in a Node `AsyncResource`. Effect 4.1 asks
 * `process.getBuiltinModule("node:async_hooks")` for AsyncResource once, when it loads, and then creates one each time a
 * fiber suspends, so that AsyncLocalStorage values survive the resumption. Under Deno each such resource keeps the
 * previous one alive: a fiber that lives as long as the process (the live intake, the writer, a history walk) builds a
 * chain that is never collected (measured: one fiber taking 174,000 items from a queue ended with 96 MB of heap in use,
 * 17 MB without; `bench updates` grew its heap by ~40 MB a minute at 2,500 updates/s). tgpulse keeps no
 * AsyncLocalStorage (its tracing is Effect's own, carried in fiber context), so nothing is lost. It must be evaluated
 * before Effect: import it first, or `--preload` it (as NoSchemaCache.ts is).
 */
const node = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process
const original = node?.getBuiltinModule?.bind(node)
if (node && original) {
  node.getBuiltinModule = (name: string) => {
    const module = original(name)
    return name === "node:async_hooks" || name === "async_hooks"
      ? { ...(module as Record<string, unknown>), AsyncResource: undefined }
      : module
  }
}
