/**
 * A Telegram in memory behind the AccountConnector port, for tests of the collectors without MTProto: channels whose
 * history pages follow messages.getHistory's offset rules, a pts log replayed by getChannelDifference, and pushed
 * updates through each account's stream. Failures can be scripted per method; every call is recorded. Everything
 * the collectors do not use fails as Unexpected.
 */
import { Effect, Layer, Queue, Stream } from "effect"
import { AccountConnector } from "../../src/pool/AccountConnector.ts"
import type { Post } from "../../src/domain/Post.ts"
import type { AccountClient, AccountSignal, ChannelInfo, HistoryParams } from "../../src/domain/Telegram.ts"
import { TelegramError, type TelegramErrorReason, Unexpected } from "../../src/domain/TelegramError.ts"
import type { PtsEvent } from "../../src/domain/Updates.ts"
import { makePost } from "./posts.ts"

/** A post of channel `channelId` with id `msgId` (text `text`). */
export const fakePost = (channelId: number, msgId: number, text = `post ${msgId}`): Post =>
  makePost(channelId, msgId, { text, views: msgId, forwards: 0 })

export class FakeChannel {
  readonly posts = new Map<number, Post>()
  pts = 1
  /** Every pts change, in order. */
  readonly log: Array<PtsEvent> = []

  constructor(readonly info: ChannelInfo, count: number) {
    for (let id = 1; id <= count; id++) this.posts.set(id, fakePost(info.id, id))
  }

  /** Existing ids, newest first. */
  ids(): Array<number> {
    return [...this.posts.keys()].sort((a, b) => b - a)
  }

  /** Publishes a post (a pts change); returns it. */
  publish(text?: string): PtsEvent {
    const msgId = Math.max(0, ...this.posts.keys(), ...this.log.flatMap((e) => "post" in e ? [e.post.msgId] : [])) + 1
    const post = fakePost(this.info.id, msgId, text)
    this.posts.set(msgId, post)
    return this.change({ _tag: "NewPost", channelId: this.info.id, post, pts: this.pts + 1, ptsCount: 1 })
  }

  /** Deletes posts (one pts change). */
  remove(ids: ReadonlyArray<number>): PtsEvent {
    for (const id of ids) this.posts.delete(id)
    return this.change({
      _tag: "DeletePosts",
      channelId: this.info.id,
      ids,
      pts: this.pts + ids.length,
      ptsCount: ids.length,
    })
  }

  private change(e: PtsEvent): PtsEvent {
    this.pts = e.pts
    this.log.push(e)
    return e
  }

  /** messages.getHistory: `limit` messages from the first below `offsetId` (the newest when 0), moved by `addOffset`. */
  history(p: HistoryParams) {
    const ids = this.ids()
    const below = p.offsetId === 0 ? 0 : ids.findIndex((id) => id < p.offsetId)
    const start = Math.max(0, (below < 0 ? ids.length : below) + p.addOffset)
    const page = ids.slice(start, start + p.limit)
      .filter((id) => id > p.minId && (p.maxId === 0 || id < p.maxId))
    return {
      posts: page.map((id) => this.posts.get(id)!),
      ids: page,
      skipped: 0,
      count: ids.length,
      offsetIdOffset: start,
      pts: this.pts,
    }
  }
}

export interface FakeCall {
  readonly account: string
  readonly method: string
  readonly channelId?: number
}

export class FakeTelegram {
  readonly channels = new Map<number, FakeChannel>()
  readonly calls: Array<FakeCall> = []
  /** Scripted failures: the next calls of a method fail with these reasons, in order. */
  private readonly failures = new Map<string, Array<TelegramErrorReason>>()
  private readonly streams: Array<Queue.Queue<AccountSignal>> = []

  /** Adds channel `id` (username `name`) with posts 1..`count`. */
  channel(id: number, name: string, count: number): FakeChannel {
    const channel = new FakeChannel(
      { id, accessHash: String(id * 7), username: name, title: name, kind: "broadcast", participantsCount: 1_000 },
      count,
    )
    this.channels.set(id, channel)
    return channel
  }

  /** The next `reasons.length` calls of `method` fail, with these reasons in order. */
  failNext(method: string, ...reasons: ReadonlyArray<TelegramErrorReason>): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...reasons])
  }

  /** Pushes `signal` to every connected account's update stream. */
  push(signal: AccountSignal): Effect.Effect<void> {
    return Effect.forEach(this.streams, (q) => Queue.offer(q, signal), { discard: true })
  }

  /** Calls of `method` so far. */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length
  }

  /** The AccountConnector the pool connects its accounts through. */
  readonly connector: Layer.Layer<AccountConnector> = Layer.succeed(AccountConnector)({
    connect: (account) =>
      Effect.map(Queue.bounded<AccountSignal>(1_000), (updates) => {
        this.streams.push(updates)
        return this.client(account.label, Stream.fromQueue(updates))
      }),
  })

  private call<A>(account: string, method: string, channelId: number | undefined, answer: () => A) {
    return Effect.suspend(() => {
      this.calls.push({ account, method, ...(channelId === undefined ? {} : { channelId }) })
      const reason = this.failures.get(method)?.shift()
      return reason ? Effect.fail(new TelegramError({ method, account, reason })) : Effect.sync(answer)
    })
  }

  private find(account: string, method: string, id: number): FakeChannel {
    const channel = this.channels.get(id)
    if (!channel) throw new Error(`${method} on ${account}: no channel ${id}`)
    return channel
  }

  private client(account: string, updates: Stream.Stream<AccountSignal>): AccountClient {
    const unsupported = (method: string) =>
      Effect.fail(
        new TelegramError({ method, account, reason: new Unexpected({ code: 400, errorMessage: "NOT_IN_FAKE" }) }),
      )
    const byName = (username: string) => [...this.channels.values()].find((c) => c.info.username === username)
    return {
      account,
      resolveUsername: (username) =>
        Effect.flatMap(
          this.call(account, "contacts.ResolveUsername", undefined, () => byName(username)),
          (c) => c ? Effect.succeed(c.info) : unsupported("contacts.ResolveUsername"),
        ),
      getChannel: (id) =>
        this.call(account, "channels.GetChannels", id, () => this.find(account, "getChannel", id).info),
      getHistory: (ch, params) =>
        this.call(account, "messages.GetHistory", ch.id, () => this.find(account, "getHistory", ch.id).history(params)),
      // The fake's channels have no discussion group: no post has comments.
      getReplies: (ch) =>
        this.call(account, "messages.GetReplies", ch.id, () => {
          this.find(account, "getReplies", ch.id)
          return { comments: [], ids: [], count: 0, offsetIdOffset: undefined, groupId: undefined }
        }),
      getFullChannel: (ch) =>
        this.call(account, "channels.GetFullChannel", ch.id, () => ({
          canViewStats: false,
          statsDc: null,
          participantsCount: 1_000,
          pts: this.find(account, "getFullChannel", ch.id).pts,
        })),
      getChannelDifference: (ch, pts, limit) =>
        this.call(account, "updates.GetChannelDifference", ch.id, () => {
          const channel = this.find(account, "getChannelDifference", ch.id)
          const events = channel.log.filter((e) => e.pts > pts).slice(0, limit)
          const to = events.at(-1)?.pts ?? channel.pts
          return events.length === 0 ? { _tag: "Empty" as const, pts: channel.pts, final: true, timeout: undefined } : {
            _tag: "Difference" as const,
            pts: to,
            final: to === channel.pts,
            timeout: undefined,
            posts: [],
            events,
          }
        }),
      getMessagesViews: (ch, ids) =>
        this.call(account, "messages.GetMessagesViews", ch.id, () => {
          const channel = this.find(account, "getMessagesViews", ch.id)
          return ids.flatMap((id) => {
            const post = channel.posts.get(id)
            return post ? [{ msgId: id, views: post.views, forwards: post.forwards, replies: post.replies }] : []
          })
        }),
      getMessagesReactions: (ch) => this.call(account, "messages.GetMessagesReactions", ch.id, () => []),
      getMessagesByIds: (ch, ids) =>
        this.call(account, "channels.GetMessages", ch.id, () => {
          const channel = this.find(account, "getMessagesByIds", ch.id)
          return { found: ids.filter((id) => channel.posts.has(id)), empty: ids.filter((id) => !channel.posts.has(id)) }
        }),
      // Every channel is in every account's dialogs, the highest id first; a page's offset is its last channel.
      getDialogs: (offset, limit) =>
        this.call(account, "messages.GetDialogs", undefined, () => {
          const all = [...this.channels.values()].sort((a, b) => b.info.id - a.info.id)
          const from = offset.peer === null ? 0 : all.findIndex((c) => c.info.id < offset.peer!.id)
          const page = from < 0 ? [] : all.slice(from, from + limit)
          const last = page.at(-1)
          const more = last !== undefined && all.indexOf(last) < all.length - 1 && page.length === limit
          return {
            channels: page.map((c) => ({ channel: c.info, admin: false })),
            size: page.length,
            next: more
              ? {
                date: 0,
                id: last.ids()[0] ?? 0,
                peer: { kind: "channel" as const, id: last.info.id, accessHash: last.info.accessHash },
              }
              : undefined,
          }
        }),
      checkChatInvite: () => unsupported("messages.CheckChatInvite"),
      importChatInvite: () => unsupported("messages.ImportChatInvite"),
      broadcastStats: () => unsupported("stats.GetBroadcastStats"),
      megagroupStats: () => unsupported("stats.GetMegagroupStats"),
      loadAsyncGraph: () => unsupported("stats.LoadAsyncGraph"),
      messageStats: () => unsupported("stats.GetMessageStats"),
      publicForwards: () => unsupported("stats.GetMessagePublicForwards"),
      updates,
      homeDc: () => 2,
      connect: Effect.void,
      proxy: () => null,
    }
  }
}

/** A session string of the right shape (dc 2, a 256-byte key) for MTPROTO_ACCOUNTS: the fake never reads it. */
export const fakeSession = (n: number): string => {
  const host = new TextEncoder().encode("127.0.0.1")
  const bytes = new Uint8Array(3 + host.length + 2 + 256)
  bytes[0] = 2
  new DataView(bytes.buffer).setInt16(1, host.length)
  bytes.set(host, 3)
  new DataView(bytes.buffer).setInt16(3 + host.length, 443)
  bytes.fill(n, 5 + host.length)
  return "1" + btoa(String.fromCharCode(...bytes))
}

/** The environment of a tgpulse over the fake: `accounts` accounts, fast budgets. */
export const fakeEnv = (accounts: number): Record<string, string> => ({
  TG_API_ID: "1",
  TG_API_HASH: "0123456789abcdef0123456789abcdef",
  MTPROTO_ACCOUNTS: Array.from({ length: accounts }, (_, i) => fakeSession(i + 1)).join(","),
  MTPROTO_POOL_ENABLED: accounts > 1 ? "true" : "false",
  MTPROTO_RPS_PER_ACCOUNT: "1000",
  MTPROTO_GLOBAL_RPS: "10000",
  MTPROTO_MAX_CONCURRENCY_PER_ACCOUNT: "8",
})
