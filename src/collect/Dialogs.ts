/**
 * Every channel the accounts can see: each account's dialog list, walked once per run (the first time it is needed),
 * 100 dialogs a page, every page through the account pool on that account (a FLOOD_WAIT is waited out and the same
 * page asked again, never the walk restarted); each page and the next offset are stored together, so a walk cut off
 * resumes in the next run where it stopped. Channels named by id are found here, invite links checked (and joined
 * when asked), and `all` becomes the dialogs' channels. A private channel runs only on the accounts that belong to it.
 */
import { Context, Effect, Layer, Option, Semaphore } from "effect"
import { AppConfig } from "../Config.ts"
import { type ChannelInfo, DIALOGS_START } from "../domain/Telegram.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { PeerRef } from "../domain/Refs.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { DialogRepo, type DialogRow } from "../store/DialogRepo.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import { ChannelUnavailable } from "./Peers.ts"

/** Dialogs per getDialogs page (Telegram's most). Tests make it smaller to page a small world. */
export const DialogPageSize = Context.Reference<number>("tgpulse/collect/DialogPageSize", { defaultValue: () => 100 })

/** A channel of the accounts' dialogs: the accounts that have it, and whether one of them administers it. */
export interface SeenChannel {
  readonly channel: ChannelInfo
  readonly accounts: ReadonlyArray<string>
  readonly admin: boolean
}

export type DialogsError = PoolError | StoreError

/** An invite link as the user may see it in a line: its first characters only (the link lets anyone join). */
export const describeInvite = (hash: string): string => `t.me/+${hash.slice(0, 4)}…`

export class Dialogs extends Context.Service<Dialogs, {
  /** Every account's dialogs' channels, by id (each account's list walked once per run). */
  readonly channels: Effect.Effect<ReadonlyArray<SeenChannel>, DialogsError>
  /** Channel `id` of some account's dialogs (walking them if this run has not yet). */
  find(id: number): Effect.Effect<Option.Option<SeenChannel>, DialogsError>
  /** A cached channel without a username (a private one): its calls run only on the accounts whose dialogs have it. */
  restrict(id: number): Effect.Effect<void, StoreError>
  /**
   * The channel of an invite link: an account that is a member, else, when `join` (default MTPROTO_JOIN_INVITES),
   * the first account joins it; else a ChannelUnavailable that says how to join.
   */
  invite(hash: string, join?: boolean): Effect.Effect<ChannelInfo, DialogsError | ChannelUnavailable>
  /**
   * `refs` with `all` replaced by the dialogs' channels (by id, after the channels named otherwise, each once);
   * `adminOnly`: only those an account administers (statistics).
   */
  expand(
    refs: ReadonlyArray<PeerRef>,
    options?: { readonly adminOnly?: boolean },
  ): Effect.Effect<ReadonlyArray<PeerRef>, DialogsError>
}>()("tgpulse/collect/Dialogs") {
  static readonly layer = Layer.effect(
    Dialogs,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const telegram = yield* TelegramClient
      const repo = yield* DialogRepo
      const channelRepo = yield* ChannelRepo
      const pageSize = Math.max(1, Math.min(100, yield* DialogPageSize))

      /** Calls on private channels only on the accounts that have them. */
      const applyReaders = (rows: ReadonlyArray<DialogRow>) =>
        Effect.sync(() => {
          for (const row of rows) if (!row.channel.username) telegram.readableBy(row.channel.id, [row.account])
        })

      /** One account's walk: from the stored offset of a walk cut off, else from the first page of a new one. */
      const walk = (account: string) =>
        Effect.gen(function* () {
          const stored = yield* repo.walkOf(account)
          const resumed = Option.isSome(stored) && !stored.value.finished ? stored.value : undefined
          const number = resumed?.walk ?? (yield* repo.startWalk(account))
          let offset = resumed?.offset ?? DIALOGS_START
          let pages = resumed?.pages ?? 0
          if (resumed) {
            yield* Effect.logInfo(`resuming the dialog list where the last run stopped (page ${pages + 1})`)
          }
          while (true) {
            const page = yield* telegram.getDialogs(account, offset, pageSize)
            yield* repo.savePage(account, number, page)
            for (const { channel } of page.channels) telegram.knowHash(account, channel.id, channel.accessHash)
            pages++
            if (page.next === undefined) break
            offset = page.next
          }
          yield* Effect.logDebug(`dialog list read: ${pages} pages`)
        }).pipe(Effect.annotateLogs({ account, stream: "dialogs" }), Effect.withSpan("mtproto.collector.dialogs"))

      /**
       * Each account's walk, once per run: a finished walk is reused; a failed one (a flood wait too long) is tried
       * again by the next caller, from the offset it stored.
       */
      const walks = new Map(
        yield* Effect.forEach(telegram.accounts, (account) =>
          Effect.map(Semaphore.make(1), (lock) => {
            let done = false
            const once = lock.withPermit(
              Effect.suspend(() => (done ? Effect.void : Effect.tap(walk(account), () =>
                Effect.sync(() => (done = true))))
              ),
            )
            return [account, once] as const
          })),
      )

      /** Every account walked (once per run); accounts whose walk failed are named, and their stored rows used. */
      const walkAll = Effect.gen(function* () {
        const results = yield* Effect.forEach([...walks.values()], (w) => Effect.result(w), {
          concurrency: "unbounded",
        })
        const failures = results.flatMap((r) => (r._tag === "Failure" ? [r.failure] : []))
        if (failures.length === results.length && failures.length > 0) return yield* Effect.fail(failures[0]!)
        for (const failure of failures) {
          yield* Effect.logWarning("an account's dialog list could not be read: its stored one is used").pipe(
            Effect.annotateLogs({ error: failure.message }),
          )
        }
      })

      const channels: Effect.Effect<ReadonlyArray<SeenChannel>, DialogsError> = Effect.gen(function* () {
        yield* walkAll
        const rows = yield* repo.channelsOf([...walks.keys()])
        yield* applyReaders(rows)
        const byId = new Map<number, SeenChannel>()
        for (const row of rows) {
          const seen = byId.get(row.channel.id)
          byId.set(row.channel.id, {
            channel: row.channel,
            accounts: [...(seen?.accounts ?? []), row.account],
            admin: (seen?.admin ?? false) || row.admin,
          })
        }
        return [...byId.values()]
      })

      const find = (id: number) =>
        Effect.map(channels, (all) => Option.fromNullishOr(all.find((c) => c.channel.id === id)))

      const restrict = (id: number) =>
        Effect.flatMap(
          repo.channelsOf([...walks.keys()]),
          (rows) => applyReaders(rows.filter((r) => r.channel.id === id)),
        )

      const keep = (channel: ChannelInfo, account: string) =>
        Effect.gen(function* () {
          yield* channelRepo.upsert(channel)
          if (!channel.username) telegram.readableBy(channel.id, [account])
          telegram.knowHash(account, channel.id, channel.accessHash)
          return channel
        })

      const invalid = (hash: string) => (e: PoolError): Effect.Effect<never, PoolError | ChannelUnavailable> =>
        e._tag === "TelegramError" && "errorMessage" in e.reason && e.reason.errorMessage.startsWith("INVITE_HASH")
          ? Effect.fail(
            new ChannelUnavailable({
              reason: `The invite link ${describeInvite(hash)} is invalid or expired (${e.reason.errorMessage})`,
            }),
          )
          : Effect.fail(e)

      const invite = (hash: string, join = config.features.joinInvites) =>
        Effect.gen(function* () {
          let found: { readonly title: string } | undefined
          for (const account of walks.keys()) {
            const check = yield* telegram.checkChatInvite(account, hash).pipe(Effect.catch(invalid(hash)))
            if (check._tag === "Member") return yield* keep(check.channel, account)
            if (check.kind === "chat") {
              return yield* new ChannelUnavailable({
                reason: `The invite link ${
                  describeInvite(hash)
                } leads to a basic group ("${check.title}"), not a channel`,
              })
            }
            found ??= check
          }
          const first = [...walks.keys()][0]
          if (!join || first === undefined) {
            return yield* new ChannelUnavailable({
              reason: `No account is a member of "${found?.title ?? "?"}" (invite link ${describeInvite(hash)}): ` +
                "set MTPROTO_JOIN_INVITES=true or pass --join-invites to join it",
            })
          }
          const joined = yield* telegram.importChatInvite(first, hash).pipe(Effect.catch(invalid(hash)))
          yield* Effect.logInfo(`joined "${joined.title}" by its invite link`).pipe(
            Effect.annotateLogs({ account: first }),
          )
          return yield* keep(joined, first)
        })

      const expand = (refs: ReadonlyArray<PeerRef>, options: { readonly adminOnly?: boolean } = {}) =>
        Effect.gen(function* () {
          if (!refs.some((r) => r._tag === "All")) return refs
          const named = refs.filter((r) => r._tag !== "All")
          const ids = new Set(named.flatMap((r) => (r._tag === "Id" ? [r.id] : [])))
          const names = new Set(named.flatMap((r) => (r._tag === "Username" ? [r.username.toLowerCase()] : [])))
          const seen = yield* channels
          const added = seen.filter((c) =>
            (!options.adminOnly || c.admin) && !ids.has(c.channel.id) &&
            !(c.channel.username && names.has(c.channel.username.toLowerCase()))
          ).map((c): PeerRef => ({ _tag: "Id", id: c.channel.id }))
          yield* Effect.logInfo(
            `all: ${added.length} channels of the accounts' dialogs${
              options.adminOnly ? " that an account administers" : ""
            }`,
          )
          return [...named, ...added]
        })

      return Dialogs.of({ channels, find, restrict, invite, expand })
    }),
  )
}
