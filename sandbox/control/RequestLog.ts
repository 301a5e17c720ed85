/** The request log kept in memory: a ring buffer of the latest requests, numbered from 1. */
import type { LogEntry, RequestLog } from "./Control.ts"
import { SeqRing } from "./SeqRing.ts"

/**
 * Keeps the last `capacity` entries. Sequence numbers start at 1 and only grow (`clear` empties the buffer but does not
 * reset them, so a poller's `since` stays valid).
 */
export class MemoryRequestLog implements RequestLog {
  private readonly ring: SeqRing<LogEntry>

  constructor(readonly capacity: number = 200_000) {
    this.ring = new SeqRing(capacity)
  }

  get lastSeq(): number {
    return this.ring.lastSeq
  }

  /** Number of entries held now. */
  get length(): number {
    return this.ring.length
  }

  append(entry: Omit<LogEntry, "seq">): void {
    this.ring.append(entry)
  }

  since(since: number, method?: string): ReadonlyArray<LogEntry> {
    return this.ring.since(since, method === undefined ? undefined : (e) => e.method === method)
  }

  clear(): void {
    this.ring.clear()
  }
}
