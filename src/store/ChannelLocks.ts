/**
 * One writer per (channel, stream), across every process on one database: a PostgreSQL session-level advisory lock
 * per (channel, stream), all held on one connection this service reserves, plus the same rule among this process's
 * own fibers. A writer that finds its channel taken waits (saying so once) until the other one is done, so two runs on
 * the same channels never fetch the same pages twice. The embedded database belongs to one process (its file lock),
 * so there the process's own rule is all there is.
 */
import { Context, Duration, Effect, Layer, Scope, Semaphore } from "effect"
import { SqlClient, type SqlConnection } from "effect/sql"
import { StoreError } from "../domain/Errors.ts"

/** How often a waiting writer looks again. */
const POLL = Duration.seconds(1)

export class ChannelLocks extends Context.Service<ChannelLocks, {
  /**
   * Runs `effect` as the only writer of `stream` for `channelId`: when another process (or fiber) is that writer,
   * waits until it is done, logging one line that says so. The wait is interruptible; the lock is released however
   * `effect` ends.
   */
  withLock<A, E, R>(
    channelId: number,
    stream: string,
    effect: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E | StoreError, R>
  /** The same lock, held until the scope closes (take several in ascending channel order: no two waiters cross). */
  lock(channelId: number, stream: string): Effect.Effect<void, StoreError, Scope.Scope>
}>()("tgpulse/store/ChannelLocks") {
  /** Advisory locks on PostgreSQL (several processes may share the database). */
  static readonly layer = Layer.effect(
    ChannelLocks,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const scope = yield* Effect.scope
      const mutex = yield* Semaphore.make(1)
      let connection: SqlConnection.Connection | undefined
      /** A statement on the lock connection (reserved once; reserved again after it broke, its locks gone). */
      const onLockConnection = (statement: string, key: string) =>
        mutex.withPermit(
          Effect.gen(function* () {
            connection ??= yield* Scope.provide(sql.reserve, scope)
            const rows = yield* connection.execute(statement, [key], undefined).pipe(
              Effect.tapError(() => Effect.sync(() => (connection = undefined))),
            )
            return (rows[0] as { ok?: unknown } | undefined)?.ok === true
          }),
        ).pipe(StoreError.mapError("ChannelLocks"))
      return make(
        (key) => onLockConnection("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", key),
        (key) => Effect.ignore(onLockConnection("SELECT pg_advisory_unlock(hashtextextended($1, 0)) AS ok", key)),
      )
    }),
  )

  /** This process's own rule only (the embedded database, which no other process can open). */
  static readonly layerInProcess = Layer.sync(ChannelLocks, () => make(() => Effect.succeed(true), () => Effect.void))
}

function make(
  tryRemote: (key: string) => Effect.Effect<boolean, StoreError>,
  releaseRemote: (key: string) => Effect.Effect<void>,
): ChannelLocks["Service"] {
  const held = new Set<string>()
  /** Takes the lock if it is free, in one uninterruptible step. */
  const tryTake = (key: string) =>
    Effect.suspend(() => {
      if (held.has(key)) return Effect.succeed(false)
      held.add(key)
      return tryRemote(key).pipe(
        Effect.tap((ok) => Effect.sync(() => ok || held.delete(key))),
        Effect.tapError(() => Effect.sync(() => held.delete(key))),
      )
    })
  const release = (key: string) =>
    Effect.suspend(() => {
      held.delete(key)
      return releaseRemote(key)
    })
  /** Waits (interruptibly, in `restore`) until the lock is taken; returns its key. */
  const take = (
    channelId: number,
    stream: string,
    restore: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  ) =>
    Effect.gen(function* () {
      const key = `tgpulse:${stream}:${channelId}`
      let said = false
      while (!(yield* tryTake(key))) {
        if (!said) {
          said = true
          yield* Effect.logWarning(
            `another tgpulse process (or task) is writing the ${stream} of channel ${channelId}: waiting until it is done`,
          ).pipe(Effect.annotateLogs({ stream }))
        }
        yield* restore(Effect.sleep(POLL))
      }
      if (said) yield* Effect.logInfo(`the other writer is done: going on`).pipe(Effect.annotateLogs({ stream }))
      return key
    })
  return ChannelLocks.of({
    withLock: (channelId, stream, effect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(take(channelId, stream, restore), (key) => restore(effect).pipe(Effect.ensuring(release(key))))
      ),
    lock: (channelId, stream) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(take(channelId, stream, restore), (key) => Effect.addFinalizer(() => release(key)))
      ),
  })
}
