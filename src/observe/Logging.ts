/** Log output: JSON lines or human-readable (LOG_FORMAT; pretty at a terminal), the minimum level from LOG_LEVEL. */
import { Config, Effect, Layer, Logger, type LogLevel, References } from "effect"
import { ConfigError } from "../domain/Errors.ts"

const LEVELS: Readonly<Record<string, LogLevel.LogLevel>> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None",
}

const FORMATS = ["json", "pretty"] as const

/** Reads one optional variable; a present value must be one of `allowed` (case-insensitive). */
const choice = Effect.fnUntraced(function* (variable: string, allowed: ReadonlyArray<string>, fallback: string) {
  const raw = yield* Config.String(variable).pipe(Config.withDefault(fallback), Effect.orDie)
  const value = raw.trim().toLowerCase()
  if (allowed.includes(value)) return value
  return yield* new ConfigError({
    variable,
    message: `Invalid ${variable} "${raw}": expected one of ${allowed.join(", ")}`,
  })
})

export const Logging = {
  /** The logger and minimum level; fails with a ConfigError naming the variable when LOG_LEVEL or LOG_FORMAT is bad. */
  layer: Layer.unwrap(
    Effect.gen(function* () {
      const level = LEVELS[yield* choice("LOG_LEVEL", Object.keys(LEVELS), "info")]!
      // A person at a terminal reads lines; a container's log collector wants JSON.
      const format = yield* choice("LOG_FORMAT", FORMATS, Deno.stdout.isTerminal() ? "pretty" : "json")
      return Layer.mergeAll(
        Logger.layer([format === "pretty" ? Logger.consolePretty() : Logger.consoleJson]),
        Layer.succeed(References.MinimumLogLevel, level),
      )
    }),
  ),
}
