/** The request log kept in memory: a ring buffer of the latest requests, numbered from 1. */
import type { LogEntry, RequestLog } from "./Control.ts"

/**
 * Keeps the last `capacity` entries. Sequence numbers start at 1 and only grow (`clear` empties the buffer but does not
 * reset them, so a poller's `since` stays valid).
 */
export class MemoryRequestLog implements RequestLog {
  private readonly ring: Array<LogEntry | undefined>
  /** Index in `ring` of the oldest entry. */
  private head = 0
  private size = 0
  private seq = 0

  constructor(readonly capacity: number = 200_000) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError("capacity must be a positive integer")
    this.ring = new Array<LogEntry | undefined>(capacity)
  }

  get lastSeq(): number {
    return this.seq
  }

  /** Number of entries held now. */
  get length(): number {
    return this.size
  }

  append(entry: Omit<LogEntry, "seq">): void {
    const stored: LogEntry = { seq: ++this.seq, ...entry }
    if (this.size < this.capacity) {
      this.ring[(this.head + this.size) % this.capacity] = stored
      this.size++
    } else {
      this.ring[this.head] = stored
      this.head = (this.head + 1) % this.capacity
    }
  }

  since(since: number, method?: string): ReadonlyArray<LogEntry> {
    const firstSeq = this.seq - this.size + 1
    const after = Number.isFinite(since) ? Math.floor(since) : 0
    const skip = Math.min(this.size, Math.max(0, after - firstSeq + 1))
    const out: Array<LogEntry> = []
    for (let i = skip; i < this.size; i++) {
      const entry = this.ring[(this.head + i) % this.capacity]!
      if (method === undefined || entry.method === method) out.push(entry)
    }
    return out
  }

  clear(): void {
    this.ring.fill(undefined)
    this.head = 0
    this.size = 0
  }
}
