/** The push log kept in memory: a ring buffer of the latest pushed (or withheld) updates, numbered from 1. */
import type { PushEntry } from "./Control.ts"
import { SeqRing } from "./SeqRing.ts"

/** Entries the push log keeps by default. */
export const PUSH_LOG_SIZE = 100_000

/** Keeps the last `capacity` entries; sequence numbers start at 1 and only grow, so a poller's `since` stays valid. */
export class PushLog {
  private readonly ring: SeqRing<PushEntry>

  constructor(readonly capacity: number = PUSH_LOG_SIZE) {
    this.ring = new SeqRing(capacity)
  }

  get lastSeq(): number {
    return this.ring.lastSeq
  }

  /** Number of entries held now. */
  get length(): number {
    return this.ring.length
  }

  append(entry: Omit<PushEntry, "seq">): PushEntry {
    return this.ring.append(entry)
  }

  /** Entries with seq > since, oldest first; only `channelId`'s when given. */
  since(since: number, channelId?: number): ReadonlyArray<PushEntry> {
    return this.ring.since(since, channelId === undefined ? undefined : (e) => e.channelId === channelId)
  }
}
