/** `deno task load-stats`: loads the official statistics of admin-owned channels, then prints a summary per peer. */
import { Clock, Console, Effect, Option } from "effect"
import { StatsLive } from "../App.ts"
import { ExitCode, oneShot } from "../Cli.ts"
import { AppConfig, channelsFor, switchedOffBy } from "../Config.ts"
import { peerList } from "./Flags.ts"
import { expandAll } from "./AllPeers.ts"
import { StatsLoader } from "../collect/StatsLoader.ts"
import { statsLine } from "../collect/Progress.ts"
import type { LoadStatsFlags } from "./Commands.ts"

/** The load-stats command's work (its flags and description: ./Commands.ts). */
export const run = (flags: LoadStatsFlags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const off = switchedOffBy(config, "stats")
    if (off !== undefined) return yield* Effect.logInfo(`statistics are disabled (${off} is not true): nothing to do`)
    const given = Option.isSome(flags.peers)
      ? Option.some(yield* peerList(flags.peers.value, "--peers"))
      : Option.none()
    const refs = yield* channelsFor(config, "load-stats", given)
    const started = yield* Clock.currentTimeMillis
    const results = yield* Effect.gen(function* () {
      const loader = yield* StatsLoader
      // `all`: the channels of the accounts' dialogs that an account administers (only admins see statistics).
      const named = yield* expandAll(refs, { adminOnly: true })
      return yield* loader.loadAll(named, config.stats)
    }).pipe(
      Effect.provide(StatsLive),
      (work) =>
        oneShot(
          work,
          Console.error(
            "interrupted: the statistics run stopped before it finished; what was stored is kept (every peer's " +
              "statistics are written whole or not at all) and the next run loads the rest",
          ),
        ),
    )
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    for (const p of results) yield* Console.log(statsLine(p))
    const failed = results.filter((p) => p.status === "failed")
    const skipped = results.filter((p) => p.status === "skipped")
    yield* Console.log(
      `total: ${results.length - failed.length - skipped.length} of ${results.length} peers loaded, ` +
        `${skipped.length} skipped, ${failed.length} failed in ${seconds.toFixed(1)} s`,
    )
    if (failed.length > 0) {
      yield* Console.error(
        `${failed.length} of ${results.length} peers failed: ${failed.map((p) => p.channel).join(", ")}`,
      )
      return yield* Effect.fail(new ExitCode(1))
    }
  })
