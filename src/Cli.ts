/** Runs a task's command: Deno signals interrupt it, and its exit says what happened (0 ok, 1 failed, 2 usage). */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Layer, Runtime } from "effect"
import { Command, Flag } from "effect/cli"
import { AppConfig } from "./Config.ts"
import { ConfigError } from "./domain/Errors.ts"
import { Logging } from "./observe/Logging.ts"
import { Tracing } from "./observe/Tracing.ts"

/** An integer flag with a default and a range: a value outside it is a usage error naming the flag and the range. */
export function intFlag(
  name: string,
  options: { readonly description: string; readonly fallback: number; readonly min: number; readonly max: number },
) {
  return Flag.Int(name).pipe(
    Flag.withDescription(options.description),
    Flag.withDefault(options.fallback),
    Flag.filter(
      (n) => n >= options.min && n <= options.max,
      (n) => `Flag --${name} must be an integer from ${options.min} to ${options.max}, got ${n}`,
    ),
  )
}

/**
 * A command's handler in a module of its own (`run`), loaded when the command runs, so that `--help` and the other
 * commands never load its module graph. `load` is an `import()` of a string literal, which `deno compile` and
 * `deno bundle` include.
 */
export const lazyHandler = <Input, E, R>(
  load: () => Promise<{ readonly run: (input: Input) => Effect.Effect<void, E, R> }>,
) =>
(input: Input): Effect.Effect<void, E, R> => Effect.flatMap(Effect.promise(load), (module) => module.run(input))

/** A failure that carries its own exit code and has already been reported to the user. */
export class ExitCode {
  readonly _tag = "ExitCode"
  constructor(readonly code: number) {}
}

/** Deno-native runMain: SIGINT/SIGTERM interrupt the main fiber, finalizers run, then the process exits. */
const runMainDeno = Runtime.makeRunMain(({ fiber, teardown }) => {
  const onSignal = () => fiber.interruptUnsafe(fiber.id)
  const signals = ["SIGINT", "SIGTERM"] as const
  for (const s of signals) Deno.addSignalListener(s, onSignal)
  fiber.addObserver((exit) => {
    for (const s of signals) Deno.removeSignalListener(s, onSignal)
    teardown(exit, (code) => Deno.exit(code))
  })
})

/** Errors of the CLI parser: it has printed them with the help text already. */
const CLI_ERRORS: ReadonlySet<string> = new Set([
  "UnrecognizedOption",
  "DuplicateOption",
  "MissingOption",
  "MissingArgument",
  "UnexpectedArgument",
  "InvalidValue",
  "UnknownSubcommand",
  "ValidationError",
])

type Failure = { readonly _tag?: string; readonly errors?: ReadonlyArray<unknown> } | undefined

const failureOf = (cause: Cause.Cause<unknown>): Failure => cause.reasons.find(Cause.isFailReason)?.error as Failure

/**
 * Exit codes: success 0; a usage or configuration error 2; an ExitCode its code; interrupted by a signal 0, or
 * CUT_SHORT when one-shot work was cut short (`oneShot`); else 1.
 */
export function exitCodeOf(exit: Exit.Exit<unknown, unknown>): number {
  if (Exit.isSuccess(exit)) return 0
  const failure = failureOf(exit.cause)
  if (failure instanceof ExitCode) return failure.code
  if (failure instanceof ConfigError) return 2
  if (failure?._tag === "ShowHelp") return (failure.errors?.length ?? 0) > 0 ? 2 : 0
  if (failure?._tag !== undefined && CLI_ERRORS.has(failure._tag)) return 2
  if (Cause.hasInterruptsOnly(exit.cause)) return cutShort ? CUT_SHORT : 0
  return 1
}

/** The exit code of a one-shot task that a signal cut short (a daemon stopped by one exits 0). */
export const CUT_SHORT = 130

/** Set once a one-shot task was interrupted before it finished: the process then exits CUT_SHORT. */
let cutShort = false

/**
 * Marks `effect` as one-shot work: interrupted by SIGINT/SIGTERM before it finished, it runs `report` (what was cut
 * short) and the process exits CUT_SHORT instead of 0.
 */
export const oneShot = <A, E, R>(effect: Effect.Effect<A, E, R>, report: Effect.Effect<void> = Effect.void) =>
  Effect.onInterrupt(effect, () => Effect.andThen(Effect.sync(() => (cutShort = true)), report))

/** Failures whose message tells the whole story (a database away, a Telegram refusal): one line, no stack. */
const PLAIN: ReadonlySet<string> = new Set(["StoreError", "TelegramError", "HealthServerError"])

/** Reports a failure of the task itself as one error log line; configuration and usage errors are reported elsewhere. */
const reportFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  const failure = failureOf(cause)
  if (failure instanceof ConfigError || failure instanceof ExitCode || failure?._tag === "ShowHelp") return Effect.void
  if (failure?._tag !== undefined && CLI_ERRORS.has(failure._tag)) return Effect.void
  if (Cause.hasInterruptsOnly(cause)) return Effect.void
  if (failure?._tag !== undefined && PLAIN.has(failure._tag)) {
    return Effect.logError(`task failed: ${(failure as { readonly message?: string }).message}`)
  }
  return Effect.logError("task failed", Cause.pretty(cause))
}

/**
 * Reports a configuration error as its plain message: no stack trace, it is the user's to fix. This runs outside the
 * logging layer, which may be what failed (a bad LOG_LEVEL). Usage errors were printed with the help already.
 */
const reportConfigError = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  const failure = failureOf(cause)
  return failure instanceof ConfigError ? Console.error(failure.message) : Effect.void
}

/**
 * The command line `args` run with `command`, with the configuration (`env`), logging, tracing (OBS_OTEL_ENABLED) and
 * Node platform services: what a command may require (anything else is a type error here). Ends with the failure, if
 * any, already reported; `exitCodeOf` says what it means.
 */
export function commandLine<Name extends string, Input, E, R extends NodeServices.NodeServices | AppConfig>(
  // deno-lint-ignore ban-types
  command: Command.Command<Name, Input, {}, E, R>,
  args: ReadonlyArray<string>,
  options: { readonly version?: string; readonly env?: Readonly<Record<string, string | undefined>> } = {},
): Effect.Effect<void, unknown> {
  const config = options.env === undefined ? AppConfig.layer : AppConfig.layerFrom(options.env)
  const program = Command.runWith(command, { version: options.version ?? "0.1.0" })(args).pipe(
    Effect.tapCause(reportFailure),
    Effect.provide(
      Layer.mergeAll(NodeServices.layer, Logging.layer, Tracing.layer.pipe(Layer.provide(Logging.layer))).pipe(
        Layer.provideMerge(config),
      ),
    ),
    Effect.tapCause(reportConfigError),
  )
  // R is bounded by what is provided above; TypeScript cannot reduce Exclude<R, ...> of a type parameter to never.
  return program as Effect.Effect<void, unknown>
}

/** Runs `command` on `Deno.args` (see `commandLine`) as the process: signals interrupt it; its exit code ends it. */
export function runTask<Name extends string, Input, E, R extends NodeServices.NodeServices | AppConfig>(
  // deno-lint-ignore ban-types
  command: Command.Command<Name, Input, {}, E, R>,
  options: { readonly version?: string } = {},
): void {
  runMainDeno(commandLine(command, Deno.args, options), {
    teardown: (exit, onExit) => onExit(exitCodeOf(exit)),
    disableErrorReporting: true,
  })
}
