/** `deno task sync-history`: syncs channel history into PostgreSQL, then prints a summary per channel. */
import { Clock, Console, Effect, Fiber, Option, Ref } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { HistoryLive } from "../App.ts"
import { ExitCode, oneShot } from "../Cli.ts"
import { AppConfig, channelsFor, switchedOffBy } from "../Config.ts"
import { flagAs, peerList } from "./Flags.ts"
import { expandAll } from "./AllPeers.ts"
import { type ChannelProgress, HistorySync, syncOptionsOf } from "../collect/HistorySync.ts"
import { Comments, type CommentsRound } from "../collect/Comments.ts"
import { DeletionProbe, type ProbeSweep } from "../collect/DeletionProbe.ts"
import { cutShortLine, reportProgress, summaryLine, totalLine } from "../collect/Progress.ts"

export const syncHistory = Command.make("sync-history", {
  channels: Flag.String("channels").pipe(
    Flag.withDescription("Channels to sync, comma-separated usernames or ids (default: MTPROTO_PEERS)"),
    Flag.optional,
  ),
  limit: Flag.Int("limit").pipe(
    Flag.withDescription("Posts per channel in this run, 0 for no limit (default: MTPROTO_HISTORY_LIMIT_PER_RUN)"),
    Flag.optional,
  ),
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withDescription("Channels synced at once (default: MTPROTO_CONCURRENCY)"),
    Flag.optional,
  ),
  probeDeletions: Flag.Boolean("probe-deletions").pipe(
    Flag.withDescription(
      "Then ask Telegram once about every stored post of the channels synced: those it answers empty are deleted",
    ),
    Flag.withDefault(false),
  ),
  joinInvites: Flag.Boolean("join-invites").pipe(
    Flag.withDescription("Join the channels of invite links no account belongs to (default: MTPROTO_JOIN_INVITES)"),
    Flag.withDefault(false),
  ),
  // The original positional form: sync-history "<ids>" <limit> <concurrency>.
  ids: Argument.String("ids").pipe(Argument.withDescription("Same as --channels"), Argument.optional),
  positionalLimit: Argument.Int("limit").pipe(Argument.withDescription("Same as --limit"), Argument.optional),
  positionalConcurrency: Argument.Int("concurrency").pipe(
    Argument.withDescription("Same as --concurrency"),
    Argument.optional,
  ),
}, (flags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const off = switchedOffBy(config, "history")
    if (off !== undefined) return yield* Effect.logInfo(`history sync is disabled (${off} is not true): nothing to do`)
    const rawChannels = Option.orElse(flags.channels, () => flags.ids)
    const given = Option.isSome(rawChannels)
      ? Option.some(
        yield* peerList(rawChannels.value, Option.isSome(flags.channels) ? "--channels" : "the ids argument"),
      )
      : Option.none()
    const named = yield* channelsFor(config, "sync-history", given)
    const limitFlag = Option.orElse(flags.limit, () => flags.positionalLimit)
    const limit = Option.isSome(limitFlag)
      ? yield* flagAs("--limit", "MTPROTO_HISTORY_LIMIT_PER_RUN", limitFlag.value)
      : config.history.limitPerRun
    const concurrencyFlag = Option.orElse(flags.concurrency, () => flags.positionalConcurrency)
    const concurrency = Option.isSome(concurrencyFlag)
      ? yield* flagAs("--concurrency", "MTPROTO_CONCURRENCY", concurrencyFlag.value)
      : config.history.concurrency

    let seconds = 0
    let comments: CommentsRound | undefined
    let probe: ProbeSweep | undefined
    const progress = yield* Ref.make<ReadonlyArray<ChannelProgress>>([])
    const results = yield* Effect.gen(function* () {
      const sync = yield* HistorySync
      const reporter = yield* Effect.forkChild(reportProgress(progress))
      const started = yield* Clock.currentTimeMillis
      // No channels named, or `all`: every channel of the accounts' dialogs.
      const refs = yield* expandAll(named)
      const joinInvites = flags.joinInvites || config.features.joinInvites
      const done = yield* sync.syncAll(refs, {
        ...syncOptionsOf(config),
        limitPerRun: limit,
        concurrency,
        progress,
        joinInvites,
      })
      seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* Ref.set(progress, done)
      yield* Fiber.interrupt(reporter)
      // The comments of the channels synced (MTPROTO_COMMENTS_ENABLED; otherwise one line says so).
      const reader = yield* Comments
      const synced = refs.filter((_, i) => done[i]?.status === "ok")
      const read = yield* reader.readOnce(synced)
      if (reader.enabled) comments = read
      // One deletion probe sweep at once, when asked for.
      if (flags.probeDeletions) probe = yield* DeletionProbe.use((d) => d.sweepOnce(synced, 0))
      return done
    }).pipe(
      Effect.provide(HistoryLive),
      (work) => oneShot(work, Effect.flatMap(Ref.get(progress), (p) => Console.error(cutShortLine(p)))),
    )

    for (const p of results) {
      yield* Console.log(summaryLine(p))
    }
    yield* Console.log(totalLine(results, seconds))
    if (comments) {
      yield* Console.log(
        `comments: ${comments.threads} threads of ${comments.channels} channels read, ${comments.inserted} new, ` +
          `${comments.updated} updated, ${comments.requests} requests`,
      )
      for (const f of comments.failed) yield* Console.error(`comments failed: ${f}`)
    }
    if (probe) {
      yield* Console.log(
        `deletion probe: ${probe.probed} stored posts asked in ${probe.calls} requests, ${probe.deleted} found deleted`,
      )
      for (const f of probe.failed) yield* Console.error(`deletion probe failed: ${f}`)
    }
    const failed = results.filter((p) => p.status === "failed")
    if (probe && probe.failed.length > 0 && failed.length === 0) return yield* Effect.fail(new ExitCode(1))
    if (comments && comments.failed.length > 0 && failed.length === 0) return yield* Effect.fail(new ExitCode(1))
    if (failed.length > 0) {
      yield* Console.error(
        `${failed.length} of ${results.length} channels failed: ${failed.map((p) => p.channel).join(", ")}`,
      )
      return yield* Effect.fail(new ExitCode(1))
    }
  })).pipe(Command.withDescription("Sync channel history (new posts first, then older ones) into PostgreSQL"))
