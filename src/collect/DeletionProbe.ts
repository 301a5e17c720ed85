/**
 * The deletion probe: deletions found without live updates. Each sweep asks Telegram once about every stored, not
 * deleted post of the channels (channels.getMessages, 100 ids a call, through the account pool), its calls evenly
 * spaced over the sweep period; a messageEmpty answer for a stored post is its deletion, recorded as live deletions
 * are (PostRepo.markDeleted, then settleDeletions), so the edit and deletion log chains it.
 */
import { Clock, Context, Duration, Effect, Layer } from "effect"
import { callSpacingMs, deletedIds, planSweep, type ProbeCall } from "../domain/DeletionPlan.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { PeerRef } from "../domain/Refs.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import { ChainRepo } from "../store/ChainRepo.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { PostRepo } from "../store/PostRepo.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import { describeChannel, describePeer, failureMessage, makeResolver } from "./Peers.ts"

export interface ProbeSweep {
  /** channels.getMessages calls made. */
  readonly calls: number
  /** Stored posts asked about. */
  readonly probed: number
  /** Posts found deleted (and recorded). */
  readonly deleted: number
  /** Channels that failed this sweep (named, with the reason). */
  readonly failed: ReadonlyArray<string>
}

/**
 * Runs `f` on each item in turn, waiting `spacingMs` after each one it ran (`f` answers whether it did): calls evenly
 * spaced, and a sweep that spans its period.
 */
export const pace = <A, E, R>(
  items: ReadonlyArray<A>,
  spacingMs: number,
  f: (item: A) => Effect.Effect<boolean, E, R>,
): Effect.Effect<void, E, R> =>
  Effect.forEach(
    items,
    (item) =>
      Effect.flatMap(f(item), (ran) => (ran && spacingMs > 0 ? Effect.sleep(Duration.millis(spacingMs)) : Effect.void)),
    { discard: true },
  )

export class DeletionProbe extends Context.Service<DeletionProbe, {
  /**
   * One sweep over `refs`: every stored live post asked about once, the calls `periodMs / calls` apart (0: at once).
   * A channel that fails is named in `failed`; the others go on.
   */
  sweepOnce(
    refs: ReadonlyArray<PeerRef>,
    periodMs: number,
  ): Effect.Effect<ProbeSweep, StoreError | PoolError | Error>
  /** Sweeps one after the other, each spread over `periodSec` (a failed sweep is logged, the next one runs). */
  run(
    refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>,
    periodSec: number,
  ): Effect.Effect<never, StoreError | PoolError | Error>
}>()("tgpulse/collect/DeletionProbe") {
  static readonly layer = Layer.effect(
    DeletionProbe,
    Effect.gen(function* () {
      const telegram = yield* TelegramClient
      const channels = yield* ChannelRepo
      const posts = yield* PostRepo
      const chain = yield* ChainRepo
      const resolve = makeResolver(telegram, channels)

      /** One call: the ids Telegram answered messageEmpty for are recorded deleted; how many. */
      const probe = (channel: ChannelInfo, call: ProbeCall) =>
        Effect.gen(function* () {
          const answer = yield* telegram.getMessagesByIds(channel, call.ids)
          const deleted = deletedIds(call.ids, answer)
          if (deleted.length === 0) return 0
          const at = new Date(yield* Clock.currentTimeMillis)
          yield* posts.markDeleted(channel.id, deleted, at)
          yield* posts.settleDeletions(channel.id, deleted)
          yield* Effect.logInfo("deletions found by the probe").pipe(
            Effect.annotateLogs({ channel: channel.id, deleted: deleted.length }),
          )
          return deleted.length
        })

      const sweepOnce = Effect.fn("mtproto.collector.deletionProbe")(function* (
        refs: ReadonlyArray<PeerRef>,
        periodMs: number,
      ) {
        const failed: Array<string> = []
        const resolved: Array<{ readonly channel: ChannelInfo; readonly ids: ReadonlyArray<number> }> = []
        for (const ref of refs) {
          const result = yield* Effect.exit(
            Effect.flatMap(
              resolve(ref),
              (channel) => Effect.map(chain.liveMsgIds(channel.id), (ids) => ({ channel, ids })),
            ),
          )
          if (result._tag === "Failure") failed.push(`${describePeer(ref)}: ${failureMessage(result.cause)}`)
          else resolved.push(result.value)
        }
        const byId = new Map(resolved.map((r) => [r.channel.id, r.channel]))
        const calls = planSweep(resolved.map((r) => ({ channelId: r.channel.id, ids: r.ids })))
        const spacing = callSpacingMs(calls.length, periodMs)
        const broken = new Set<number>()
        let deleted = 0
        let made = 0
        let probed = 0
        yield* pace(calls, spacing, (call) =>
          Effect.gen(function* () {
            if (broken.has(call.channelId)) return false
            const channel = byId.get(call.channelId)!
            const result = yield* Effect.exit(probe(channel, call))
            made++
            if (result._tag === "Failure") {
              broken.add(call.channelId)
              const message = failureMessage(result.cause)
              failed.push(`${describeChannel(channel)}: ${message}`)
              yield* Effect.logWarning("deletion probe failed for a channel").pipe(
                Effect.annotateLogs({ channel: channel.id, error: message }),
              )
            } else {
              deleted += result.value
              probed += call.ids.length
            }
            return true
          }))
        return { calls: made, probed, deleted, failed }
      })

      const run = (refs: ReadonlyArray<PeerRef> | Effect.Effect<ReadonlyArray<PeerRef>>, periodSec: number) => {
        const periodMs = periodSec * 1000
        const sweep = Effect.gen(function* () {
          const started = yield* Clock.currentTimeMillis
          const r = yield* sweepOnce(Effect.isEffect(refs) ? yield* refs : refs, periodMs)
          yield* Effect.logInfo("deletion probe sweep done").pipe(
            Effect.annotateLogs({ calls: r.calls, probed: r.probed, deleted: r.deleted, failed: r.failed.length }),
          )
          // A sweep with few calls (or none) still waits out its period before the next one.
          const elapsed = (yield* Clock.currentTimeMillis) - started
          if (elapsed < periodMs) yield* Effect.sleep(Duration.millis(periodMs - elapsed))
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("deletion probe sweep failed").pipe(
              Effect.annotateLogs({ error: failureMessage(cause) }),
              Effect.andThen(Effect.sleep(Duration.millis(periodMs))),
            )
          ),
        )
        return Effect.forever(sweep)
      }

      return DeletionProbe.of({ sweepOnce, run })
    }),
  )
}
