/** What long-running tasks share: restarts with backoff, and a hard deadline once a stop signal came. */
import { Cause, Duration, Effect, Metric, Schedule } from "effect"
import { collectorRestarts } from "./observe/Metrics.ts"
import { failureMessage } from "./collect/Peers.ts"

/** Restarts after a failure: 1 s, doubling, at most 60 s apart. */
export const RESTART = Schedule.min([Schedule.exponential(Duration.seconds(1)), Schedule.spaced(Duration.seconds(60))])

/** Runs `effect` again after every failure (logged once each, with `what`), with the RESTART backoff. */
export const restarting = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
  effect.pipe(
    Effect.tapCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError(`${what} failed: restarting after a backoff`).pipe(
        Effect.annotateLogs({ error: failureMessage(cause) }),
        Effect.andThen(Metric.update(Metric.withAttributes(collectorRestarts, { collector: what }), 1)),
      )
    ),
    Effect.retry(RESTART),
    Effect.orDie,
  )

/**
 * After SIGINT or SIGTERM, the process ends by `seconds` (GRACEFUL_SHUTDOWN_TIMEOUT_S) even if a finalizer hangs; the
 * timer never keeps a process alive by itself.
 */
export function armShutdownDeadline(seconds: number): void {
  const arm = () => Deno.unrefTimer(setTimeout(() => Deno.exit(1), seconds * 1000))
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, arm)
}
