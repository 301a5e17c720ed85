/**
 * Each account's dialog list in SQL (migration 0011): the walk's offset, and the channels it has seen (with their
 * access hashes in `channels`, and the account's own in `account_peers`). A page's channels and the next offset are
 * written in one transaction.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ChannelInfo, DialogOffset, DialogsPage } from "../domain/Telegram.ts"
import { StoreError } from "../domain/Errors.ts"
import { ChannelRepo } from "./ChannelRepo.ts"

/** Where an account's walk stands. */
export interface DialogWalk {
  readonly walk: number
  readonly offset: DialogOffset
  readonly pages: number
  readonly finished: boolean
}

/** A channel of an account's dialogs. */
export interface DialogRow {
  readonly account: string
  readonly channel: ChannelInfo
  readonly admin: boolean
}

interface WalkRow {
  readonly walk: number
  readonly offset_date: number
  readonly offset_id: number
  readonly offset_peer_kind: "channel" | "user" | "chat" | null
  readonly offset_peer_id: string | null
  readonly offset_peer_hash: string | null
  readonly pages: number
  readonly finished: boolean
}

interface Row {
  readonly account: string
  readonly id: string
  readonly access_hash: string | null
  readonly username: string | null
  readonly title: string
  readonly kind: "broadcast" | "megagroup"
  readonly participants_count: number | null
  readonly admin: boolean
}

export class DialogRepo extends Context.Service<DialogRepo, {
  /** The account's walk, if it ever started one. */
  walkOf(account: string): Effect.Effect<Option.Option<DialogWalk>, StoreError>
  /** Starts the account's next walk from the first page; returns its number. */
  startWalk(account: string): Effect.Effect<number, StoreError>
  /**
   * Stores one page of walk `walk`: its channels (in `channels` too, with their access hashes) and the next offset;
   * the last page finishes the walk and forgets the channels no longer in the account's dialogs.
   */
  savePage(account: string, walk: number, page: DialogsPage): Effect.Effect<void, StoreError>
  /** The channels of these accounts' dialogs (every account's when undefined), by channel id then account. */
  channelsOf(accounts?: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<DialogRow>, StoreError>
}>()("tgpulse/store/DialogRepo") {
  static readonly layer = Layer.effect(
    DialogRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const channels = yield* ChannelRepo

      const walkOf = (account: string) =>
        sql<WalkRow>`
          SELECT walk, offset_date, offset_id, offset_peer_kind, offset_peer_id::text AS offset_peer_id,
            offset_peer_hash::text AS offset_peer_hash, pages, finished_at IS NOT NULL AS finished
          FROM dialog_walks WHERE account = ${account}`.pipe(
          Effect.map((rows) =>
            Option.map(Option.fromNullishOr(rows[0]), (r): DialogWalk => ({
              walk: Number(r.walk),
              offset: {
                date: Number(r.offset_date),
                id: Number(r.offset_id),
                peer: r.offset_peer_kind === null
                  ? null
                  : { kind: r.offset_peer_kind, id: Number(r.offset_peer_id), accessHash: r.offset_peer_hash ?? "0" },
              },
              pages: Number(r.pages),
              finished: r.finished === true,
            }))
          ),
          StoreError.mapError("DialogRepo.walkOf"),
        )

      const startWalk = (account: string) =>
        sql<{ readonly walk: number }>`
          INSERT INTO dialog_walks AS w (account, walk) VALUES (${account}, 1)
          ON CONFLICT (account) DO UPDATE SET walk = w.walk + 1, offset_date = 0, offset_id = 0,
            offset_peer_kind = NULL, offset_peer_id = NULL, offset_peer_hash = NULL, pages = 0, started_at = now(),
            finished_at = NULL, updated_at = now()
          RETURNING walk`.pipe(
          Effect.map((rows) => Number(rows[0]!.walk)),
          StoreError.mapError("DialogRepo.startWalk"),
        )

      const savePage = (account: string, walk: number, page: DialogsPage) =>
        sql.withTransaction(Effect.gen(function* () {
          for (const { channel, admin } of page.channels) {
            yield* channels.upsert(channel)
            // The account's own access hash (Telegram's differ per account; `channels` keeps the last one seen).
            yield* sql`
              INSERT INTO account_peers (account, channel_id, access_hash)
              VALUES (${account}, ${channel.id}::int8, ${channel.accessHash}::int8)
              ON CONFLICT (account, channel_id) DO UPDATE SET access_hash = excluded.access_hash, resolved_at = now()`
            yield* sql`
              INSERT INTO dialogs (account, channel_id, admin, walk) VALUES (${account}, ${channel.id}::int8, ${admin},
                ${walk})
              ON CONFLICT (account, channel_id) DO UPDATE SET admin = excluded.admin, walk = excluded.walk,
                seen_at = now()`
          }
          const next = page.next
          if (next === undefined) {
            yield* sql`
              UPDATE dialog_walks SET pages = pages + 1, finished_at = now(), updated_at = now()
              WHERE account = ${account} AND walk = ${walk}`
            yield* sql`DELETE FROM dialogs WHERE account = ${account} AND walk <> ${walk}`
          } else {
            yield* sql`
              UPDATE dialog_walks SET pages = pages + 1, offset_date = ${next.date}, offset_id = ${next.id},
                offset_peer_kind = ${next.peer?.kind ?? null}, offset_peer_id = ${next.peer?.id ?? null}::int8,
                offset_peer_hash = ${next.peer?.accessHash ?? null}::int8, updated_at = now()
              WHERE account = ${account} AND walk = ${walk}`
          }
        })).pipe(StoreError.mapError("DialogRepo.savePage"))

      const channelsOf = (accounts?: ReadonlyArray<string>) =>
        sql<Row>`
          SELECT d.account, c.id::text AS id, c.access_hash::text AS access_hash, c.username, c.title, c.kind,
            c.participants_count, d.admin
          FROM dialogs d JOIN channels c ON c.id = d.channel_id
          ${accounts === undefined ? sql`` : sql`WHERE d.account IN ${sql.in(accounts)}`}
          ORDER BY c.id, d.account`.pipe(
          Effect.map((rows) =>
            rows.map((r): DialogRow => ({
              account: r.account,
              channel: {
                id: Number(r.id),
                accessHash: r.access_hash ?? "0",
                username: r.username,
                title: r.title,
                kind: r.kind,
                participantsCount: r.participants_count,
              },
              admin: r.admin === true,
            }))
          ),
          StoreError.mapError("DialogRepo.channelsOf"),
        )

      return DialogRepo.of({
        walkOf: (account) => walkOf(account).pipe(Effect.withSpan("DialogRepo.walkOf")),
        startWalk: (account) => startWalk(account).pipe(Effect.withSpan("DialogRepo.startWalk")),
        savePage: (account, walk, page) =>
          savePage(account, walk, page).pipe(Effect.withSpan("mtproto.db.DialogRepo.savePage")),
        channelsOf: (accounts) => channelsOf(accounts).pipe(Effect.withSpan("DialogRepo.channelsOf")),
      })
    }),
  )
}
