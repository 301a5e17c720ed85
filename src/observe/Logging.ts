/** Log output: JSON lines or human-readable (LOG_FORMAT; pretty at a terminal), the minimum level from LOG_LEVEL. */
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import { AppConfig, type LogLevelName } from "../Config.ts"

const LEVELS: Readonly<Record<LogLevelName, LogLevel.LogLevel>> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None",
}

export const Logging = {
  /** The logger and the minimum level, from the configuration. */
  layer: Layer.unwrap(
    Effect.gen(function* () {
      const { observe } = yield* AppConfig
      // A person at a terminal reads lines; a container's log collector wants JSON.
      const format = observe.logFormat ?? (Deno.stdout.isTerminal() ? "pretty" : "json")
      return Layer.mergeAll(
        Logger.layer([format === "pretty" ? Logger.consolePretty() : Logger.consoleJson]),
        Layer.succeed(References.MinimumLogLevel, LEVELS[observe.logLevel]),
      )
    }),
  ),
}
