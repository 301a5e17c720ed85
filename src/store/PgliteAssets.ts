/**
 * PGlite's runtime files (the PostgreSQL wasm, initdb's wasm and the file-system bundle), loaded from an explicit
 * directory and handed to PGlite, instead of PGlite finding them beside its own module (which only works from
 * `node_modules`, not from a bundle or a compiled binary).
 */
import { Effect } from "effect"
import { StoreError } from "../domain/Errors.ts"

/** The files PGlite needs, as they are named in its package's `dist/`. */
export const PGLITE_FILES = ["pglite.wasm", "initdb.wasm", "pglite.data"] as const

export interface PgliteAssets {
  readonly pgliteWasmModule: WebAssembly.Module
  readonly initdbWasmModule: WebAssembly.Module
  readonly fsBundle: Blob
}

/** The installed package's `dist/` (in `node_modules`, or embedded in a compiled binary). */
export function packagedPgliteDir(): string | undefined {
  try {
    return new URL(".", import.meta.resolve("@electric-sql/pglite")).pathname
  } catch {
    return undefined
  }
}

/**
 * Reads and compiles the files in `dir` (TGPULSE_PGLITE_DIR, else the installed package's). A missing or unreadable
 * file fails with a StoreError naming the directory, the file and the variable that points elsewhere.
 */
export const loadPgliteAssets = (dir: string | undefined): Effect.Effect<PgliteAssets, StoreError> => {
  const where = dir ?? packagedPgliteDir()
  const fail = (message: string, cause?: unknown) =>
    new StoreError({ operation: "open", message, ...(cause === undefined ? {} : { cause }) })
  if (where === undefined) {
    return Effect.fail(
      fail("Cannot find PGlite's files: set TGPULSE_PGLITE_DIR to a directory holding " + PGLITE_FILES.join(", ")),
    )
  }
  const path = (file: string) => `${where.replace(/\/+$/, "")}/${file}`
  const read = (file: string) =>
    Effect.tryPromise({
      try: () => Deno.readFile(path(file)),
      catch: (cause) =>
        fail(
          `Cannot read PGlite's "${file}" in "${where}" (${
            cause instanceof Deno.errors.NotFound ? "no such file" : String(cause)
          }): set TGPULSE_PGLITE_DIR to a directory holding ${PGLITE_FILES.join(", ")}`,
          cause,
        ),
    })
  const compile = (file: string) =>
    Effect.flatMap(read(file), (bytes) =>
      Effect.tryPromise({
        try: () => WebAssembly.compile(bytes),
        catch: (cause) => fail(`PGlite's "${file}" in "${where}" is not a WebAssembly module`, cause),
      }))
  return Effect.all({
    pgliteWasmModule: compile("pglite.wasm"),
    initdbWasmModule: compile("initdb.wasm"),
    fsBundle: Effect.map(read("pglite.data"), (bytes) => new Blob([bytes])),
  }, { concurrency: 3 })
}
