/** `tgpulse healthcheck`: exits 0 when the running daemon's /readyz answers 200 (for container health checks). */
import { Console, Effect, Option } from "effect"
import { ExitCode } from "../Cli.ts"
import { AppConfig } from "../Config.ts"
import { checkReady, readyzUrl } from "../healthcheck.ts"
import type { HealthcheckFlags } from "./Commands.ts"

/** The healthcheck command's work (its flags and description: ./Commands.ts). */
export const run = (flags: HealthcheckFlags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const url = Option.getOrElse(flags.url, () => readyzUrl(Option.getOrUndefined(config.observe.healthBind)))
    let said = ""
    const code = yield* Effect.promise(() => checkReady(url, (line) => (said = line)))
    yield* Console.log(said)
    if (code !== 0) return yield* Effect.fail(new ExitCode(code))
  })
