/** A small LRU of serialized answers bounded by entries and bytes (getHistory pages are replayed many times). */
export class ByteLru {
  private readonly map = new Map<string, Uint8Array>()
  private bytes = 0
  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set(key: string, value: Uint8Array): void {
    const old = this.map.get(key)
    if (old !== undefined) {
      this.bytes -= old.length
      this.map.delete(key)
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
}
