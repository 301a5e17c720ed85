/**
 * The embedded database's lock: an OS file lock (flock) on `<dataDir>/pgdata.lock`, held by the open file for as long
 * as the process keeps it. The kernel releases it when the process ends, however it ends, so a lock is never stale
 * (a container restarted after a kill gets pid 1 again and still starts), and two processes can never both hold it
 * (PGlite corrupts a data directory that two processes open).
 */
import { Effect, type Scope } from "effect"
import { StoreError } from "../domain/Errors.ts"

const fail = (message: string, cause?: unknown) =>
  new StoreError({ operation: "lock", message, ...(cause === undefined ? {} : { cause }) })

/**
 * Takes the lock for the scope, or fails at once (never waits) naming the process that holds it. The pid written in
 * the file only informs that message; the lock itself is the kernel's.
 */
export const lockDataDir = (dataDir: string): Effect.Effect<void, StoreError, Scope.Scope> => {
  const path = `${dataDir}/pgdata.lock`
  const take = Effect.tryPromise({
    try: async () => {
      await Deno.mkdir(dataDir, { recursive: true })
      const file = await Deno.open(path, { read: true, write: true, create: true })
      if (!(await file.tryLock(true))) {
        file.close()
        const owner = Number.parseInt(await Deno.readTextFile(path).catch(() => ""), 10)
        return { file: undefined, owner: Number.isInteger(owner) && owner > 0 ? owner : undefined }
      }
      await file.truncate(0)
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`))
      return { file, owner: undefined }
    },
    catch: (cause) => fail(`Cannot lock "${path}": ${cause instanceof Error ? cause.message : String(cause)}`, cause),
  }).pipe(
    Effect.flatMap(({ file, owner }) =>
      file !== undefined ? Effect.succeed(file) : Effect.fail(
        fail(
          `The embedded database "${dataDir}/pgdata" is in use by another tgpulse process` +
            (owner === undefined ? "" : ` (pid ${owner})`) + `: stop it or set DATABASE_URL`,
        ),
      )
    ),
  )
  return Effect.asVoid(
    Effect.acquireRelease(take, (file) =>
      Effect.sync(() => {
        // Closing the file releases the lock; the file stays (removing it would race with a process opening it).
        file.close()
      })),
  )
}
