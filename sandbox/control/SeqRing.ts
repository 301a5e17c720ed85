/** A ring buffer of the latest entries, numbered from 1: the sandbox's request log and push log. */

/**
 * Keeps the last `capacity` entries. Sequence numbers start at 1 and only grow (`clear` empties the buffer but does not
 * reset them, so a poller's `since` stays valid).
 */
export class SeqRing<T extends { readonly seq: number }> {
  private readonly ring: Array<T | undefined>
  /** Index in `ring` of the oldest entry. */
  private head = 0
  private size = 0
  private seq = 0

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError("capacity must be a positive integer")
    this.ring = new Array<T | undefined>(capacity)
  }

  get lastSeq(): number {
    return this.seq
  }

  /** Number of entries held now. */
  get length(): number {
    return this.size
  }

  append(entry: Omit<T, "seq">): T {
    const stored = { seq: ++this.seq, ...entry } as T
    if (this.size < this.capacity) {
      this.ring[(this.head + this.size) % this.capacity] = stored
      this.size++
    } else {
      this.ring[this.head] = stored
      this.head = (this.head + 1) % this.capacity
    }
    return stored
  }

  /** Entries with seq > since, oldest first, that pass `keep`. */
  since(since: number, keep?: (entry: T) => boolean): ReadonlyArray<T> {
    const firstSeq = this.seq - this.size + 1
    const after = Number.isFinite(since) ? Math.floor(since) : 0
    const skip = Math.min(this.size, Math.max(0, after - firstSeq + 1))
    const out: Array<T> = []
    for (let i = skip; i < this.size; i++) {
      const entry = this.ring[(this.head + i) % this.capacity]!
      if (keep === undefined || keep(entry)) out.push(entry)
    }
    return out
  }

  clear(): void {
    this.ring.fill(undefined)
    this.head = 0
    this.size = 0
  }
}
