/**
 * Comments: for channels with a linked discussion group, the comments under posts with replies are read with
 * messages.getReplies, each post's thread from its own checkpoint upwards (min_id = the highest comment id stored,
 * oldest page first, every page stored with the checkpoint it reaches in one statement), when its reply count
 * exceeds the comments stored or its slot of the schedule (thinning with the post's age) came. Which posts are due:
 * src/domain/Comment.ts.
 */
import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config.ts"
import { afterPage, type HistoryCursor, planPage } from "../domain/Checkpoint.ts"
import { dueThreads, everyThread, grown, type ThreadState } from "../domain/Comment.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { PeerRef } from "../domain/Refs.ts"
import { maxAgeOf, nextRound, type RefreshTier } from "../domain/Refresh.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { CommentRepo } from "../store/CommentRepo.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import { Dialogs } from "./Dialogs.ts"
import { describeChannel, describePeer, failureMessage, makeResolver } from "./Peers.ts"

/** Posts per getMessagesViews probe (Telegram's maximum). */
const PROBE_BATCH = 100

/** Comments per getReplies page (Telegram's maximum). */
export const REPLIES_PAGE = 100

export interface CommentsRound {
  /** Channels with a discussion group that were read. */
  readonly channels: number
  /** Threads (posts) read. */
  readonly threads: number
  /** messages.getReplies calls. */
  readonly requests: number
  /** messages.getMessagesViews calls asking the reply counts of the posts whose schedule slot came. */
  readonly probes: number
  /** Comments stored for the first time. */
  readonly inserted: number
  /** Comments whose text, entities or reactions changed. */
  readonly updated: number
  /** Channels or threads that failed this round (named, with the reason). */
  readonly failed: ReadonlyArray<string>
}

const EMPTY: CommentsRound = { channels: 0, threads: 0, requests: 0, probes: 0, inserted: 0, updated: 0, failed: [] }

const add = (a: CommentsRound, b: CommentsRound): CommentsRound => ({
  channels: a.channels + b.channels,
  threads: a.threads + b.threads,
  requests: a.requests + b.requests,
  probes: a.probes + b.probes,
  inserted: a.inserted + b.inserted,
  updated: a.updated + b.updated,
  failed: [...a.failed, ...b.failed],
})

export class Comments extends Context.Service<Comments, {
  /** Whether MTPROTO_COMMENTS_ENABLED is on. */
  readonly enabled: boolean
  /**
   * One pass at `nowSec` (UNIX seconds; default: now) over `refs`: every due thread of every channel with a group,
   * on MTPROTO_COMMENTS_SCHEDULE (or `tiers`). Disabled: nothing is read and one line says so. One channel's failure
   * (or one thread's) never stops the others: it is named in `failed`.
   */
  readOnce(
    refs: ReadonlyArray<PeerRef>,
    options?: {
      readonly nowSec?: number
      readonly tiers?: ReadonlyArray<RefreshTier>
      /** Every thread with a reply count looked at, whatever its slot and age (a catch-up). */
      readonly all?: boolean
    },
  ): Effect.Effect<CommentsRound, StoreError>
  /**
   * Passes on the schedule's grid until interrupted, over `refs` (or the channels an effect names at each pass);
   * disabled: one line, then nothing until interrupted.
   */
  run(refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>): Effect.Effect<never>
  /**
   * The discussion group of `channel`: read once with channels.getFullChannel (the group's row stored among the
   * channels, so live updates can follow it), then from the store. None: the channel has no group.
   */
  groupOf(channel: ChannelInfo): Effect.Effect<Option.Option<number>, StoreError | PoolError>
  /**
   * `refs` followed by the discussion groups of those channels (by id: their rows are cached), which live updates then
   * follow too, their new messages stored as comments; `refs` alone when comments are disabled. Each channel's group
   * is read once per process; a channel whose group cannot be read now is followed alone (one line) and asked again
   * next time.
   */
  withGroups(refs: ReadonlyArray<PeerRef>): Effect.Effect<ReadonlyArray<PeerRef>>
  /**
   * When `channelId` is a followed discussion group whose difference is too long (or whose pts was refused): its
   * channels' comments are read instead of a history sync (a group's messages are no posts), and true; false for any
   * other channel.
   */
  catchUpGroup(channelId: number): Effect.Effect<boolean, StoreError>
}>()("tgpulse/collect/Comments") {
  static readonly layer = Layer.effect(
    Comments,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const enabled = config.features.comments
      const schedule = config.comments.schedule
      const telegram = yield* TelegramClient
      const channels = yield* ChannelRepo
      const comments = yield* CommentRepo
      const resolve = makeResolver(telegram, channels, yield* Dialogs)
      const disabled = Effect.logInfo("comments are disabled (MTPROTO_COMMENTS_ENABLED is not true): none are read")

      const groupOf = Effect.fn("Comments.groupOf")(function* (channel: ChannelInfo) {
        const stored = yield* comments.linkedGroup(channel.id)
        if (Option.isSome(stored)) return Option.fromNullishOr(stored.value)
        // A megagroup's linked chat is the channel it discusses, not a group of comments.
        const group = channel.kind === "broadcast" ? (yield* telegram.getFullChannel(channel)).linkedChat : null
        if (group) {
          yield* channels.upsert(group)
        }
        yield* comments.setLinkedGroup(channel.id, group?.id ?? null)
        return Option.fromNullishOr(group?.id)
      })

      /**
       * One post's thread, from its checkpoint upwards: pages of up to 100 comments just above the highest stored id,
       * oldest page first, each stored with the checkpoint it reaches (so a run cut short resumes where it stopped).
       */
      const readThread = (channel: ChannelInfo, groupId: number, thread: ThreadState, nowSec: number) =>
        Effect.gen(function* () {
          let cursor: HistoryCursor = { top: thread.maxCommentId, bottom: 0, done: false }
          let round: CommentsRound = { ...EMPTY, threads: 1 }
          while (true) {
            const plan = planPage("forward", cursor, REPLIES_PAGE)
            const page = yield* telegram.getReplies(channel, thread.postId, plan)
            const outcome = afterPage("forward", cursor, page, plan.limit)
            const stored = yield* comments.storeThread(
              channel.id,
              thread.postId,
              page.groupId ?? groupId,
              // min_id bounds the page on Telegram's side; a comment at or below the cursor is stored already.
              page.comments.filter((c) => c.commentId > cursor.top),
              {
                maxCommentId: outcome.cursor.top,
                reportedCount: page.count,
                discussionMsgId: page.comments.find((c) => c.threadTop !== null)?.threadTop ?? null,
                readAt: new Date(nowSec * 1000),
              },
            )
            cursor = outcome.cursor
            round = {
              ...round,
              requests: round.requests + 1,
              inserted: round.inserted + stored.inserted,
              updated: round.updated + stored.updated,
            }
            if (!outcome.more) return round
          }
        })

      /**
       * The threads of the posts whose schedule slot came that grew: their reply counts asked afresh, 100 posts a
       * call; the others are marked looked at.
       */
      const probe = (channel: ChannelInfo, groupId: number, due: ReadonlyArray<ThreadState>, nowSec: number) =>
        Effect.gen(function* () {
          const fresh = new Map<number, number | null>()
          let probes = 0
          for (let i = 0; i < due.length; i += PROBE_BATCH) {
            const views = yield* telegram.getMessagesViews(channel, due.slice(i, i + PROBE_BATCH).map((t) => t.postId))
            probes++
            for (const v of views) fresh.set(v.msgId, v.replies)
          }
          const read = grown(due, fresh)
          const reading = new Set(read.map((t) => t.postId))
          const looked = due.filter((t) => !reading.has(t.postId)).map((t) => t.postId)
          yield* comments.markLooked(channel.id, groupId, looked, new Date(nowSec * 1000))
          return { read, probes }
        })

      /** One channel's due threads: those whose count grew, then those the probe found grown, one after another. */
      const readChannel = (channel: ChannelInfo, tiers: ReadonlyArray<RefreshTier>, nowSec: number, all: boolean) =>
        Effect.gen(function* () {
          const group = yield* groupOf(channel)
          if (Option.isNone(group)) return EMPTY
          const due = all
            ? everyThread(yield* comments.threads(channel.id, 0))
            : dueThreads(tiers, yield* comments.threads(channel.id, nowSec - maxAgeOf(tiers)), nowSec)
          const probed = yield* probe(channel, group.value, due.filter((t) => t.reason === "schedule"), nowSec)
          let round: CommentsRound = { ...EMPTY, channels: 1, probes: probed.probes }
          for (const thread of [...due.filter((t) => t.reason === "count"), ...probed.read]) {
            const read = yield* Effect.exit(readThread(channel, group.value, thread, nowSec))
            if (read._tag === "Success") {
              round = add(round, read.value)
              continue
            }
            const message = failureMessage(read.cause)
            round = {
              ...round,
              failed: [...round.failed, `${describeChannel(channel)} post ${thread.postId}: ${message}`],
            }
            yield* Effect.logWarning("comments of a post could not be read").pipe(
              Effect.annotateLogs({ post: thread.postId, error: message }),
            )
          }
          return round
        }).pipe(Effect.annotateLogs({ channel: describeChannel(channel), stream: "comments" }))

      const readOnce = Effect.fn("mtproto.collector.comments")(function* (
        refs: ReadonlyArray<PeerRef>,
        options: { readonly nowSec?: number; readonly tiers?: ReadonlyArray<RefreshTier>; readonly all?: boolean } = {},
      ) {
        if (!enabled) {
          yield* disabled
          return EMPTY
        }
        const nowSec = options.nowSec ?? Math.floor((yield* Clock.currentTimeMillis) / 1000)
        let total = EMPTY
        for (const ref of refs) {
          const result = yield* Effect.exit(
            Effect.flatMap(
              resolve(ref),
              (channel) => readChannel(channel, options.tiers ?? schedule, nowSec, options.all === true),
            ),
          )
          if (result._tag === "Success") {
            total = add(total, result.value)
            continue
          }
          const message = failureMessage(result.cause)
          total = { ...total, failed: [...total.failed, `${describePeer(ref)}: ${message}`] }
          yield* Effect.logWarning("comments of a channel could not be read").pipe(
            Effect.annotateLogs({ channel: describePeer(ref), error: message }),
          )
        }
        return total
      })

      const run = (refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>): Effect.Effect<never> => {
        if (!enabled) return Effect.andThen(disabled, Effect.never)
        const pass = Effect.gen(function* () {
          const r = yield* readOnce(Effect.isEffect(refs) ? yield* refs : refs)
          if (r.requests > 0) {
            yield* Effect.logInfo("comments read").pipe(
              Effect.annotateLogs({ threads: r.threads, requests: r.requests, inserted: r.inserted }),
            )
          }
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("comments pass failed").pipe(Effect.annotateLogs({ error: failureMessage(cause) }))
          ),
        )
        const untilNext = Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.sleep(Duration.millis(nextRound(schedule, now) - now)),
        )
        return Effect.forever(Effect.andThen(pass, untilNext))
      }

      /** Each channel's group as read by this process (null: none). */
      const groups = new Map<string, number | null>()
      const withGroups = (refs: ReadonlyArray<PeerRef>): Effect.Effect<ReadonlyArray<PeerRef>> =>
        !enabled ? Effect.succeed(refs) : Effect.gen(function* () {
          const out: Array<PeerRef> = [...refs]
          for (const ref of refs) {
            const key = describePeer(ref)
            if (!groups.has(key)) {
              const read = yield* Effect.exit(
                Effect.flatMap(resolve(ref), (channel) => groupOf(channel)),
              )
              if (read._tag === "Failure") {
                yield* Effect.logWarning("the discussion group of a channel could not be read: followed without").pipe(
                  Effect.annotateLogs({ channel: key, error: failureMessage(read.cause) }),
                )
                continue
              }
              groups.set(key, Option.getOrNull(read.value))
            }
            const group = groups.get(key)
            if (group !== null && group !== undefined && !out.some((r) => r._tag === "Id" && r.id === group)) {
              out.push({ _tag: "Id", id: group })
            }
          }
          return out
        })

      const catchUpGroup = Effect.fn("Comments.catchUpGroup")(function* (channelId: number) {
        const discussed = yield* comments.channelsOfGroup(channelId)
        if (discussed.length === 0) return false
        const r = yield* readOnce(discussed.map((id): PeerRef => ({ _tag: "Id", id })), { all: true })
        yield* Effect.logInfo("discussion group caught up by reading its comments").pipe(
          Effect.annotateLogs({ group: channelId, threads: r.threads, inserted: r.inserted }),
        )
        return true
      })

      return Comments.of({ enabled, readOnce, run, groupOf, withGroups, catchUpGroup })
    }),
  )
}
