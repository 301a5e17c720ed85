/** The push log kept in memory: a ring buffer of the latest pushed (or withheld) updates, numbered from 1. */
import type { PushEntry } from "./Control.ts"

/** Entries the push log keeps by default. */
export const PUSH_LOG_SIZE = 100_000

/** Keeps the last `capacity` entries; sequence numbers start at 1 and only grow, so a poller's `since` stays valid. */
export class PushLog {
  private readonly ring: Array<PushEntry | undefined>
  /** Index in `ring` of the oldest entry. */
  private head = 0
  private size = 0
  private seq = 0

  constructor(readonly capacity: number = PUSH_LOG_SIZE) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError("capacity must be a positive integer")
    this.ring = new Array<PushEntry | undefined>(capacity)
  }

  get lastSeq(): number {
    return this.seq
  }

  /** Number of entries held now. */
  get length(): number {
    return this.size
  }

  append(entry: Omit<PushEntry, "seq">): PushEntry {
    const stored: PushEntry = { seq: ++this.seq, ...entry }
    if (this.size < this.capacity) {
      this.ring[(this.head + this.size) % this.capacity] = stored
      this.size++
    } else {
      this.ring[this.head] = stored
      this.head = (this.head + 1) % this.capacity
    }
    return stored
  }

  /** Entries with seq > since, oldest first; only `channelId`'s when given. */
  since(since: number, channelId?: number): ReadonlyArray<PushEntry> {
    const firstSeq = this.seq - this.size + 1
    const after = Number.isFinite(since) ? Math.floor(since) : 0
    const skip = Math.min(this.size, Math.max(0, after - firstSeq + 1))
    const out: Array<PushEntry> = []
    for (let i = skip; i < this.size; i++) {
      const entry = this.ring[(this.head + i) % this.capacity]!
      if (channelId === undefined || entry.channelId === channelId) out.push(entry)
    }
    return out
  }
}
