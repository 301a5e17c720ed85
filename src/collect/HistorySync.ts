/** History sync: per channel a forward catch-up and a backfill walk, each page stored with its checkpoint at once. */
import { Clock, Context, DateTime, Effect, Fiber, Layer, Metric, Option, Ref, Schedule, Schema, Stream } from "effect"
import type { AppConfigShape } from "../Config.ts"
import * as Metrics from "../observe/Metrics.ts"
import type { PeerRef } from "../domain/Refs.ts"
import {
  afterPage,
  type CheckpointStream,
  coversHistory,
  decodeHistoryCursor,
  type HistoryCursor,
  type HistoryWalk,
  type PagePlan,
  planPage,
} from "../domain/Checkpoint.ts"
import type { Post } from "../domain/Post.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { describeChannel, describePeer, forEachPeer, makeResolver } from "./Peers.ts"
import { Dialogs } from "./Dialogs.ts"
import { ChannelLocks } from "../store/ChannelLocks.ts"
import { CheckpointRepo } from "../store/CheckpointRepo.ts"
import { PostRepo } from "../store/PostRepo.ts"
import { AccountPool } from "../pool/AccountPool.ts"
import type { RunObserver } from "../pool/Scheduler.ts"
import type { ChannelInfo, HistoryPage } from "../domain/Telegram.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import type { StoreError } from "../domain/Errors.ts"

/** Posts per getHistory page (Telegram's maximum). */
export const PAGE_SIZE = 100
/** Pages fetched ahead of the one being written (memory: about 0.5 MB each). */
const PREFETCH = 3
const STREAM = "history" satisfies CheckpointStream

/** A database that is away: retry the same page with backoff capped at 5 s, for about a minute. */
const PERSIST_RETRY = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.upTo({ times: 15 }),
)

/** A page answered Transient or Timeout: tried again after 250 ms, doubling, five times. */

/**
 * Times a channel's walk may go back to its stored checkpoint in one run. Each time means the database lost pages it
 * had acknowledged; past this the channel fails (the next run resumes from whatever is stored).
 */
const MAX_RESUMES = 10

/**
 * The database no longer holds the pages this walk stored before: its checkpoint is behind the walk's (a crash lost
 * commits, or a replica took over). The walk goes back to the stored checkpoint.
 */
class CheckpointBehind extends Schema.TaggedError<CheckpointBehind>()("CheckpointBehind", {
  stored: Schema.Struct({ top: Schema.Number, bottom: Schema.Number, done: Schema.Boolean }),
}) {
  override get message(): string {
    return `the database lost stored pages more than ${MAX_RESUMES} times in this run; its checkpoint holds ` +
      `${describeCursor(this.stored)}, where the next run resumes`
  }
}

/** "posts 801 to 1000 (done)", or "nothing" for an unset cursor. */
function describeCursor(c: HistoryCursor): string {
  return c.top === 0 ? "nothing" : `posts ${c.bottom} to ${c.top}${c.done ? " (done)" : ""}`
}

export interface SyncOptions {
  /** Posts fetched per channel per run; 0 means no limit. */
  readonly limitPerRun: number
  /** Channels synced at once. */
  readonly concurrency: number
  /** Tries again of a page that failed in passing, the first after `backoffSeconds`, each next twice as long. */
  readonly retry?: { readonly times: number; readonly backoffSeconds: number }
  /** Seconds to wait after a channel before the next one starts. @default 0 */
  readonly channelPauseSec?: number
  /** Join the channels of invite links no account belongs to. @default MTPROTO_JOIN_INVITES */
  readonly joinInvites?: boolean
}

/** The options of a history run as the configuration sets them. */
export const syncOptionsOf = (config: AppConfigShape): SyncOptions => ({
  limitPerRun: config.history.limitPerRun,
  concurrency: config.history.concurrency,
  retry: { times: config.telegram.retryMax, backoffSeconds: config.telegram.retryBackoffS },
  channelPauseSec: config.history.channelPauseSec,
})

/** Transient failures of a page: 5 tries again from 250 ms unless the options say otherwise. */
const fetchRetry = (options: SyncOptions) =>
  Schedule.exponential((options.retry?.backoffSeconds ?? 0.25) * 1000).pipe(
    Schedule.upTo({ times: options.retry?.times ?? 5 }),
  )

/** Live counters of one channel's sync (also the end-of-run summary; a schema: it crosses runners in a cluster). */
export const ChannelProgress = Schema.Struct({
  channel: Schema.String,
  channelId: Schema.UndefinedOr(Schema.Number),
  total: Schema.UndefinedOr(Schema.Number),
  fetched: Schema.Number,
  inserted: Schema.Number,
  updated: Schema.Number,
  unchanged: Schema.Number,
  skipped: Schema.Number,
  requests: Schema.Number,
  floodWaits: Schema.Number,
  floodSeconds: Schema.Number,
  /** Times the walk went back to the stored checkpoint because the database had lost pages it acknowledged. */
  resumes: Schema.Number,
  seconds: Schema.Number,
  status: Schema.Literals(["pending", "running", "ok", "failed"]),
  error: Schema.UndefinedOr(Schema.String),
})
export interface ChannelProgress extends Schema.Schema.Type<typeof ChannelProgress> {}

/** Updates some counters of a channel's progress. */
const bumper = (progress: Ref.Ref<ChannelProgress>) => (f: (p: ChannelProgress) => Partial<ChannelProgress>) =>
  Ref.update(progress, (p) => ({ ...p, ...f(p) }))

const initial = (ref: PeerRef): ChannelProgress => ({
  channel: describePeer(ref),
  channelId: undefined,
  total: undefined,
  fetched: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  skipped: 0,
  requests: 0,
  floodWaits: 0,
  floodSeconds: 0,
  resumes: 0,
  seconds: 0,
  status: "pending",
  error: undefined,
})

export class HistorySync extends Context.Service<HistorySync, {
  /**
   * Syncs every channel (at most `concurrency` at once) and reports each one's outcome; one channel's failure never
   * stops the others. `onProgress` sees the live counters.
   */
  syncAll(
    refs: ReadonlyArray<PeerRef>,
    options: SyncOptions & { readonly progress?: Ref.Ref<ReadonlyArray<ChannelProgress>> },
  ): Effect.Effect<ReadonlyArray<ChannelProgress>>
}>()("tgpulse/collect/HistorySync") {
  static readonly layer = Layer.effect(
    HistorySync,
    Effect.gen(function* () {
      const telegram = yield* TelegramClient
      const pool = yield* AccountPool
      const channels = yield* ChannelRepo
      const posts = yield* PostRepo
      const checkpoints = yield* CheckpointRepo
      const locks = yield* ChannelLocks

      const resolve = makeResolver(telegram, channels, yield* Dialogs)

      /** Walks one channel from its stored checkpoint (forward catch-up, then backfill) until it is durably stored. */
      const walkChannel = Effect.fnUntraced(function* (
        channel: ChannelInfo,
        options: SyncOptions,
        progress: Ref.Ref<ChannelProgress>,
      ) {
        const bump = bumper(progress)
        let budget = options.limitPerRun > 0 ? options.limitPerRun : Number.POSITIVE_INFINITY
        /** The cursor of the last page this run stored (what the next page continues from). */
        let cursor: HistoryCursor = decodeHistoryCursor(
          Option.getOrUndefined(yield* checkpoints.get(channel.id, STREAM).pipe(Effect.retry(PERSIST_RETRY))),
        )

        /**
         * One page. The pool retries it in place on FLOOD_WAIT (on another account, or after the wait); transient
         * failures are retried here with backoff (the pool also backs the failing account off).
         */
        const observer: RunObserver = {
          attempt: () => bump((p) => ({ requests: p.requests + 1 })),
          floodWait: (_, seconds) =>
            bump((p) => ({ floodWaits: p.floodWaits + 1, floodSeconds: p.floodSeconds + seconds })),
        }
        const transient = (error: PoolError) =>
          error._tag === "TelegramError" && (error.reason._tag === "Transient" || error.reason._tag === "Timeout")
        const fetchPage = (plan: PagePlan): Effect.Effect<HistoryPage, PoolError> =>
          telegram.getHistory(channel, plan, observer).pipe(
            Effect.tapError((error) =>
              transient(error)
                ? Effect.logWarning(`page request failed, trying again: ${error.message}`).pipe(
                  Effect.annotateLogs({ stage: "fetch" }),
                )
                : Effect.void
            ),
            Effect.retry({ schedule: fetchRetry(options), while: transient }),
          )

        /**
         * Stores a page and the checkpoint it reaches in one statement (atomic, one round trip: on a busy event loop
         * every round trip waits for the page being decoded); retried while the database is away. The checkpoint
         * moves only if the stored one still covers `from`, the cursor the page continues: otherwise the database
         * lost earlier pages and the walk fails with CheckpointBehind. Once committed, posts it inserted are settled
         * against live deletions committed at the same moment (PostRepo.settleDeletions).
         */
        const persist = (
          normalized: ReadonlyArray<Post>,
          next: HistoryCursor,
          from: HistoryCursor,
          page: { readonly requestedAt: number; readonly fetchedAt: number; readonly pts: number | undefined },
        ) =>
          Effect.gen(function* () {
            const takenAt = DateTime.toDateUtc(yield* DateTime.now)
            const counts = yield* posts.upsertPage(channel.id, normalized, takenAt, {
              checkpoint: checkpoints.mergeHistory(channel.id, next, { from, pts: page.pts }),
              // What the page holds was read by Telegram after the request went out: versions and deletions
              // committed since then stand against it.
              fetchedAt: new Date(page.requestedAt),
            })
            const done = yield* Clock.currentTimeMillis
            yield* Metric.update(
              Metric.withAttributes(Metrics.batchDuration, { task: STREAM }),
              (done - takenAt.getTime()) / 1000,
            )
            yield* Metric.update(
              Metric.withAttributes(Metrics.postsIngested, { stream: STREAM }),
              counts.inserted + counts.updated,
            )
            yield* Metric.update(
              Metric.withAttributes(Metrics.checkpointLag, { stream: STREAM }),
              (done - page.fetchedAt) / 1000,
            )
            return counts
          }).pipe(
            Effect.tapError((e) =>
              Effect.logWarning("store failed, retrying the page").pipe(
                Effect.annotateLogs({ stage: "persist", error: e.message }),
              )
            ),
            Effect.retry(PERSIST_RETRY),
            Effect.flatMap((counts) =>
              counts.checkpoint === undefined
                ? Effect.flatMap(
                  checkpoints.get(channel.id, STREAM).pipe(Effect.retry(PERSIST_RETRY)),
                  (stored) =>
                    Effect.fail(
                      new CheckpointBehind({ stored: decodeHistoryCursor(Option.getOrUndefined(stored)) }),
                    ),
                )
                : Effect.succeed(counts)
            ),
            // Committed: a live deletion committed meanwhile may have missed the posts this page inserted.
            Effect.tap((counts) =>
              counts.inserted === 0
                ? Effect.void
                : posts.settleDeletions(channel.id, normalized.map((p) => p.msgId)).pipe(
                  Effect.retry(PERSIST_RETRY),
                  Effect.asVoid,
                )
            ),
          )

        /**
         * Walks one direction as a stream: fetch and normalize run ahead of the writer by up to PREFETCH pages (a
         * page's request only needs the previous page's ids), and the writer stores pages in order, each with the
         * cursor that page reached. A failed write stops the fetching; pages fetched but not stored are fetched
         * again by the next run, as their checkpoint never moved.
         */
        const walk = (direction: HistoryWalk): Effect.Effect<void, PoolError | StoreError | CheckpointBehind> => {
          if (budget <= 0) return Effect.void
          let ahead = cursor
          const first: PagePlan = planPage(direction, ahead, Math.min(PAGE_SIZE, budget))
          const pages = Stream.paginate(
            first,
            (plan: PagePlan) =>
              Effect.gen(function* () {
                const requestedAt = yield* Clock.currentTimeMillis
                const page = yield* fetchPage(plan)
                const fetchedAt = yield* Clock.currentTimeMillis
                const outcome = afterPage(direction, ahead, page, plan.limit)
                ahead = outcome.cursor
                budget -= page.ids.length
                const next = outcome.more && budget > 0
                  ? Option.some(planPage(direction, ahead, Math.min(PAGE_SIZE, budget)))
                  : Option.none<PagePlan>()
                return [[{ ...page, cursor: outcome.cursor, requestedAt, fetchedAt }], next] as const
              }),
          )
          return pages.pipe(
            Stream.buffer({ capacity: PREFETCH }),
            Stream.runForEach((page) =>
              persist(page.posts, page.cursor, cursor, page).pipe(
                Effect.flatMap((counts) => {
                  cursor = page.cursor
                  return bump((p) => ({
                    total: page.count,
                    fetched: p.fetched + page.ids.length,
                    inserted: p.inserted + counts.inserted,
                    updated: p.updated + counts.updated,
                    unchanged: p.unchanged + counts.unchanged,
                    skipped: p.skipped + page.skipped,
                  }))
                }),
              )
            ),
          )
        }

        /** Goes back to the stored checkpoint: the database lost pages this run had stored. */
        const resume = (stored: HistoryCursor) =>
          Effect.gen(function* () {
            const { resumes } = yield* Ref.updateAndGet(progress, (p) => ({ ...p, resumes: p.resumes + 1 }))
            if (resumes > MAX_RESUMES) return yield* new CheckpointBehind({ stored })
            yield* Effect.logWarning(
              `the database lost pages it had stored (a crash or a failover): it holds ${describeCursor(stored)}, ` +
                `this run had stored ${describeCursor(cursor)}; going back to the stored checkpoint`,
            ).pipe(Effect.annotateLogs({ stage: "persist" }))
            cursor = stored
          })

        // Forward catch-up, then the backfill; then the checkpoint is read back once it is on disk. A walk is done
        // only when the durable checkpoint covers it: a page the database lost sends the walk back, never past it.
        while (true) {
          const walked = yield* Effect.result(
            Effect.gen(function* () {
              if (cursor.top > 0 || cursor.done) yield* walk("forward")
              if (!cursor.done) yield* walk("backfill")
            }),
          )
          if (walked._tag === "Failure") {
            if (walked.failure._tag !== "CheckpointBehind") return yield* Effect.fail(walked.failure)
            yield* resume(walked.failure.stored)
            continue
          }
          const durable = yield* checkpoints.confirmHistory(channel.id).pipe(Effect.retry(PERSIST_RETRY))
          if (coversHistory(durable, cursor)) break
          yield* resume(durable)
        }
      })

      const syncChannel = Effect.fn("mtproto.collector.history")(function* (
        ref: PeerRef,
        options: SyncOptions,
        progress: Ref.Ref<ChannelProgress>,
      ) {
        const started = yield* Clock.currentTimeMillis
        const bump = bumper(progress)
        yield* bump(() => ({ status: "running" }))
        const channel = yield* resolve(ref, { join: options.joinInvites })
        yield* bump(() => ({
          channelId: channel.id,
          channel: describeChannel(channel),
        }))
        // One writer per channel: another run (another process) syncing it first finishes, then this one goes on
        // from the checkpoint it left (the cursor is read once the lock is held).
        yield* locks.withLock(channel.id, STREAM, walkChannel(channel, options, progress))
        const ended = yield* Clock.currentTimeMillis
        yield* bump(() => ({ status: "ok", seconds: (ended - started) / 1000 }))
      })

      return HistorySync.of({
        syncAll: Effect.fn("mtproto.collector.history.run")(function* (refs, options) {
          const cells = yield* Effect.forEach(refs, (ref) => Ref.make(initial(ref)))
          const publish = options.progress
            ? Effect.gen(function* () {
              const snapshot = yield* Effect.forEach(cells, Ref.get)
              yield* Ref.set(options.progress!, snapshot)
            })
            : Effect.void
          const publisher = yield* Effect.forkChild(
            Effect.repeat(publish, Schedule.spaced("100 millis")),
          )
          yield* forEachPeer(
            refs,
            cells,
            {
              concurrency: options.concurrency,
              stream: STREAM,
              failed: "channel failed",
              pauseSeconds: options.channelPauseSec ?? 0,
            },
            (ref, cell) => syncChannel(ref, options, cell),
          )
          yield* Fiber.interrupt(publisher)
          yield* pool.saveState
          yield* publish
          return yield* Effect.forEach(cells, Ref.get)
        }),
      })
    }),
  )
}
