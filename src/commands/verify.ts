/**
 * `deno task verify`: checks the edit and deletion log's hash chains (migration 10) in TypeScript, every entry's hash
 * recomputed from its fields: of one channel (`--channel`) or all, in the database, or of an exported file (`--file`,
 * one entry per JSON line, as `--export` writes them). Exit 0 with a "chain verified" line per channel; 1 naming the
 * channel, its first bad entry and what is wrong.
 */
import { Console, Effect, Layer, Option } from "effect"
import { SqlLive } from "../App.ts"
import { ExitCode } from "../Cli.ts"
import { type ChainBreak, type ChainEntry, ChainVerifier, entryFromJson, entryToJson } from "../domain/Chain.ts"
import { ConfigError } from "../domain/Errors.ts"
import { ChainRepo, verifyStoredChain } from "../store/ChainRepo.ts"
import type { VerifyFlags } from "./Commands.ts"

/** The line of a broken chain. */
export const breakLine = (b: ChainBreak) =>
  `channel ${b.channelId}: chain broken at seq ${b.seq}${b.msgId === null ? "" : ` (msg ${b.msgId})`}: ${b.message}`

const okLine = (channelId: number, count: number) => `channel ${channelId}: ${count} entries, chain verified`

/** Every channel of an exported file, each chain checked in the file's order (no head to compare the end with). */
const verifyFile = (path: string, channel: number | undefined) =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => Deno.readTextFile(path),
      catch: (e) =>
        new ConfigError({ variable: "--file", message: `--file ${path}: cannot read it (${(e as Error).message})` }),
    })
    const verifiers = new Map<number, ChainVerifier>()
    const broken = new Map<number, ChainBreak>()
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "") continue
      let entry: ChainEntry
      try {
        entry = entryFromJson(line)
      } catch (e) {
        return yield* Effect.fail(
          new ConfigError({ variable: "--file", message: `--file ${path}, line ${i + 1}: ${(e as Error).message}` }),
        )
      }
      if (channel !== undefined && entry.channelId !== channel) continue
      let v = verifiers.get(entry.channelId)
      if (!v) verifiers.set(entry.channelId, v = new ChainVerifier(entry.channelId))
      const b = v.push(entry)
      if (b && !broken.has(entry.channelId)) broken.set(entry.channelId, b)
    }
    return [...verifiers.values()].map((v) => ({
      channelId: v.channelId,
      count: v.count,
      broken: broken.get(v.channelId),
    }))
  })

/** `--export`'s file, open for writing while the chains are read (closed however that ends); a ConfigError if it cannot be. */
const exportFile = (path: string) => {
  const failed = (e: unknown) =>
    new ConfigError({ variable: "--export", message: `--export ${path}: cannot write it (${(e as Error).message})` })
  return Effect.map(
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => Deno.open(path, { write: true, create: true, truncate: true }), catch: failed }),
      (file) => Effect.sync(() => file.close()),
    ),
    (file) => {
      const encoder = new TextEncoder()
      return (page: ReadonlyArray<ChainEntry>) =>
        Effect.tryPromise({
          try: () => file.write(encoder.encode(page.map((e) => `${entryToJson(e)}\n`).join(""))),
          catch: failed,
        }).pipe(Effect.asVoid)
    },
  )
}

/** Every channel's stored chain (or the one named), checked in one read that also writes `exportTo` (every entry). */
const verifyDatabase = (channel: number | undefined, exportTo: string | undefined) =>
  Effect.gen(function* () {
    const repo = yield* ChainRepo
    const write = exportTo === undefined ? undefined : yield* exportFile(exportTo)
    const ids = channel === undefined ? yield* repo.channels() : [channel]
    const results = []
    for (const id of ids) results.push({ channelId: id, ...(yield* verifyStoredChain(id, write)) })
    return results
  }).pipe(Effect.scoped, Effect.provide(ChainRepo.layer.pipe(Layer.provide(SqlLive))))

/** `--channel`: a numeric id, bare or in its -100... form. */
const channelOf = (raw: string | undefined) => {
  if (raw === undefined) return Effect.succeed(undefined)
  const m = /^(-100)?(\d{1,15})$/.exec(raw.trim())
  return m ? Effect.succeed(Number(m[2])) : Effect.fail(
    new ConfigError({ variable: "--channel", message: `--channel: expected a numeric channel id, got "${raw}"` }),
  )
}

/** The verify command's work (its flags and description: ./Commands.ts). */
export const run = (flags: VerifyFlags) =>
  Effect.gen(function* () {
    const channel = yield* channelOf(Option.getOrUndefined(flags.channel))
    const file = Option.getOrUndefined(flags.file)
    const exportTo = Option.getOrUndefined(flags.export)
    if (file !== undefined && exportTo !== undefined) {
      return yield* Effect.fail(
        new ConfigError({ variable: "--export", message: "--file and --export: one or the other" }),
      )
    }
    const results = file !== undefined ? yield* verifyFile(file, channel) : yield* verifyDatabase(channel, exportTo)
    if (results.length === 0) {
      yield* Console.log(channel === undefined ? "no chain to verify" : `channel ${channel}: 0 entries, no chain`)
    }
    let bad = 0
    for (const r of results) {
      if (r.broken) {
        bad++
        yield* Console.error(breakLine(r.broken))
      } else {
        yield* Console.log(okLine(r.channelId, r.count))
      }
    }
    if (bad > 0) return yield* Effect.fail(new ExitCode(1))
  })
