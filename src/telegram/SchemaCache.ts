/**
 * Guards GramJS's schema cache. GramJS stores its parsed TL schema (1.4 MB) in Deno's localStorage under one
 * unversioned key, shared by every script of this project, so an upgraded `telegram` package would keep parsing
 * with the old schema. This module forgets that cache whenever the resolved package changed; it must be evaluated
 * before GramJS (import it first, or `--preload` it).
 */
const CACHE_KEY = "GramJs:apiCache"
const PACKAGE_KEY = "tgpulse:GramJs:apiCache:package"

const resolved = import.meta.resolve("telegram")
const storage: Storage | undefined = "localStorage" in globalThis ? globalThis.localStorage : undefined
if (storage !== undefined && storage.getItem(PACKAGE_KEY) !== resolved) {
  storage.removeItem(CACHE_KEY)
  storage.setItem(PACKAGE_KEY, resolved)
}
