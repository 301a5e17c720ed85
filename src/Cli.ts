/** Runs a task's command: Deno signals interrupt it, and its exit says what happened (0 ok, 1 failed, 2 usage). */
import { NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import { Command } from "effect/cli"
import { Logging } from "./observe/Logging.ts"

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

/** Exit codes: success 0; interrupted by a signal 0; a usage error (bad flag) 2; an ExitCode failure its code; else 1. */
function exitCodeOf(exit: Exit.Exit<unknown, unknown>): number {
  if (Exit.isSuccess(exit)) return 0
  const cause = exit.cause
  for (const reason of cause.reasons) {
    if (Cause.isFailReason(reason)) {
      const error = reason.error as { _tag?: string; code?: number; errors?: ReadonlyArray<unknown> }
      if (error instanceof ExitCode) return error.code
      if (error?._tag === "ShowHelp") return (error.errors?.length ?? 0) > 0 ? 2 : 0
      if (typeof error?._tag === "string" && CLI_ERRORS.has(error._tag)) return 2
    }
  }
  if (Cause.hasInterruptsOnly(cause)) return 0
  return 1
}

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

/** Parses `Deno.args` with `command` and runs it with logging and Node platform services. */
export function runTask<Name extends string, Input, E, R>(
  // deno-lint-ignore ban-types
  command: Command.Command<Name, Input, {}, E, R>,
  options: { readonly version?: string } = {},
): void {
  const program = Command.runWith(command, { version: options.version ?? "0.1.0" })(Deno.args).pipe(
    Effect.catchCause((cause) => {
      // Usage errors were already printed with the help text; anything else is logged once, without a stack trace.
      const failure = cause.reasons.find(Cause.isFailReason)?.error as { _tag?: string } | undefined
      if (
        failure instanceof ExitCode || (failure?._tag && (failure._tag === "ShowHelp" || CLI_ERRORS.has(failure._tag)))
      ) {
        return Effect.failCause(cause)
      }
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      return Effect.logError("task failed", Cause.pretty(cause)).pipe(Effect.andThen(Effect.failCause(cause)))
    }),
  )
  runMainDeno(
    program.pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Logging.layer))) as Effect.Effect<void, unknown>,
    {
      teardown: (exit, onExit) => onExit(exitCodeOf(exit)),
      disableErrorReporting: true,
    },
  )
}
