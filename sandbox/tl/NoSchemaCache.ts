/**
 * Keeps GramJS off Deno's localStorage. GramJS caches its parsed TL schema there under one unversioned key shared by
 * every script of the workspace: after an upgrade of `telegram` it would keep the old schema, and parallel processes
 * (test workers) writing it at once fail with "database is locked". The sandbox uses no localStorage, so this module
 * hides it. It must be evaluated before GramJS: `tl/Tl.ts` imports it first, and the sandbox's tests `--preload` it.
 */
if ("localStorage" in globalThis) {
  Object.defineProperty(globalThis, "localStorage", { value: undefined, configurable: true, writable: true })
}
