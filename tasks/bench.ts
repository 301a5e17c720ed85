/** `deno task bench <name>`: benchmarks that print numbers; the last line is `BENCH {json}`. */
import "../src/NoAsyncResource.ts" // first: Effect must not find AsyncResource
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { runTask } from "../src/Cli.ts"
import { benchApi } from "../bench/api.ts"
import { benchCluster } from "../bench/cluster.ts"
import { benchHistory } from "../bench/history.ts"
import { benchPeer } from "../bench/peer.ts"
import { benchPool } from "../bench/pool.ts"
import { benchSandbox } from "../bench/sandbox.ts"
import { benchSandboxMemory } from "../bench/sandboxMemory.ts"
import { benchShutdown } from "../bench/shutdown.ts"
import { benchStats } from "../bench/stats.ts"
import { benchTracing } from "../bench/tracing.ts"
import { benchUpdates } from "../bench/updates.ts"

const bench = Command.make("bench", {
  name: Argument.Literals("name", [
    "sandbox",
    "history",
    "pool",
    "stats",
    "updates",
    "shutdown",
    "tracing",
    "cluster",
    "api",
    "peer",
  ])
    .pipe(
      Argument.withDescription("Which benchmark to run"),
    ),
  seconds: Flag.Int("seconds").pipe(
    Flag.withDescription(
      "sandbox: duration of each measured phase (default 10); pool, cluster: of each case at the budget (default 10, " +
        "at least 5); updates: of each measured run (default 60)",
    ),
    Flag.optional,
  ),
  posts: Flag.Int("posts").pipe(
    Flag.withDescription(
      "sandbox: posts in the channel (default 100,000); stats, peer: per channel (default 1,000; peer 10,000)",
    ),
    Flag.optional,
  ),
  largePosts: Flag.Int("large-posts").pipe(
    Flag.withDescription(
      "sandbox: posts in each of the 10 channels of the large world read end to end for peak RSS (0: no large world)",
    ),
    Flag.withDefault(1_000_000),
    Flag.filter((n) => n >= 0 && n <= 10_000_000, (n) => `Flag --large-posts must be from 0 to 10000000, got ${n}`),
  ),
  streams: Flag.Int("streams").pipe(
    Flag.withDescription("sandbox: live update streams (sessions that asked for updates) on the large world"),
    Flag.withDefault(100),
    Flag.filter((n) => n >= 1 && n <= 1_000, (n) => `Flag --streams must be from 1 to 1000, got ${n}`),
  ),
  adminUrl: Flag.String("admin-url").pipe(
    Flag.withDescription("history, pool, stats: a PostgreSQL URL allowed to create and drop the benchmark databases"),
    Flag.withDefault("postgres://postgres@127.0.0.1:5432/postgres"),
  ),
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withDescription(
      "history, peer: channels synced at once (sync-history's default, 2); stats: peers loaded at once",
    ),
    Flag.withDefault(2),
  ),
  rate: Flag.Finite("rate").pipe(
    Flag.withDescription(
      "pool, cluster: getHistory calls per second per account (default 5, cluster 2); updates: changes per second " +
        "in all (default 2,500); sandbox: posts published and edited per second during the update streams (default 100)",
    ),
    Flag.optional,
  ),
}, ({ name, seconds, posts, largePosts, streams, adminUrl, concurrency, rate }) =>
  Effect.gen(function* () {
    const secondsOr = (fallback: number) => Option.getOrElse(seconds, () => fallback)
    const progress = (line: string) => Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"))
    const report = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"))
    const figures = yield* Effect.promise(() =>
      name === "sandbox"
        ? benchSandbox({ posts: Option.getOrElse(posts, () => 100_000), seconds: secondsOr(10), inflight: 8, report })
          .then(
            async (figures) => ({
              ...figures,
              ...(largePosts === 0 ? {} : await benchSandboxMemory({
                channels: 10,
                posts: largePosts,
                streams,
                streamSeconds: Math.max(10, 3 * secondsOr(10)),
                streamRate: Option.getOrElse(rate, () => 100),
                inflight: 8,
                report,
                progress,
              })),
            }),
          )
        : name === "updates"
        ? benchUpdates({
          rate: Option.getOrElse(rate, () => 2_500),
          seconds: secondsOr(60),
          adminUrl,
          report,
          progress,
        })
        : name === "peer"
        ? benchPeer({
          adminUrl,
          channels: 3,
          posts: Option.getOrElse(posts, () => 10_000),
          concurrency,
          report,
          progress,
        })
        : name === "stats"
        ? benchStats({
          channels: 8,
          posts: Option.getOrElse(posts, () => 1_000),
          concurrency,
          adminUrl,
          report,
          progress,
        })
        : name === "shutdown"
        ? benchShutdown({ adminUrl, rounds: 3, report, progress })
        : name === "tracing"
        ? benchTracing({ rounds: 5, report })
        : name === "api"
        ? benchApi({ adminUrl, rounds: 30, report, progress })
        : name === "cluster"
        ? benchCluster({
          // 2/s per account: at 5/s the 9 accounts' 4,500 posts/s saturate a 2-core machine (the sandbox, the
          // runners and PostgreSQL share it), which measures the machine rather than the budget.
          rate: Option.getOrElse(rate, () => 2),
          seconds: Math.max(5, secondsOr(10)),
          adminUrl,
          report,
          progress,
        })
        : name === "pool"
        ? benchPool({
          rate: Option.getOrElse(rate, () => 5),
          seconds: Math.max(5, secondsOr(10)),
          adminUrl,
          report,
          progress,
        })
        : benchHistory({ adminUrl, concurrency, report, progress })
    )
    yield* Console.log(`BENCH ${JSON.stringify({ bench: name, ...figures })}`)
  })).pipe(Command.withDescription("Run a benchmark and print its figures"))

runTask(bench)
