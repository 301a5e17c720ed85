/**
 * Takes the embedded database's lock of the directory given as the first argument, as tgpulse does, and prints
 * `taken` (then holds it until its stdin closes or it is killed) or `busy: <the error>`. Run by the lock tests.
 */
import { Effect } from "effect"
import { lockDataDir } from "../../src/store/DataDirLock.ts"

const dir = Deno.args[0]!
const print = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"))

await Effect.runPromise(Effect.scoped(
  lockDataDir(dir).pipe(
    Effect.andThen(Effect.sync(() => print("taken"))),
    Effect.andThen(Effect.promise(async () => {
      // Hold the lock until the test closes stdin.
      for await (const _ of Deno.stdin.readable) {
        // nothing to read
      }
    })),
    Effect.catch((error) => Effect.sync(() => print(`busy: ${error.message}`))),
  ),
))
