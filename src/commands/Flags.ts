/**
 * Command-line values that stand for settings: a flag is held to its variable's schema, and a channel list to the
 * same parser as MTPROTO_PEERS; a bad one is a ConfigError naming the flag.
 */
import { Effect } from "effect"
import { settingOf } from "../Config.ts"
import { ConfigError } from "../domain/Errors.ts"
import { listEntries, parsePeerRef, type PeerRef, PEERS_EXPECTED } from "../domain/Refs.ts"

/** The value of `flag` (`--concurrency` for MTPROTO_CONCURRENCY) if `variable` would accept it. */
export const flagAs = (
  flag: string,
  variable: "MTPROTO_CONCURRENCY" | "MTPROTO_HISTORY_LIMIT_PER_RUN",
  value: number,
): Effect.Effect<number, ConfigError> => {
  const spec = settingOf(variable)!
  const parsed = spec.schema.safeParse(String(value))
  return parsed.success ? Effect.succeed(parsed.data as number) : Effect.fail(
    new ConfigError({
      variable: flag,
      message: `Invalid ${flag} ${value}: expected ${spec.expected} (as ${variable})`,
    }),
  )
}

/** "a,b,123": channel references, or a ConfigError naming `source` and the bad entry. */
export const peerList = (raw: string, source: string): Effect.Effect<ReadonlyArray<PeerRef>, ConfigError> => {
  const parts = listEntries(raw)
  const refs = parts.map(parsePeerRef)
  const bad = parts.find((_, i) => refs[i] === undefined)
  return bad === undefined && refs.length > 0 ? Effect.succeed(refs as ReadonlyArray<PeerRef>) : Effect.fail(
    new ConfigError({
      variable: source,
      message: `Invalid ${source} "${raw}"${
        bad === undefined ? "" : ` (bad entry "${bad}")`
      }: expected ${PEERS_EXPECTED}`,
    }),
  )
}
