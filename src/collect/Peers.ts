/** Channels named by the user, resolved once and cached; shared by every collector. */
import { type Cause, Clock, Duration, Effect, Option, Ref, Schema } from "effect"
import type { PeerRef } from "../domain/Refs.ts"
import type { ChannelRepo } from "../store/ChannelRepo.ts"
import type { ChannelInfo } from "../domain/Telegram.ts"
import type { PoolError, TelegramClient } from "../telegram/TelegramClient.ts"
import type { StoreError } from "../domain/Errors.ts"

/** `@name`, the id, an invite link's first characters or `all`, as the user wrote it. */
export function describePeer(ref: PeerRef): string {
  switch (ref._tag) {
    case "Username":
      return `@${ref.username}`
    case "Id":
      return String(ref.id)
    case "Invite":
      return `t.me/+${ref.hash.slice(0, 4)}…`
    case "All":
      return "all"
  }
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

/** What the resolver asks of the accounts' dialogs (the Dialogs service, src/collect/Dialogs.ts). */
export interface DialogLookup {
  find(id: number): Effect.Effect<Option.Option<{ readonly channel: ChannelInfo }>, PoolError | StoreError>
  restrict(id: number): Effect.Effect<void, StoreError>
  invite(hash: string, join?: boolean): Effect.Effect<ChannelInfo, PoolError | StoreError | ChannelUnavailable>
}

/**
 * A cached channel, or one resolved once over the network and cached with its access hash: a username by
 * contacts.resolveUsername, an id through the accounts' dialogs (private channels included), an invite link by
 * messages.checkChatInvite (joined with `join`, default MTPROTO_JOIN_INVITES). Without `dialogs`, a channel named by id
 * must have been resolved before, and invite links are refused.
 */
export const makeResolver = (
  telegram: TelegramClient["Service"],
  channels: ChannelRepo["Service"],
  dialogs?: DialogLookup,
) =>
  Effect.fn("resolvePeer")(function* (ref: PeerRef, options: { readonly join?: boolean | undefined } = {}) {
    if (ref._tag === "All") {
      return yield* new ChannelUnavailable({ reason: "all names every channel of the dialogs, not one channel" })
    }
    if (ref._tag === "Invite") {
      if (dialogs === undefined) {
        return yield* new ChannelUnavailable({ reason: `${describePeer(ref)}: invite links are not resolved here` })
      }
      return yield* dialogs.invite(ref.hash, options.join)
    }
    const cached = ref._tag === "Username" ? yield* channels.byUsername(ref.username) : yield* channels.byId(ref.id)
    if (Option.isSome(cached) && cached.value.accessHash) {
      if (!cached.value.username && dialogs !== undefined) yield* dialogs.restrict(cached.value.id)
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
      if (dialogs === undefined) {
        return yield* new ChannelUnavailable({
          reason: `Channel ${ref.id} has no cached access hash: name it once by username so it can be resolved`,
        })
      }
      const seen = yield* dialogs.find(ref.id)
      if (Option.isNone(seen)) {
        return yield* new ChannelUnavailable({
          reason: `Channel ${ref.id} is in no account's dialogs: join it with an account (or name its invite link ` +
            "t.me/+HASH, with MTPROTO_JOIN_INVITES=true or --join-invites), or name it by username",
        })
      }
      return seen.value.channel
    }
    const info = yield* telegram.resolveUsername(ref.username)
    yield* channels.upsert(info)
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
