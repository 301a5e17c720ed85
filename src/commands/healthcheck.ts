/** `tgpulse healthcheck`: exits 0 when the running daemon's /readyz answers 200 (for container health checks). */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { ExitCode } from "../Cli.ts"
import { AppConfig } from "../Config.ts"
import { checkReady, readyzUrl } from "../healthcheck.ts"

export const healthcheck = Command.make("healthcheck", {
  url: Flag.String("url").pipe(
    Flag.withDescription("The /readyz URL to ask (default: from HEALTH_BIND, a wildcard host asked on 127.0.0.1)"),
    Flag.optional,
  ),
}, (flags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const url = Option.getOrElse(flags.url, () => readyzUrl(Option.getOrUndefined(config.observe.healthBind)))
    let said = ""
    const code = yield* Effect.promise(() => checkReady(url, (line) => (said = line)))
    yield* Console.log(said)
    if (code !== 0) return yield* Effect.fail(new ExitCode(code))
  })).pipe(Command.withDescription("Exit 0 when the running daemon (serve, poll-updates) is ready, else 1"))
