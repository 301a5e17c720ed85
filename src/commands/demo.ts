/**
 * `deno task demo`: nothing to configure. Starts the sandbox (a local Telegram DC) in this process and the embedded
 * database under `<data dir>/demo`, syncs every sandbox channel as `sync-history` would, loads the official statistics
 * as `load-stats` would, and prints a short report; with `--serve`, then serves the read API and the dashboard over
 * it until Ctrl-C.
 */
import { Clock, Console, Effect, Fiber, Layer, Ref } from "effect"
import denoJson from "../../deno.json" with { type: "json" }
import { serveApi } from "../api/Api.ts"
import { CollectorsLive } from "../App.ts"
import { AppConfig } from "../Config.ts"
import { type ChannelProgress, HistorySync } from "../collect/HistorySync.ts"
import { reportProgress, statsLine, summaryLine, totalLine } from "../collect/Progress.ts"
import { StatsLoader } from "../collect/StatsLoader.ts"
import { callbackLogger } from "../observe/Logging.ts"
import { Sandbox } from "@tgpulse/sandbox"
import { allTime, type ChannelReport, channelReports, count, reportText } from "./report.ts"
import { Comments } from "../collect/Comments.ts"
import { CommentRepo } from "../store/CommentRepo.ts"
import type { DemoFlags } from "./Commands.ts"

const NEXT_STEPS = `
What you just ran: tgpulse synced every channel of a local Telegram DC (the sandbox, real MTProto) into an embedded
PostgreSQL. Run it again: only what is new is fetched.

Point it at real Telegram:
  1. Create an application at https://my.telegram.org and note its api_id and api_hash.
  2. export TG_API_ID=... TG_API_HASH=... and sign in once per account: deno task login main
  3. export MTPROTO_ACCOUNTS=main (several: main,backup with MTPROTO_POOL_ENABLED=true)
  4. export MTPROTO_ENABLED=true MTPROTO_HISTORY_ENABLED=true MTPROTO_PEERS=@channel_one,@channel_two
  5. optionally DATABASE_URL=postgres://user:password@host:5432/db (else the embedded database in .tgpulse)
  6. deno task sync-history
  7. for channels you administer: MTPROTO_STATS_ENABLED=true deno task load-stats
Or keep the sandbox running (deno task sandbox) and set TG_SANDBOX_FILE=.tgpulse/sandbox.json instead of 1-3.
To look at what was collected in a browser: deno task demo --serve (the read API and the dashboard).`

/** Per channel with comments: the comment count of each top post and its two newest comments. */
const commentLines = (reports: ReadonlyArray<ChannelReport>) =>
  Effect.gen(function* () {
    const comments = yield* CommentRepo
    const lines: Array<string> = []
    for (const { channel, top } of reports) {
      const counts = yield* comments.countsByPost(channel.id)
      if (counts.size === 0) continue
      const total = [...counts.values()].reduce((a, b) => a + b, 0)
      lines.push(`  @${channel.username}: ${count(total)} comments under ${count(counts.size)} posts`)
      for (const p of top) {
        const n = counts.get(p.msgId) ?? 0
        lines.push(`    #${p.msgId}: ${count(n)} ${n === 1 ? "comment" : "comments"}`)
        for (const c of yield* comments.newest(channel.id, p.msgId, 2)) {
          const text = c.text.replace(/\s+/g, " ").trim()
          lines.push(`      ${c.author ?? "?"}: "${text.length <= 60 ? text : `${text.slice(0, 59)}…`}"`)
        }
      }
    }
    return lines
  })

/** The demo command's work (its flags and description: ./Commands.ts). */
export const run = (flags: DemoFlags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const dataDir = `${config.dataDir}/demo`
    const log = yield* callbackLogger
    const sandbox = yield* Effect.acquireRelease(
      Effect.promise(() =>
        Sandbox.start({
          channels: Math.max(1, flags.channels),
          posts: Math.max(1, flags.posts),
          log: (level, message, fields) => (level === "warn" || level === "error") && log(level, message, fields),
        })
      ),
      (s) => Effect.promise(() => s.stop()),
    )
    const descriptorFile = `${dataDir}/sandbox.json`
    yield* Effect.promise(async () => {
      await Deno.mkdir(dataDir, { recursive: true })
      await Deno.writeTextFile(descriptorFile, JSON.stringify(sandbox.descriptor, null, 2), { mode: 0o600 })
    })
    const channels = sandbox.descriptor.channels.filter((c) => !c.private)
    yield* Console.log(
      `tgpulse demo: a sandbox Telegram DC with ${channels.length} channels of ${count(flags.posts)} posts, ` +
        `the embedded database in ${dataDir}`,
    )
    const env = {
      TG_SANDBOX_FILE: descriptorFile,
      TGPULSE_DATA_DIR: dataDir,
      MTPROTO_ENABLED: "true",
      MTPROTO_HISTORY_ENABLED: "true",
      MTPROTO_STATS_ENABLED: "true",
      MTPROTO_COMMENTS_ENABLED: "true",
      // Every test account in one pool; the sandbox enforces no flood budget unless asked, so neither do we.
      MTPROTO_POOL_ENABLED: "true",
      MTPROTO_RPS_PER_ACCOUNT: "1000",
      MTPROTO_GLOBAL_RPS: "10000",
      LOG_LEVEL: config.observe.logLevel,
    }
    yield* Effect.gen(function* () {
      const sync = yield* HistorySync
      const progress = yield* Ref.make<ReadonlyArray<ChannelProgress>>([])
      const reporter = yield* Effect.forkChild(reportProgress(progress))
      const started = yield* Clock.currentTimeMillis
      const results = yield* sync.syncAll(
        channels.map((c) => ({ _tag: "Username", username: c.username })),
        { limitPerRun: 0, concurrency: config.history.concurrency, progress },
      )
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* Ref.set(progress, results)
      yield* Fiber.interrupt(reporter)
      // The official statistics of the channels a sandbox account administers (the others are skipped), with the
      // views graphs and public forwards of each one's 20 newest posts.
      const stats = yield* StatsLoader
      const loaded = yield* stats.loadAll(
        channels.map((c) => ({ _tag: "Username", username: c.username })),
        { periodDays: 30, concurrency: 2, postsLimit: 20 },
      )
      // The comments under the posts of the channels with a discussion group (messages.getReplies).
      const read = yield* (yield* Comments).readOnce(channels.map((c) => ({ _tag: "Username", username: c.username })))
      const reports = yield* channelReports(allTime())
      const report = [
        ...results.map(summaryLine),
        totalLine(results, seconds),
        "",
        "Official statistics (stats.getBroadcastStats / getMegagroupStats on each channel's stats DC):",
        ...loaded.map(statsLine),
        ...reportText(reports),
        "",
        `Comments (messages.getReplies from each channel's discussion group): ${count(read.inserted)} read under ` +
        `${count(read.threads)} posts of ${read.channels} channels, ${count(read.requests)} requests`,
        ...yield* commentLines(reports),
      ]
      for (const line of report) yield* Console.log(line)
      yield* Console.log(NEXT_STEPS)
      if (!flags.serve) return
      // What was collected, in a browser, over all time: the sandbox's history lies behind its start (its statistics
      // reach 30 days back), so no shorter period would show all of it.
      const address = yield* serveApi(config.api.bind, {
        token: config.api.token,
        version: denoJson.version,
        dashboardDir: config.api.dashboardDir,
      })
      yield* Console.log(`\nThe dashboard: http://${address}/#days=all (Ctrl-C to stop)`)
      return yield* Effect.never
    }).pipe(Effect.provide(CollectorsLive.pipe(Layer.provide(AppConfig.layerFrom(env)))))
  }).pipe(Effect.scoped)
