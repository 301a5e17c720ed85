/**
 * Keeps GramJS off Deno's localStorage. GramJS caches its parsed TL schema (1.4 MB) there under one unversioned key
 * shared by every script of this project: after an upgrade of `telegram` it would keep the old schema, and parallel
 * processes (test workers) writing it at once fail with "database is locked". The cache buys nothing measurable
 * (loading GramJS took 102 ms with it, 105 ms without), and tgpulse uses no localStorage, so this module hides it. It
 * must be evaluated before GramJS: import it first, or `--preload` it.
 */
if ("localStorage" in globalThis) {
  Object.defineProperty(globalThis, "localStorage", { value: undefined, configurable: true, writable: true })
}
