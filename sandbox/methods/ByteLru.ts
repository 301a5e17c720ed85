/**
 * A small LRU of serialized answers bounded by entries and bytes, that takes an answer the second time it is asked
 * for: getHistory pages are replayed many times by benchmarks and tests, but a client reading a channel end to end asks
 * for each page once, and caching those would only turn every page into long-lived garbage (each evicts an older one).
 */
export class ByteLru {
  private readonly map = new Map<string, Uint8Array>()
  private bytes = 0
  /** Keys asked for once lately and not cached, oldest first (at most `maxEntries`). */
  private readonly askedOnce = new Set<string>()

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  /** Offers the answer to `key`: kept if `key` was offered once lately (or is cached), else only remembered. */
  set(key: string, value: Uint8Array): void {
    const old = this.map.get(key)
    if (old !== undefined) {
      this.bytes -= old.length
      this.map.delete(key)
    } else if (!this.askedOnce.delete(key)) {
      this.askedOnce.add(key)
      if (this.askedOnce.size > this.maxEntries) this.askedOnce.delete(this.askedOnce.values().next().value!)
      return
    }
    this.map.set(key, value)
    this.bytes += value.length
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next()
      if (first.done) break
      this.bytes -= this.map.get(first.value)!.length
      this.map.delete(first.value)
    }
  }

  get size(): number {
    return this.map.size
  }

  /** Bytes of the answers held. */
  get byteSize(): number {
    return this.bytes
  }
}
