/**
 * Metrics refresh: the counters of posts younger than the schedule's last age are read again on a schedule that thins
 * with age (messages.getMessagesViews with increment = false, 100 ids a call, for views, forwards and replies;
 * messages.getMessagesReactions for reactions), and every refresh is a `post_metrics` snapshot.
 */
import { Clock, Context, Duration, Effect, Layer } from "effect"
import type { CounterChange } from "../domain/Post.ts"
import type { PeerRef } from "../domain/Refs.ts"
import { isDue, maxAgeOf, nextRound, type RefreshTier } from "../domain/Refresh.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { PostRepo } from "../store/PostRepo.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import type { PoolError } from "../telegram/TelegramClient.ts"
import { TelegramClient } from "../telegram/TelegramClient.ts"
import type { StoreError } from "../domain/Errors.ts"
import { describePeer, failureMessage, makeResolver } from "./Peers.ts"
import { Dialogs } from "./Dialogs.ts"

/** Ids per getMessagesViews / getMessagesReactions call. */
export const REFRESH_BATCH = 100

export interface RefreshRound {
  /** Posts whose counters were refreshed (one snapshot each). */
  readonly posts: number
  readonly viewsRequests: number
  readonly reactionsRequests: number
  /** Channels that failed this round (named, with the reason). */
  readonly failed: ReadonlyArray<string>
}

export class MetricsRefresh extends Context.Service<MetricsRefresh, {
  /** One round at `nowSec` (UNIX seconds): every due post of every channel. */
  refreshOnce(
    refs: ReadonlyArray<PeerRef>,
    tiers: ReadonlyArray<RefreshTier>,
    nowSec: number,
  ): Effect.Effect<RefreshRound, StoreError | PoolError | Error>
  /**
   * Rounds on the schedule's grid until interrupted (a failed round is logged, the next one runs), each over `refs`:
   * the channels, or an effect that names them at each round (those a cluster runner owns then).
   */
  run(
    refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>,
    tiers: ReadonlyArray<RefreshTier>,
  ): Effect.Effect<never, StoreError | PoolError | Error>
}>()("tgpulse/collect/MetricsRefresh") {
  static readonly layer = Layer.effect(
    MetricsRefresh,
    Effect.gen(function* () {
      const telegram = yield* TelegramClient
      const channels = yield* ChannelRepo
      const posts = yield* PostRepo
      const resolve = makeResolver(telegram, channels, yield* Dialogs)

      /** One channel's due posts, in batches of 100: counters then reactions, stored with one snapshot each. */
      const refreshChannel = (channel: ChannelInfo, tiers: ReadonlyArray<RefreshTier>, nowSec: number) =>
        Effect.gen(function* () {
          const candidates = yield* posts.refreshCandidates(channel.id, nowSec - maxAgeOf(tiers))
          const due = candidates.filter((p) => isDue(tiers, p.date, p.refreshedAt, nowSec)).map((p) => p.msgId)
          let refreshed = 0
          let viewsRequests = 0
          let reactionsRequests = 0
          for (let i = 0; i < due.length; i += REFRESH_BATCH) {
            const ids = due.slice(i, i + REFRESH_BATCH)
            const views = yield* telegram.getMessagesViews(channel, ids)
            viewsRequests++
            const reactions = yield* telegram.getMessagesReactions(channel, ids)
            reactionsRequests++
            const counters: Array<CounterChange> = views.map((v) => ({
              msgId: v.msgId,
              views: v.views ?? undefined,
              forwards: v.forwards ?? undefined,
              replies: v.replies ?? undefined,
            }))
            for (const r of reactions) {
              if (r._tag === "Reactions") {
                counters.push({ msgId: r.msgId, reactions: r.reactions, reactionsTotal: r.reactionsTotal })
              }
            }
            refreshed += yield* posts.recordRefresh(channel.id, counters, new Date(nowSec * 1000))
          }
          return { posts: refreshed, viewsRequests, reactionsRequests }
        })

      const refreshOnce = Effect.fn("mtproto.collector.refresh")(function* (
        refs: ReadonlyArray<PeerRef>,
        tiers: ReadonlyArray<RefreshTier>,
        nowSec: number,
      ) {
        let total = { posts: 0, viewsRequests: 0, reactionsRequests: 0 }
        const failed: Array<string> = []
        for (const ref of refs) {
          const result = yield* Effect.exit(
            Effect.flatMap(resolve(ref), (channel) => refreshChannel(channel, tiers, nowSec)),
          )
          if (result._tag === "Failure") {
            const message = failureMessage(result.cause)
            failed.push(`${describePeer(ref)}: ${message}`)
            yield* Effect.logWarning("metrics refresh failed for a channel").pipe(
              Effect.annotateLogs({ channel: describePeer(ref), error: message }),
            )
            continue
          }
          total = {
            posts: total.posts + result.value.posts,
            viewsRequests: total.viewsRequests + result.value.viewsRequests,
            reactionsRequests: total.reactionsRequests + result.value.reactionsRequests,
          }
        }
        return { ...total, failed }
      })

      const run = (
        refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>,
        tiers: ReadonlyArray<RefreshTier>,
      ) => {
        const round = Effect.gen(function* () {
          const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
          const r = yield* refreshOnce(Effect.isEffect(refs) ? yield* refs : refs, tiers, now)
          if (r.posts > 0) {
            yield* Effect.logInfo("metrics refreshed").pipe(
              Effect.annotateLogs({ posts: r.posts, requests: r.viewsRequests + r.reactionsRequests }),
            )
          }
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("metrics refresh round failed").pipe(Effect.annotateLogs({ error: failureMessage(cause) }))
          ),
        )
        // A round, then a sleep until the next slot of the grid (nextRound), forever.
        const untilNextRound = Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.sleep(Duration.millis(nextRound(tiers, now) - now)),
        )
        return Effect.forever(Effect.andThen(round, untilNextRound))
      }

      return MetricsRefresh.of({ refreshOnce, run })
    }),
  )
}
