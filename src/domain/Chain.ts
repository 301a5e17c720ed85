/**
 * The per-channel hash chain of post versions and deletions (migration 10), recomputed without the database: the
 * canonical form of an entry, its hash, and a verifier that takes a channel's entries in order and names the first
 * one that is wrong. An exported chain (one entry per JSON line) is verified by the same code.
 */
import { createHash } from "node:crypto"

export type ChainKind = "version" | "deleted"

/** One entry as stored in `post_versions` (times as ISO 8601 UTC with milliseconds, or null). */
export interface ChainEntry {
  readonly channelId: number
  readonly seq: number
  readonly msgId: number
  readonly kind: ChainKind
  readonly contentHash: string
  readonly text: string
  readonly entities: string
  readonly mediaIdentity: string | null
  readonly editDate: string | null
  readonly seenAt: string
  readonly prevHash: string
  readonly hash: string
}

/**
 * The string an entry's hash is the SHA-256 of (UTF-8): prev_hash, channel_id, seq, msg_id, kind, content_hash,
 * edit_date, seen_at, media_identity, entities, text joined by "\n"; null as "". The text is last: its own newlines
 * cannot shift the other fields.
 */
export function canonicalEntry(entry: Omit<ChainEntry, "hash">): string {
  return [
    entry.prevHash,
    String(entry.channelId),
    String(entry.seq),
    String(entry.msgId),
    entry.kind,
    entry.contentHash,
    entry.editDate ?? "",
    entry.seenAt,
    entry.mediaIdentity ?? "",
    entry.entities,
    entry.text,
  ].join("\n")
}

/** The lowercase hex SHA-256 of the entry's canonical form. */
export function entryHash(entry: Omit<ChainEntry, "hash">): string {
  return createHash("sha256").update(canonicalEntry(entry), "utf8").digest("hex")
}

/** What is wrong with a chain: its first bad entry (or where one is missing) and why. */
export interface ChainBreak {
  readonly channelId: number
  readonly seq: number
  readonly msgId: number | null
  readonly reason: "content" | "link" | "gap" | "tail"
  readonly message: string
}

/**
 * Checks one channel's entries, pushed in seq order (a page at a time if need be): seqs from 1 without a gap, each
 * entry's prev_hash the hash of the one before ("" for the first), each hash recomputed from its fields; `finish`
 * compares the end with the channel's recorded head, when there is one (a cut-off tail). The first break wins.
 */
export class ChainVerifier {
  private expectedSeq = 1
  private prevHash = ""
  private broken: ChainBreak | undefined
  count = 0

  constructor(readonly channelId: number) {}

  /** Checks the next entry; returns the chain's first break once there is one. */
  push(entry: ChainEntry): ChainBreak | undefined {
    if (this.broken) return this.broken
    const at = { channelId: this.channelId, seq: entry.seq, msgId: entry.msgId }
    if (entry.channelId !== this.channelId) {
      return this.fail({ ...at, reason: "link", message: `entry of channel ${entry.channelId} in this chain` })
    }
    if (entry.seq !== this.expectedSeq) {
      return this.fail({
        ...at,
        seq: this.expectedSeq,
        msgId: null,
        reason: "gap",
        message: entry.seq > this.expectedSeq
          ? `gap: seq ${this.expectedSeq}${
            entry.seq - 1 > this.expectedSeq ? `..${entry.seq - 1}` : ""
          } missing (next is seq ${entry.seq})`
          : `gap: seq ${entry.seq} out of order (expected ${this.expectedSeq})`,
      })
    }
    if (entry.prevHash !== this.prevHash) {
      return this.fail({ ...at, reason: "link", message: "link to previous broken: prev_hash is not its hash" })
    }
    if (entryHash(entry) !== entry.hash) {
      return this.fail({ ...at, reason: "content", message: "content does not match its hash" })
    }
    this.expectedSeq++
    this.prevHash = entry.hash
    this.count++
    return undefined
  }

  /** The first break, including a chain that ends before its recorded head (`head`: its seq and hash). */
  finish(head?: { readonly seq: number; readonly hash: string }): ChainBreak | undefined {
    if (this.broken || !head) return this.broken
    if (head.seq !== this.count || head.hash !== this.prevHash) {
      return this.fail({
        channelId: this.channelId,
        seq: this.count + 1,
        msgId: null,
        reason: "tail",
        message: head.seq > this.count
          ? `gap: seq ${this.count + 1}..${head.seq} missing at the end (the head is at seq ${head.seq})`
          : `the head (seq ${head.seq}) does not match the last entry (seq ${this.count})`,
      })
    }
    return undefined
  }

  private fail(b: ChainBreak): ChainBreak {
    this.broken = b
    return b
  }
}

/** One entry as a line of an exported chain (JSON, snake_case as in the table). */
export function entryToJson(e: ChainEntry): string {
  return JSON.stringify({
    channel_id: e.channelId,
    seq: e.seq,
    msg_id: e.msgId,
    kind: e.kind,
    content_hash: e.contentHash,
    text: e.text,
    entities: e.entities,
    media_identity: e.mediaIdentity,
    edit_date: e.editDate,
    seen_at: e.seenAt,
    prev_hash: e.prevHash,
    hash: e.hash,
  })
}

/** A line of an exported chain; a clear error for a line that is not one. */
export function entryFromJson(line: string): ChainEntry {
  const o = JSON.parse(line) as Record<string, unknown>
  const str = (k: string) => {
    if (typeof o[k] !== "string") throw new Error(`field ${k}: expected a string`)
    return o[k] as string
  }
  const int = (k: string) => {
    if (typeof o[k] !== "number" || !Number.isSafeInteger(o[k])) throw new Error(`field ${k}: expected an integer`)
    return o[k] as number
  }
  const strOrNull = (k: string) => (o[k] === null ? null : str(k))
  const kind = str("kind")
  if (kind !== "version" && kind !== "deleted") throw new Error(`field kind: expected "version" or "deleted"`)
  return {
    channelId: int("channel_id"),
    seq: int("seq"),
    msgId: int("msg_id"),
    kind,
    contentHash: str("content_hash"),
    text: str("text"),
    entities: str("entities"),
    mediaIdentity: strOrNull("media_identity"),
    editDate: strOrNull("edit_date"),
    seenAt: str("seen_at"),
    prevHash: str("prev_hash"),
    hash: str("hash"),
  }
}
