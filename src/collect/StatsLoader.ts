/**
 * Official statistics of admin-owned channels: per peer an account that may view them (can_view_stats), broadcast or
 * megagroup stats from the channel's stats DC, every graph kept raw and pivoted (daily, hourly), the scalar values,
 * and for posts younger than the period their views graphs and public forwards.
 */
import { Clock, Context, Effect, Layer, Metric, Ref } from "effect"
import * as Metrics from "../observe/Metrics.ts"
import type { PeerRef } from "../domain/Refs.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { ChannelStats, PublicForward, RawGraph } from "../domain/Stats.ts"
import {
  channelWrite,
  FORWARDS_MAX_PAGES,
  FORWARDS_PAGE,
  graphCounts,
  OTHER_KIND,
  type PeerStats,
  pendingPeer,
  type Pivot,
  pivotLoaded,
  postsSince,
  postsToLoad,
  postWrite,
  RELOAD,
} from "../domain/StatsPlan.ts"
import { AccountPool } from "../pool/AccountPool.ts"
import type { RunObserver } from "../pool/Scheduler.ts"
import { ChannelLocks } from "../store/ChannelLocks.ts"
import { ChannelRepo } from "../store/ChannelRepo.ts"
import { StatsRepo } from "../store/StatsRepo.ts"
import type { AccountClient, ChannelInfo, ChannelRef } from "../domain/Telegram.ts"
import { type PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import type { TelegramError } from "../domain/TelegramError.ts"
import { describeChannel, describePeer, forEachPeer, makeResolver } from "./Peers.ts"
import { Dialogs } from "./Dialogs.ts"

export type { PeerStats } from "../domain/StatsPlan.ts"

export interface StatsOptions {
  /** Posts younger than this many days get their own statistics. */
  readonly periodDays: number
  /** Peers loaded at once. */
  readonly concurrency: number
  /** Posts per peer that get their own statistics, newest first; 0: every post of the period. @default 0 */
  readonly postsLimit?: number
}

const isRpc = (e: PoolError | StoreError, ...messages: ReadonlyArray<string>) =>
  e._tag === "TelegramError" && "errorMessage" in e.reason && messages.includes(e.reason.errorMessage)

export class StatsLoader extends Context.Service<StatsLoader, {
  /** Loads every peer (at most `concurrency` at once); one peer's failure never stops the others. */
  loadAll(refs: ReadonlyArray<PeerRef>, options: StatsOptions): Effect.Effect<ReadonlyArray<PeerStats>>
}>()("tgpulse/collect/StatsLoader") {
  static readonly layer = Layer.effect(
    StatsLoader,
    Effect.gen(function* () {
      const telegram = yield* TelegramClient
      const pool = yield* AccountPool
      const channels = yield* ChannelRepo
      const locks = yield* ChannelLocks
      const repo = yield* StatsRepo
      const resolve = makeResolver(telegram, channels, yield* Dialogs)

      /** The first account that may view the channel's statistics, with its stats DC; undefined when none may. */
      const findAdmin = Effect.fn("StatsLoader.findAdmin")(function* (channel: ChannelInfo, observer: RunObserver) {
        const refused: Array<string> = []
        for (const account of telegram.accounts) {
          const full = yield* telegram.onAccount(account, "full", channel, (c, ch) => c.getFullChannel(ch), observer)
            .pipe(
              Effect.map((f) => f as typeof f | undefined),
              Effect.catchIf(
                (e) =>
                  e._tag === "NoAccountAvailable" ||
                  (e._tag === "TelegramError" && e.reason._tag === "PeerUnavailable"),
                (e) =>
                  Effect.as(
                    Effect.logDebug("account cannot see the channel").pipe(
                      Effect.annotateLogs({ account, error: e.message }),
                    ),
                    undefined,
                  ),
              ),
            )
          if (full?.canViewStats) {
            return { account, statsDc: full.statsDc ?? undefined, participants: full.participantsCount }
          }
          refused.push(account)
        }
        return { refused }
      })

      const loadPeer = Effect.fn("mtproto.collector.stats")(function* (
        ref: PeerRef,
        options: StatsOptions,
        cell: Ref.Ref<PeerStats>,
      ) {
        const started = yield* Clock.currentTimeMillis
        const bump = (f: (p: PeerStats) => Partial<PeerStats>) => Ref.update(cell, (p) => ({ ...p, ...f(p) }))
        const observer: RunObserver = {
          attempt: () => bump((p) => ({ requests: p.requests + 1 })),
          floodWait: () => bump((p) => ({ floodWaits: p.floodWaits + 1 })),
        }
        yield* bump(() => ({ status: "running" }))
        const channel = yield* resolve(ref)
        yield* bump(() => ({
          channelId: channel.id,
          channel: describeChannel(channel),
        }))
        // One loader per channel at a time, across processes (until this peer is done).
        yield* locks.lock(channel.id, "stats")

        const admin = yield* findAdmin(channel, observer)
        if ("refused" in admin) {
          const why = `no account may view its statistics (can_view_stats is false for ${admin.refused.join(", ")})`
          yield* channels.upsert({ ...channel, canViewStats: false })
          yield* Effect.logWarning(`statistics skipped: ${why}`)
          return yield* bump(() => ({ status: "skipped", error: why }))
        }
        const account = admin.account
        let dc = admin.statsDc
        yield* channels.upsert({
          ...channel,
          canViewStats: true,
          statsDc: dc ?? null,
          participantsCount: admin.participants,
        })
        yield* bump(() => ({ account, statsDc: dc }))

        /**
         * A statistics call on the admin account, sent to the stats DC. STATS_MIGRATE_X (the DC changed or was not
         * known) is followed once: the call goes to X and X is remembered for the channel.
         */
        const onStatsDc = <A>(
          call: (client: AccountClient, channel: ChannelRef, dc: number | undefined) => Effect.Effect<A, TelegramError>,
        ): Effect.Effect<A, PoolError | StoreError> => {
          const once = () => telegram.onAccount(account, "stats", channel, (c, ch) => call(c, ch, dc), observer)
          return once().pipe(
            Effect.catchIf(
              (e): e is TelegramError =>
                e._tag === "TelegramError" && e.reason._tag === "Migrate" && e.reason.kind === "STATS",
              (e) =>
                Effect.gen(function* () {
                  const to = (e.reason as { dc: number }).dc
                  yield* Effect.logInfo("statistics live on another DC: following STATS_MIGRATE").pipe(
                    Effect.annotateLogs({ from: dc ?? "home", to }),
                  )
                  dc = to
                  yield* bump(() => ({ statsDc: to }))
                  yield* channels.upsert({ ...channel, statsDc: to })
                  return yield* once()
                }),
            ),
          )
        }

        // Broadcast or megagroup stats, as the entity says; the other kind once if Telegram says the kind changed.
        const fetchStats = (kind: "broadcast" | "megagroup") =>
          onStatsDc((c, ch, d) => (kind === "broadcast" ? c.broadcastStats(ch, d) : c.megagroupStats(ch, d)))
        let kind = channel.kind
        const stats: ChannelStats = yield* fetchStats(kind).pipe(
          Effect.catchIf(
            (e) => isRpc(e, ...OTHER_KIND),
            () => {
              kind = kind === "broadcast" ? "megagroup" : "broadcast"
              return fetchStats(kind)
            },
          ),
        )
        yield* bump(() => ({ kind }))

        // Async graphs: loaded on the stats DC; an expired token gets the statistics again, once for the whole peer.
        const refetch = yield* Effect.cached(
          Effect.tap(fetchStats(kind), () => bump((p) => ({ reloads: p.reloads + 1 }))),
        )
        const loadGraph = (
          name: string,
          graph: RawGraph,
          again: Effect.Effect<RawGraph | undefined, PoolError | StoreError>,
        ): Effect.Effect<RawGraph, PoolError | StoreError> => {
          if (graph._tag !== "Async") return Effect.succeed(graph)
          const load = (token: string) => onStatsDc((c, _, d) => c.loadAsyncGraph(token, d))
          return load(graph.token).pipe(
            Effect.catchIf(
              (e) => isRpc(e, ...RELOAD),
              (e) =>
                Effect.gen(function* () {
                  yield* Effect.logInfo("async graph token refused: getting the statistics again").pipe(
                    Effect.annotateLogs({ graph: name, error: e.message }),
                  )
                  const fresh = yield* again
                  if (fresh?._tag === "Async") return yield* load(fresh.token)
                  return fresh ?? { _tag: "Error" as const, error: `${name} missing after a reload` }
                }),
            ),
            Effect.catchIf(
              (e) => isRpc(e, ...RELOAD),
              (e) => Effect.succeed<RawGraph>({ _tag: "Error", error: `async load failed twice: ${e.message}` }),
            ),
            Effect.tap(() => bump((p) => ({ asyncLoaded: p.asyncLoaded + 1 }))),
          )
        }

        const pivots: Array<Pivot> = []
        for (const { name, graph } of stats.graphs) {
          const again = Effect.map(refetch, (s) => s.graphs.find((g) => g.name === name)?.graph)
          pivots.push(pivotLoaded(name, name, graph, yield* loadGraph(name, graph, again)))
        }
        for (const p of pivots) {
          if (p.problem === undefined) continue
          yield* Metric.update(
            Metric.withAttributes(Metrics.errorsTotal, { error_type: "graph_unreadable", component: "stats" }),
            1,
          )
          yield* Effect.logWarning("graph kept raw only").pipe(
            Effect.annotateLogs({ graph: p.raw.key, error: p.problem }),
          )
        }
        const counts = yield* repo.saveChannel(channelWrite(channel.id, kind, stats, pivots))
        yield* bump((p) => ({
          ...graphCounts(pivots),
          rowsChanged: p.rowsChanged + counts.raw + counts.inserted + counts.updated,
        }))

        // Posts younger than the period: their graphs and who reposted them (broadcast channels only).
        if (kind === "broadcast") {
          const nowSec = Math.floor((yield* Clock.currentTimeMillis) / 1000)
          const stored = yield* repo.postsSince(channel.id, postsSince(stats, options.periodDays, nowSec))
          const ids = postsToLoad(stats, stored, options.postsLimit ?? 0)
          for (const msgId of ids) {
            const done = yield* loadPost(msgId).pipe(
              Effect.as(true),
              Effect.catchIf(
                (e) =>
                  e._tag === "TelegramError" && (e.reason._tag === "Unexpected" || e.reason._tag === "PeerUnavailable"),
                (e) =>
                  Effect.as(
                    Effect.logWarning("post statistics failed").pipe(Effect.annotateLogs({ msgId, error: e.message })),
                    false,
                  ),
              ),
            )
            yield* bump((p) => (done ? { posts: p.posts + 1 } : { postErrors: p.postErrors + 1 }))
          }
        }

        function loadPost(msgId: number) {
          return Effect.gen(function* () {
            const fetchPost = onStatsDc((c, ch, d) => c.messageStats(ch, msgId, d))
            const first = yield* fetchPost
            const cached = yield* Effect.cached(fetchPost)
            const pivots: Array<Pivot> = []
            for (const { name, graph } of first.graphs) {
              const again = Effect.map(cached, (s) => s.graphs.find((g) => g.name === name)?.graph)
              pivots.push(pivotLoaded(`post:${msgId}:${name}`, name, graph, yield* loadGraph(name, graph, again)))
            }
            const forwards: Array<PublicForward> = []
            let offset = ""
            for (let page = 0; page < FORWARDS_MAX_PAGES; page++) {
              const got = yield* onStatsDc((c, ch, d) =>
                c.publicForwards(ch, msgId, { offset, limit: FORWARDS_PAGE }, d)
              )
              forwards.push(...got.forwards)
              if (got.nextOffset === undefined || got.forwards.length === 0) break
              offset = got.nextOffset
            }
            const counts = yield* repo.savePost(postWrite(channel.id, msgId, pivots, forwards))
            yield* bump((p) => ({
              forwards: p.forwards + forwards.length,
              rowsChanged: p.rowsChanged + counts.raw + counts.inserted + counts.updated,
            }))
          })
        }

        const ended = yield* Clock.currentTimeMillis
        yield* bump(() => ({ status: "ok", seconds: (ended - started) / 1000 }))
      }, Effect.scoped)

      return StatsLoader.of({
        loadAll: Effect.fn("mtproto.collector.stats.run")(function* (refs, options) {
          const cells = yield* Effect.forEach(refs, (ref) => Ref.make(pendingPeer(describePeer(ref))))
          yield* forEachPeer(
            refs,
            cells,
            { concurrency: options.concurrency, stream: "stats", failed: "statistics failed" },
            (ref, cell) => loadPeer(ref, options, cell),
          )
          yield* pool.saveState
          return yield* Effect.forEach(cells, Ref.get)
        }),
      })
    }),
  )
}
