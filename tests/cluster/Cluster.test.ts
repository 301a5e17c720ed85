/**
 * `serve` as three cluster runners (real processes on loopback, one PostgreSQL) against a sandbox that refuses a
 * session used from two places at once: the accounts and channels are spread over the runners; a runner SIGKILLed in
 * the middle of the history sync loses nothing (every channel ends equal to the truth, no page stored twice, at most
 * one page per channel it was walking fetched again) and its work resumes elsewhere; a runner stopped with SIGTERM
 * exits 0 and hands its accounts over; the sandbox never saw one session on two connections.
 */
import { Console, Effect, Redacted } from "effect"
import { assert, assertEquals } from "../support/assert.ts"
import { descriptorFile } from "../support/collect.ts"
import { runEffect } from "../support/effectTest.ts"
import { freshDatabase, pgAvailable, reader } from "../support/PgTest.ts"
import { admin, sandboxTest, scopedSandbox } from "../support/sandbox.ts"
import { clusterInfoOf, type Owns, ownsOf, type Runner, startRunners } from "../support/cluster.ts"
import { freePort, startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

const ACCOUNTS = 6
const CHANNELS = 12
const POSTS = 2_000

sandboxTest(
  "cluster: 3 runners, 6 accounts, 12 channels: spread; SIGKILL of one mid-sync loses and repeats nothing; SIGTERM of " +
    "another exits 0 and hands over; never one session on two connections",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({
        channels: CHANNELS,
        posts: POSTS,
        accounts: ACCOUNTS,
        refuseDuplicateKeys: true,
      })
      const channels = sandbox.descriptor.channels.filter((c) => c.username.startsWith("sandbox_chan_"))
      assertEquals(channels.length, CHANNELS)
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const descriptor = yield* descriptorFile(sandbox)
      const env = {
        DATABASE_URL: Redacted.value(url),
        TG_SANDBOX_FILE: descriptor,
        MTPROTO_ENABLED: "true",
        MTPROTO_HISTORY_ENABLED: "true",
        MTPROTO_POOL_ENABLED: "true",
        MTPROTO_PEERS: channels.map((c) => c.username).join(","),
        MTPROTO_CONCURRENCY: String(CHANNELS),
        // Slow enough that the sync is still under way when a runner is killed (240 pages at 6 x 3 pages/s).
        MTPROTO_RPS_PER_ACCOUNT: "3",
        MTPROTO_GLOBAL_RPS: "1000",
        MTPROTO_HISTORY_INTERVAL_SEC: "3600",
        // Six shards over three runners: two each; the six accounts' labels hash onto six different shards.
        CLUSTER_SHARDS_PER_GROUP: "6",
        LOG_LEVEL: "info",
      }
      const { runners, output, owns } = yield* startRunners(["a", "b", "c"], env)
      const postsOf = async (usernames: ReadonlyArray<string>) => {
        const ids = channels.filter((c) => usernames.includes(`@${c.username}`)).map((c) => c.id)
        if (ids.length === 0) return 0
        const [row] = await query<{ n: string }>(
          `SELECT count(*) AS n FROM posts WHERE channel_id IN (${ids.join(",")})`,
        )
        return Number(row!.n)
      }

      // Every account and channel is owned by exactly one runner, and every runner owns some accounts.
      let spread: ReadonlyArray<Owns | undefined> = []
      yield* Effect.promise(() =>
        until(
          async () => {
            spread = await owns()
            const accounts = spread.flatMap((o) => o?.accounts ?? [])
            return accounts.length === ACCOUNTS && spread.every((o) => (o?.accounts.length ?? 0) > 0)
          },
          60_000,
          "the accounts spread over the three runners",
        )
      )
      for (const r of runners) {
        assertEquals((yield* Effect.promise(() => clusterInfoOf(r)))?.runner, r.address, "/info names the runner")
      }
      const accounts = spread.flatMap((o) => o!.accounts)
      assertEquals(new Set(accounts).size, ACCOUNTS, `each account on one runner: ${JSON.stringify(spread)}`)

      // SIGKILL the runner that owns the most channels once a fifth of the history is stored.
      const total = CHANNELS * POSTS
      yield* Effect.promise(() =>
        until(async () => (await postsOf(channels.map((c) => `@${c.username}`))) >= total / 5, 60_000, "a fifth")
      )
      spread = yield* Effect.promise(owns)
      const victim = runners.reduce((a, b, i) =>
        (spread[i]?.channels.length ?? 0) > (spread[runners.indexOf(a)]?.channels.length ?? 0) ? b : a
      )
      const orphaned = spread[runners.indexOf(victim)]!.channels
      const before = yield* Effect.promise(() => postsOf(orphaned))
      const killedAt = performance.now()
      yield* Effect.promise(() => victim.task.stop("SIGKILL"))
      const survivors = runners.filter((r) => r !== victim)
      // Its channels go on elsewhere: a page of one of them is stored by another runner.
      yield* Effect.promise(() => until(async () => (await postsOf(orphaned)) > before, 60_000, "work resumed"))
      const resumedMs = performance.now() - killedAt
      assert(
        before < orphaned.length * POSTS,
        `killed in the middle (${before} of ${orphaned.length * POSTS} posts of its channels stored)`,
      )

      // Every channel ends equal to the truth.
      const stored = async () => {
        const rows = await query<{ channel_id: string; posts: string; views: string }>(
          `SELECT channel_id, count(*) AS posts, coalesce(sum(views), 0) AS views FROM posts GROUP BY channel_id`,
        )
        return new Map(rows.map((r) => [Number(r.channel_id), { posts: Number(r.posts), views: Number(r.views) }]))
      }
      const truthOf = (id: number) => {
        const t = sandbox.world.truth(id)
        return { posts: t.count, views: t.views }
      }
      yield* Effect.promise(() =>
        until(
          async () => {
            const now = await stored()
            return channels.every((c) => JSON.stringify(now.get(c.id)) === JSON.stringify(truthOf(c.id)))
          },
          120_000,
          "every channel equal to the truth",
        )
      ).pipe(Effect.tapDefect(() => Console.error(output())))
      const [snapshots] = yield* Effect.promise(() =>
        query<{ n: string; distinct_posts: string }>(
          `SELECT count(*) AS n, count(DISTINCT (channel_id, msg_id)) AS distinct_posts FROM post_metrics`,
        )
      )
      assertEquals(
        [Number(snapshots!.n), Number(snapshots!.distinct_posts)],
        [total, total],
        "one metrics snapshot per post: no page stored twice",
      )
      // A page of posts is fetched twice only when the killed runner had fetched it and not stored it: at most one
      // per channel it was walking. (Every run of a channel first asks for posts above its newest stored one, with
      // minId set: nothing is posted during this test, so those come back empty, and each runner's run asks again.)
      const pages = new Map<string, number>()
      for (const line of sandbox.control.log.since(0, "messages.GetHistory")) {
        if (line.outcome !== "ok" || line.params.minId !== 0) continue
        const key = JSON.stringify(line.params)
        pages.set(key, (pages.get(key) ?? 0) + 1)
      }
      const again = [...pages.values()].reduce((n, times) => n + times - 1, 0)
      assert(again <= orphaned.length, `pages fetched again: ${again} (at most ${orphaned.length})`)

      // SIGTERM of another runner: exit 0, its accounts taken over by the last one.
      const [leaving, staying] = survivors as [Runner, Runner]
      const leavingAccounts = (yield* Effect.promise(() => ownsOf(leaving)))?.accounts ?? []
      const stopped = yield* Effect.promise(() => leaving.task.stop("SIGTERM"))
      assertEquals(stopped.code, 0, leaving.task.output())
      const termAt = performance.now()
      yield* Effect.promise(() =>
        until(
          async () => {
            const kept = (await ownsOf(staying))?.accounts ?? []
            return kept.length === ACCOUNTS
          },
          60_000,
          "every account on the last runner",
        )
      )
      const handoverMs = performance.now() - termAt + stopped.ms

      const stats = yield* Effect.promise(() => admin(sandbox, "/stats"))
      assertEquals([stats.authKeyDuplicated, stats.authKeyDuplicatedRefused], [0, 0], "one connection per session")
      yield* Console.log(
        `cluster: resumed ${(resumedMs / 1000).toFixed(1)} s after SIGKILL (${orphaned.length} channels moved); ` +
          `SIGTERM exit in ${(stopped.ms / 1000).toFixed(1)} s, ${leavingAccounts.length} accounts handed over in ` +
          `${(handoverMs / 1000).toFixed(1)} s; pages fetched again: ${again}`,
      )
    })),
  { ignore: !pgAvailable },
)

sandboxTest(
  "without a cluster, two serve processes on one PostgreSQL (accounts and channels of their own) each do their work",
  () =>
    runEffect(Effect.gen(function* () {
      const sandbox = yield* scopedSandbox({ channels: 2, posts: 600, accounts: 2, refuseDuplicateKeys: true })
      const channels = sandbox.descriptor.channels.filter((c) => c.username.startsWith("sandbox_chan_"))
      const url = yield* freshDatabase
      const query = yield* reader(url)
      const descriptor = yield* descriptorFile(sandbox)
      const tasks = channels.map((channel, i) =>
        startTask("serve", [], {
          DATABASE_URL: Redacted.value(url),
          TG_SANDBOX_FILE: descriptor,
          MTPROTO_ACCOUNTS: sandbox.descriptor.accounts[i]!.session,
          MTPROTO_ENABLED: "true",
          MTPROTO_HISTORY_ENABLED: "true",
          MTPROTO_PEERS: channel.username,
          MTPROTO_RPS_PER_ACCOUNT: "1000",
          MTPROTO_GLOBAL_RPS: "1000",
          HEALTH_BIND: `127.0.0.1:${freePort()}`,
        })
      )
      yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all(tasks.map((t) => t.stop("SIGKILL")))))
      const stored = async () => {
        const rows = await query<{ channel_id: string; n: string }>(
          "SELECT channel_id, count(*) AS n FROM posts GROUP BY channel_id ORDER BY channel_id",
        )
        return rows.map((r) => [Number(r.channel_id), Number(r.n)])
      }
      const truth = channels.map((c) => [c.id, sandbox.world.truth(c.id).count])
      yield* Effect.promise(() =>
        until(async () => JSON.stringify(await stored()) === JSON.stringify(truth), 60_000, "both channels stored")
      ).pipe(Effect.tapDefect(() => Console.error(tasks.map((t) => t.output()).join("\n---\n"))))
      for (const task of tasks) assertEquals((yield* Effect.promise(() => task.stop())).code, 0, task.output())
      const stats = yield* Effect.promise(() => admin(sandbox, "/stats"))
      assertEquals([stats.authKeyDuplicated, stats.authKeyDuplicatedRefused], [0, 0])
    })),
  { ignore: !pgAvailable },
)
