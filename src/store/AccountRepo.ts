/** The `accounts` table: each pool account's status, health, counters and quarantine; never its session. */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"

export type AccountStatusName = "new" | "healthy" | "cooling" | "backoff" | "quarantined"

export interface AccountRow {
  readonly name: string
  readonly status: AccountStatusName
  readonly health: number
  /** Calls made by this account over every run. */
  readonly requests: number
  readonly floodWaits: number
  readonly floodSeconds: number
  readonly quarantineReason: string | null
  /** The proxy it last connected through, credentials masked. */
  readonly proxy: string | null
  /** Which session the quarantine belongs to (see `sessionFingerprint`). */
  readonly sessionFingerprint: string | null
}

/** What one run adds to an account's row: the same fields, but requests and flood counters are deltas since the last save. */
export interface AccountUpdate extends Omit<AccountRow, "status" | "sessionFingerprint"> {
  readonly status: Exclude<AccountStatusName, "new">
  readonly sessionFingerprint: string
}

interface Row {
  readonly name: string
  readonly status: AccountStatusName
  readonly health: number
  readonly requests: string
  readonly flood_waits: string
  readonly flood_seconds: string
  readonly quarantine_reason: string | null
  readonly proxy: string | null
  readonly session_fingerprint: string | null
}

export class AccountRepo extends Context.Service<AccountRepo, {
  readonly list: Effect.Effect<ReadonlyArray<AccountRow>, StoreError>
  /** Every (account, channel id) -> that account's own access hash (decimal string). */
  readonly peerHashes: Effect.Effect<
    ReadonlyArray<{ account: string; channelId: number; accessHash: string }>,
    StoreError
  >
  /** Remembers an account's own access hash of a channel. */
  savePeerHash(account: string, channelId: number, accessHash: string): Effect.Effect<void, StoreError>
  /** Upserts every account's state in one statement, adding the counters. */
  save(updates: ReadonlyArray<AccountUpdate>): Effect.Effect<void, StoreError>
}>()("tgpulse/store/AccountRepo") {
  static readonly layer = Layer.effect(
    AccountRepo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const list = Effect.map(
        sql<Row>`
          SELECT name, status, health, requests::text AS requests, flood_waits::text AS flood_waits,
            flood_seconds::text AS flood_seconds, quarantine_reason, proxy,
            session_fingerprint
          FROM accounts ORDER BY name`,
        (rows) =>
          rows.map((r): AccountRow => ({
            name: r.name,
            status: r.status,
            health: Number(r.health),
            requests: Number(r.requests),
            floodWaits: Number(r.flood_waits),
            floodSeconds: Number(r.flood_seconds),
            quarantineReason: r.quarantine_reason,
            proxy: r.proxy,
            sessionFingerprint: r.session_fingerprint,
          })),
      ).pipe(StoreError.mapError("AccountRepo.list"), Effect.withSpan("AccountRepo.list"))

      const save = Effect.fn("mtproto.db.AccountRepo.save")(
        function* (updates: ReadonlyArray<AccountUpdate>) {
          if (updates.length === 0) return
          yield* sql`
            INSERT INTO accounts AS a (
              name, status, health, requests, flood_waits, flood_seconds, quarantine_reason, quarantined_at, proxy,
              session_fingerprint, last_used_at
            )
            SELECT u.name, u.status, u.health, u.requests, u.flood_waits, u.flood_seconds, u.quarantine_reason,
              CASE WHEN u.status = 'quarantined' THEN now() END, u.proxy, u.session_fingerprint,
              CASE WHEN u.requests > 0 THEN now() END
            FROM jsonb_to_recordset(${JSON.stringify(updates.map(snake))}::jsonb) AS u(
              name text, status text, health real, requests int8, flood_waits int8, flood_seconds int8,
              quarantine_reason text, proxy text, session_fingerprint text
            )
            ON CONFLICT (name) DO UPDATE SET
              status = excluded.status,
              health = excluded.health,
              requests = a.requests + excluded.requests,
              flood_waits = a.flood_waits + excluded.flood_waits,
              flood_seconds = a.flood_seconds + excluded.flood_seconds,
              quarantine_reason = excluded.quarantine_reason,
              quarantined_at = CASE
                WHEN excluded.status <> 'quarantined' THEN NULL
                ELSE coalesce(a.quarantined_at, excluded.quarantined_at)
              END,
              proxy = coalesce(excluded.proxy, a.proxy),
              session_fingerprint = excluded.session_fingerprint,
              last_used_at = coalesce(excluded.last_used_at, a.last_used_at),
              updated_at = now()`
        },
        StoreError.mapError("AccountRepo.save"),
      )

      const peerHashes = Effect.map(
        sql<{ account: string; channel_id: string; access_hash: string }>`
          SELECT account, channel_id::text, access_hash::text FROM account_peers`,
        (rows) => rows.map((r) => ({ account: r.account, channelId: Number(r.channel_id), accessHash: r.access_hash })),
      ).pipe(StoreError.mapError("AccountRepo.peerHashes"), Effect.withSpan("AccountRepo.peerHashes"))

      const savePeerHash = Effect.fn("mtproto.db.AccountRepo.savePeerHash")(
        function* (account: string, channelId: number, accessHash: string) {
          yield* sql`
            INSERT INTO account_peers (account, channel_id, access_hash)
            VALUES (${account}, ${channelId}::int8, ${accessHash}::int8)
            ON CONFLICT (account, channel_id) DO UPDATE SET access_hash = excluded.access_hash, resolved_at = now()`
        },
        StoreError.mapError("AccountRepo.savePeerHash"),
      )

      return AccountRepo.of({ list, save, peerHashes, savePeerHash })
    }),
  )
}

const snake = (u: AccountUpdate) => ({
  name: u.name,
  status: u.status,
  health: u.health,
  requests: u.requests,
  flood_waits: u.floodWaits,
  flood_seconds: u.floodSeconds,
  quarantine_reason: u.quarantineReason,
  proxy: u.proxy,
  session_fingerprint: u.sessionFingerprint,
})
