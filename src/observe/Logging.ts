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

type Level = "debug" | "info" | "warn" | "error"

const LOG_AT: Readonly<Record<Level, (message: string) => Effect.Effect<void>>> = {
  debug: Effect.logDebug,
  info: Effect.logInfo,
  warn: Effect.logWarning,
  error: Effect.logError,
}

/**
 * A plain callback logger (for code outside Effect: the sandbox) that writes through the current Effect logger,
 * with `fields` as annotations.
 */
export const callbackLogger = Effect.gen(function* () {
  const run = Effect.runForkWith(yield* Effect.context<never>())
  return (level: Level, message: string, fields?: Record<string, unknown>): void => {
    run(LOG_AT[level](message).pipe(Effect.annotateLogs({ component: "sandbox", ...fields })))
  }
})
