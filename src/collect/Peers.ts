/** Channels named by the user, resolved once and cached; shared by every collector. */
import { type Cause, Clock, Duration, Effect, Option, Ref, Schema } from "effect"
import type { PeerRef } from "../domain/Refs.ts"
import type { ChannelRepo } from "../store/ChannelRepo.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import type { TelegramClient } from "../telegram/TelegramClient.ts"

/** `@name` or the id, as the user wrote it. */
export function describePeer(ref: PeerRef): string {
  return ref._tag === "Username" ? `@${ref.username}` : String(ref.id)
}

/** A resolved channel named as the user would: by its username when it has one, else by its id. */
export const refOf = (channel: { readonly id: number; readonly username: string | null }): PeerRef =>
  channel.username ? { _tag: "Username", username: channel.username } : { _tag: "Id", id: channel.id }

/** `@name`, else the id, of a resolved channel. */
export const describeChannel = (channel: { readonly id: number; readonly username: string | null }): string =>
  describePeer(refOf(channel))

/** A channel that cannot be used for a reason the user must fix (unknown, private, no access hash). */
export class ChannelUnavailable extends Schema.TaggedError<ChannelUnavailable>()("ChannelUnavailable", {
  reason: Schema.String,
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * A cached channel, or one resolved once over the network (contacts.resolveUsername) and cached with its access
 * hash. A channel named by id only must have been resolved by username before.
 */
export const makeResolver = (telegram: TelegramClient["Service"], channels: ChannelRepo["Service"]) =>
  Effect.fn("resolvePeer")(function* (ref: PeerRef) {
    const cached = ref._tag === "Username" ? yield* channels.byUsername(ref.username) : yield* channels.byId(ref.id)
    if (Option.isSome(cached) && cached.value.accessHash) {
      return {
        id: cached.value.id,
        accessHash: cached.value.accessHash,
        username: cached.value.username,
        title: cached.value.title,
        kind: cached.value.kind,
        participantsCount: cached.value.participantsCount ?? null,
      } satisfies ChannelInfo
    }
    if (ref._tag === "Id") {
      return yield* Effect.fail(
        new ChannelUnavailable({
          reason: `Channel ${ref.id} has no cached access hash: name it once by username so it can be resolved`,
        }),
      )
    }
    const info = yield* telegram.resolveUsername(ref.username)
    yield* channels.upsert({
      id: info.id,
      accessHash: info.accessHash,
      username: info.username,
      title: info.title,
      kind: info.kind,
      participantsCount: info.participantsCount,
    })
    return info
  })

/** One line for a failed task: the error's own message, never a stack trace. */
export function failureMessage(cause: Cause.Cause<unknown>): string {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") {
      const e = reason.error as { message?: unknown }
      return typeof e?.message === "string" ? e.message : String(reason.error)
    }
    if (reason._tag === "Die") {
      const d = reason.defect as { message?: unknown }
      return typeof d?.message === "string" ? d.message : String(reason.defect)
    }
  }
  return "interrupted"
}

/** What every per-peer outcome carries: the runner marks a peer failed with its one-line reason. */
interface PeerOutcome {
  readonly status: string
  readonly error: string | undefined
  readonly seconds: number
}

/**
 * Runs `task` for every peer (at most `concurrency` at once), each with its own outcome cell; one peer's failure (or
 * defect) never stops the others: its cell says "failed" with the error's own message, and one error line is logged.
 * Logs inside carry the peer and the stream. With `pauseSeconds`, a peer's slot waits that long after it before the
 * next peer starts there (none after the last ones).
 */
export const forEachPeer = <S extends PeerOutcome, R>(
  refs: ReadonlyArray<PeerRef>,
  cells: ReadonlyArray<Ref.Ref<S>>,
  options: {
    readonly concurrency: number
    readonly stream: string
    readonly failed: string
    readonly pauseSeconds?: number
  },
  task: (ref: PeerRef, cell: Ref.Ref<S>) => Effect.Effect<void, unknown, R>,
): Effect.Effect<void, never, R> => {
  let begun = 0
  const pause = Effect.suspend(() =>
    (options.pauseSeconds ?? 0) > 0 && begun < refs.length
      ? Effect.logInfo(`pausing ${options.pauseSeconds} s before the next channel`).pipe(
        Effect.andThen(Effect.sleep(Duration.seconds(options.pauseSeconds!))),
      )
      : Effect.void
  )
  return Effect.forEach(
    refs.map((ref, i) => [ref, cells[i]!] as const),
    ([ref, cell]) =>
      Effect.gen(function* () {
        begun += 1
        const started = yield* Clock.currentTimeMillis
        yield* task(ref, cell).pipe(
          Effect.catchCause((cause) =>
            Effect.gen(function* () {
              const message = failureMessage(cause)
              const ended = yield* Clock.currentTimeMillis
              yield* Ref.update(
                cell,
                (p) => ({ ...p, status: "failed", error: message, seconds: (ended - started) / 1000 }),
              )
              yield* Effect.logError(options.failed).pipe(Effect.annotateLogs({ error: message }))
            })
          ),
          Effect.annotateLogs({ channel: describePeer(ref), stream: options.stream }),
        )
        yield* pause
      }),
    { concurrency: Math.max(1, options.concurrency), discard: true },
  )
}
