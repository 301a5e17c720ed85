/**
 * Reads of the edit and deletion log (migration 10's `post_versions`, written by its triggers alone) and of what the
 * deletion probe asks Telegram about.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type ChainBreak, type ChainEntry, type ChainKind, ChainVerifier } from "../domain/Chain.ts"
import { StoreError } from "../domain/Errors.ts"

export interface ChainHead {
  readonly seq: number
  readonly hash: string
}

interface EntryRow {
  readonly channel_id: string | number
  readonly seq: string | number
  readonly msg_id: number
  readonly kind: ChainKind
  readonly content_hash: string
  readonly text: string
  readonly entities: string
  readonly media_identity: string | null
  readonly edit_ms: number | null
  readonly seen_ms: number
  readonly prev_hash: string
  readonly hash: string
}

export class ChainRepo extends Context.Service<ChainRepo, {
  /** Channels with a chain (a head), ascending. */
  channels(): Effect.Effect<ReadonlyArray<number>, StoreError>
  /** The recorded end of a channel's chain; undefined when it has none. */
  head(channelId: number): Effect.Effect<ChainHead | undefined, StoreError>
  /** Up to `limit` entries of a channel's chain after `afterSeq`, in seq order. */
  entries(channelId: number, afterSeq: number, limit: number): Effect.Effect<ReadonlyArray<ChainEntry>, StoreError>
  /** Stored posts of a channel that are not deleted, ascending ids (what the deletion probe asks about). */
  liveMsgIds(channelId: number): Effect.Effect<ReadonlyArray<number>, StoreError>
}>()("tgpulse/store/ChainRepo") {
  static readonly layer = Layer.effect(
    ChainRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const channels = Effect.fn("mtproto.db.ChainRepo.channels")(
        function* () {
          const rows = yield* sql<{ channel_id: string | number }>`
            SELECT channel_id FROM post_chain_heads ORDER BY channel_id`
          return rows.map((r) => Number(r.channel_id))
        },
        StoreError.mapError("ChainRepo.channels"),
      )

      const head = Effect.fn("mtproto.db.ChainRepo.head")(
        function* (channelId: number) {
          const [row] = yield* sql<{ seq: string | number; hash: string }>`
            SELECT seq, hash FROM post_chain_heads WHERE channel_id = ${channelId}::int8`
          return row ? { seq: Number(row.seq), hash: row.hash } : undefined
        },
        StoreError.mapError("ChainRepo.head"),
      )

      const entries = Effect.fn("mtproto.db.ChainRepo.entries")(
        function* (channelId: number, afterSeq: number, limit: number) {
          // Times as exact epoch milliseconds (extract is numeric): the canonical form has them to the millisecond.
          const rows = yield* sql<EntryRow>`
            SELECT channel_id, seq, msg_id, kind, content_hash, text, entities, media_identity,
              (extract(epoch FROM edit_date) * 1000)::float8 AS edit_ms,
              (extract(epoch FROM seen_at) * 1000)::float8 AS seen_ms, prev_hash, hash
            FROM post_versions
            WHERE channel_id = ${channelId}::int8 AND seq > ${afterSeq}::int8
            ORDER BY seq
            LIMIT ${limit}::int4`
          return rows.map(toEntry)
        },
        StoreError.mapError("ChainRepo.entries"),
      )

      const liveMsgIds = Effect.fn("mtproto.db.ChainRepo.liveMsgIds")(
        function* (channelId: number) {
          const rows = yield* sql<{ msg_id: number }>`
            SELECT msg_id FROM posts WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL ORDER BY msg_id`
          return rows.map((r) => r.msg_id)
        },
        StoreError.mapError("ChainRepo.liveMsgIds"),
      )

      return ChainRepo.of({ channels, head, entries, liveMsgIds })
    }),
  )
}

function toEntry(r: EntryRow): ChainEntry {
  return {
    channelId: Number(r.channel_id),
    seq: Number(r.seq),
    msgId: r.msg_id,
    kind: r.kind,
    contentHash: r.content_hash,
    text: r.text,
    entities: r.entities,
    mediaIdentity: r.media_identity,
    editDate: r.edit_ms === null ? null : new Date(Number(r.edit_ms)).toISOString(),
    seenAt: new Date(Number(r.seen_ms)).toISOString(),
    prevHash: r.prev_hash,
    hash: r.hash,
  }
}

/** How many entries a check reads at a time. */
const PAGE = 5000

/**
 * Verifies one channel's stored chain in TypeScript, page by page (every hash recomputed, seqs gap-free, links, the
 * head): the number of entries, or the first break. With `onPage` (an export), every page of the chain is handed to it
 * as it is read, the pages after a break too; without, the reading stops at the break.
 */
export const verifyStoredChain = <E = never>(
  channelId: number,
  onPage?: (page: ReadonlyArray<ChainEntry>) => Effect.Effect<void, E>,
) =>
  Effect.gen(function* () {
    const repo = yield* ChainRepo
    const verifier = new ChainVerifier(channelId)
    let broken: ChainBreak | undefined
    let count = 0
    let after = 0
    while (true) {
      const page = yield* repo.entries(channelId, after, PAGE)
      if (onPage) yield* onPage(page)
      for (const entry of page) {
        if (broken) break
        broken = verifier.push(entry)
        count = verifier.count
      }
      if ((broken && !onPage) || page.length < PAGE) break
      after = page[page.length - 1]!.seq
    }
    return { count, broken: broken ?? verifier.finish(yield* repo.head(channelId)) }
  })
