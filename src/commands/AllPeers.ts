/** `all` for the one-shot commands: the channels of the accounts' dialogs, or one line and exit 1 when unreadable. */
import { Console, Effect } from "effect"
import { ExitCode } from "../Cli.ts"
import { Dialogs } from "../collect/Dialogs.ts"
import type { PeerRef } from "../domain/Refs.ts"

/** `refs` with `all` replaced by the dialogs' channels; when they cannot be read, one line (the walk's offset is kept). */
export const expandAll = (refs: ReadonlyArray<PeerRef>, options: { readonly adminOnly?: boolean } = {}) =>
  Dialogs.use((d) => d.expand(refs, options)).pipe(
    Effect.catch((e) =>
      Effect.andThen(
        Console.error(
          `the accounts' dialogs could not be read (the next run goes on where this one stopped): ${e.message}`,
        ),
        Effect.fail(new ExitCode(1)),
      )
    ),
  )
