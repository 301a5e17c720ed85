/** Log output: JSON lines by default, human-readable with LOG_FORMAT=pretty; the level from LOG_LEVEL. */
import { Config, Effect, Layer, Logger, References } from "effect"

const LEVELS = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None",
} as const

export const Logging = {
  layer: Layer.unwrap(
    Effect.gen(function* () {
      const format = yield* Config.String("LOG_FORMAT").pipe(Config.withDefault("json"))
      const levelName = (yield* Config.String("LOG_LEVEL").pipe(Config.withDefault("info"))).toLowerCase()
      const level = LEVELS[levelName as keyof typeof LEVELS] ?? "Info"
      const logger = format === "pretty" ? Logger.consolePretty() : Logger.consoleJson
      return Layer.mergeAll(
        Logger.layer([logger]),
        Layer.succeed(References.MinimumLogLevel, level),
      )
    }).pipe(Effect.orDie),
  ),
}
