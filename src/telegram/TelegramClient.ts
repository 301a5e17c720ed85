/**
 * The collectors' Telegram: every call runs on an account of the pool (MTPROTO_POOL_ENABLED; otherwise a pool of the
 * first account), within its token buckets and concurrency, moving to another account on FLOOD_WAIT or quarantine.
 * Access hashes are per account on Telegram: an account that refuses the cached one resolves the channel once and
 * keeps (and stores) its own.
 */
import { Context, Effect, Layer, Stream } from "effect"
import type { RepliesPage } from "../domain/Comment.ts"
import type { ProbedIds } from "../domain/DeletionPlan.ts"
import type { ChannelDifference, MetricEvent } from "../domain/Updates.ts"
import type {
  AccountClient,
  AccountSignal,
  ChannelInfo,
  ChannelRef,
  DialogOffset,
  DialogsPage,
  FullChannel,
  HistoryPage,
  HistoryParams,
  InviteCheck,
  NamedChannel,
  PostViews,
} from "../domain/Telegram.ts"
import type { TelegramError } from "../domain/TelegramError.ts"
import { AccountPool, type PoolError } from "../pool/AccountPool.ts"
import type { Lease, MethodClass, RunObserver } from "../pool/Scheduler.ts"
import { AccountRepo } from "../store/AccountRepo.ts"

export type { PoolError } from "../pool/AccountPool.ts"

export class TelegramClient extends Context.Service<TelegramClient, {
  /** The accounts' labels. */
  readonly accounts: ReadonlyArray<string>
  resolveUsername(username: string, observer?: RunObserver): Effect.Effect<ChannelInfo, PoolError>
  getChannel(id: number, accessHash: string, observer?: RunObserver): Effect.Effect<ChannelInfo, PoolError>
  /** One page, on whichever account may call now (with that account's own access hash). */
  getHistory(
    channel: NamedChannel,
    params: HistoryParams,
    observer?: RunObserver,
  ): Effect.Effect<HistoryPage, PoolError>
  /** messages.getReplies, one page of a post's comments, on whichever account may call now. */
  getReplies(
    channel: NamedChannel,
    postId: number,
    params: HistoryParams,
    observer?: RunObserver,
  ): Effect.Effect<RepliesPage & { readonly groupId: number | undefined }, PoolError>
  /** channels.getFullChannel on whichever account may call now. */
  getFullChannel(channel: NamedChannel, observer?: RunObserver): Effect.Effect<FullChannel, PoolError>
  /** updates.getChannelDifference from `pts` (at most `limit` changes), on whichever account may call now. */
  getChannelDifference(
    channel: NamedChannel,
    pts: number,
    limit: number,
    observer?: RunObserver,
  ): Effect.Effect<ChannelDifference, PoolError>
  /** messages.getMessagesViews (increment false) for up to 100 ids. */
  getMessagesViews(
    channel: NamedChannel,
    ids: ReadonlyArray<number>,
    observer?: RunObserver,
  ): Effect.Effect<ReadonlyArray<PostViews>, PoolError>
  /** messages.getMessagesReactions for up to 100 ids. */
  getMessagesReactions(
    channel: NamedChannel,
    ids: ReadonlyArray<number>,
    observer?: RunObserver,
  ): Effect.Effect<ReadonlyArray<MetricEvent>, PoolError>
  /** channels.getMessages for up to 100 ids (the deletion probe), in the "other" method class. */
  getMessagesByIds(
    channel: NamedChannel,
    ids: ReadonlyArray<number>,
    observer?: RunObserver,
  ): Effect.Effect<ProbedIds, PoolError>
  /** messages.getDialogs on `account` (its own dialog list), one page, within that account's "other" budget. */
  getDialogs(
    account: string,
    offset: DialogOffset,
    limit: number,
    observer?: RunObserver,
  ): Effect.Effect<DialogsPage, PoolError>
  /** messages.checkChatInvite on `account`. */
  checkChatInvite(account: string, hash: string, observer?: RunObserver): Effect.Effect<InviteCheck, PoolError>
  /** messages.importChatInvite on `account`: it joins the channel. */
  importChatInvite(account: string, hash: string, observer?: RunObserver): Effect.Effect<ChannelInfo, PoolError>
  /**
   * From now on, calls on channel `channelId` run only on these accounts (a private channel: its members, learned from
   * their dialogs or an invite); other channels run on any account.
   */
  readableBy(channelId: number, accounts: ReadonlyArray<string>): void
  /** `account`'s own access hash of a channel, learned from its dialogs (used for its calls on that channel). */
  knowHash(account: string, channelId: number, accessHash: string): void
  /**
   * Every update any account's connection receives (the same update arrives once per member account: the pts rules
   * drop the copies), and Connected when an account (re)connects, with the account it came from.
   */
  readonly updates: Stream.Stream<{ readonly account: string; readonly signal: AccountSignal }>
  /**
   * Runs `call` on the named account only (e.g. a channel's admin, for its statistics), within that account's budget
   * for `methodClass`, with that account's own access hash of `channel` (resolved once, as for getHistory).
   */
  onAccount<A>(
    account: string,
    methodClass: MethodClass,
    channel: NamedChannel,
    call: (client: AccountClient, channel: ChannelRef) => Effect.Effect<A, TelegramError>,
    observer?: RunObserver,
  ): Effect.Effect<A, PoolError>
}>()("tgpulse/telegram/TelegramClient") {
  static readonly layer = Layer.effect(
    TelegramClient,
    Effect.gen(function* () {
      const pool = yield* AccountPool
      const repo = yield* AccountRepo
      /** (account, channel id) -> that account's own access hash, where it differs from the cached one. */
      const ownHashes = new Map<string, string>(
        (yield* repo.peerHashes).map((p) => [`${p.account}\u0000${p.channelId}`, p.accessHash]),
      )

      /**
       * Runs `call` with the lease's own access hash of `channel`. When the account rejects the cached one
       * (CHANNEL_INVALID), it resolves the channel by username once, keeps (and stores) its own hash, and `call` runs
       * again with it.
       */
      const withOwnHash = <A>(
        lease: Lease<AccountClient>,
        channel: NamedChannel,
        call: (channel: ChannelRef) => Effect.Effect<A, TelegramError>,
      ): Effect.Effect<A, TelegramError> => {
        const key = `${lease.name}\u0000${channel.id}`
        const own = ownHashes.get(key)
        const first = call({ id: channel.id, accessHash: own ?? channel.accessHash })
        const username = channel.username
        if (own !== undefined || !username) return first
        return first.pipe(
          Effect.catchIf(
            (e) => e.reason._tag === "PeerUnavailable" && e.reason.errorMessage === "CHANNEL_INVALID",
            (invalid) =>
              lease.client.resolveUsername(username).pipe(
                Effect.flatMap((info) => {
                  if (info.id !== channel.id) return Effect.fail(invalid)
                  ownHashes.set(key, info.accessHash)
                  return repo.savePeerHash(lease.name, channel.id, info.accessHash).pipe(
                    Effect.catch((e) =>
                      Effect.logWarning("could not save an account's access hash").pipe(
                        Effect.annotateLogs({ account: lease.name, error: e.message }),
                      )
                    ),
                    Effect.andThen(call({ id: channel.id, accessHash: info.accessHash })),
                  )
                }),
              ),
          ),
        )
      }

      /** A call of `methodClass` on any account, with that account's own access hash of `channel`. */
      const onChannel = <A>(
        methodClass: MethodClass,
        channel: NamedChannel,
        call: (client: AccountClient, channel: ChannelRef) => Effect.Effect<A, TelegramError>,
        observer: RunObserver | undefined,
        only?: ReadonlySet<string>,
      ) =>
        pool.run(methodClass, (lease) => withOwnHash(lease, channel, (ch) => call(lease.client, ch)), {
          observer,
          only: only ?? readers.get(channel.id),
        })
      /** Channels only some accounts may read (private ones), by id. */
      const readers = new Map<number, ReadonlySet<string>>()
      const onlyOn = (account: string) => new Set([account])

      return TelegramClient.of({
        accounts: pool.accounts,
        resolveUsername: (username, observer) =>
          pool.run("resolve", (lease) => lease.client.resolveUsername(username), { observer }),
        getChannel: (id, accessHash, observer) =>
          pool.run("other", (lease) => lease.client.getChannel(id, accessHash), { observer }),
        getHistory: (channel, params, observer) =>
          onChannel("history", channel, (c, ch) => c.getHistory(ch, params), observer),
        getFullChannel: (channel, observer) => onChannel("full", channel, (c, ch) => c.getFullChannel(ch), observer),
        getReplies: (channel, postId, params, observer) =>
          onChannel("history", channel, (c, ch) => c.getReplies(ch, postId, params), observer),
        getChannelDifference: (channel, pts, limit, observer) =>
          onChannel("updates", channel, (c, ch) => c.getChannelDifference(ch, pts, limit), observer),
        getMessagesViews: (channel, ids, observer) =>
          onChannel("views", channel, (c, ch) => c.getMessagesViews(ch, ids), observer),
        getMessagesReactions: (channel, ids, observer) =>
          onChannel("views", channel, (c, ch) => c.getMessagesReactions(ch, ids), observer),
        getMessagesByIds: (channel, ids, observer) =>
          onChannel("other", channel, (c, ch) => c.getMessagesByIds(ch, ids), observer),
        updates: Stream.mergeAll(
          pool.clients.map((c) => Stream.map(c.updates, (signal) => ({ account: c.account, signal }))),
          { concurrency: "unbounded" },
        ),
        getDialogs: (account, offset, limit, observer) =>
          pool.run("other", (lease) => lease.client.getDialogs(offset, limit), { observer, only: onlyOn(account) }),
        checkChatInvite: (account, hash, observer) =>
          pool.run("other", (lease) => lease.client.checkChatInvite(hash), { observer, only: onlyOn(account) }),
        importChatInvite: (account, hash, observer) =>
          pool.run("other", (lease) => lease.client.importChatInvite(hash), { observer, only: onlyOn(account) }),
        knowHash: (account, channelId, accessHash) => void ownHashes.set(`${account}\u0000${channelId}`, accessHash),
        readableBy: (channelId, accounts) => {
          const known = readers.get(channelId)
          readers.set(channelId, new Set([...(known ?? []), ...accounts]))
        },
        onAccount: (account, methodClass, channel, call, observer) =>
          onChannel(methodClass, channel, call, observer, new Set([account])),
      })
    }),
  )
}
