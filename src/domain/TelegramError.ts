/** The one error every Telegram call can fail with, and its reasons; no GramJS knowledge here. */
import { Schema } from "effect"

/** FLOOD_WAIT_X and FLOOD_PREMIUM_WAIT_X: wait `seconds` before calling this method class again. */
export class FloodWait extends Schema.TaggedError<FloodWait>()("FloodWait", { seconds: Schema.Number }) {}

/** SLOWMODE_WAIT_X. */
export class SlowMode extends Schema.TaggedError<SlowMode>()("SlowMode", { seconds: Schema.Number }) {}

/** The account can no longer be used: its key was revoked, duplicated, or the user is gone. */
export class AuthRevoked extends Schema.TaggedError<AuthRevoked>()("AuthRevoked", {
  code: Schema.Number,
  errorMessage: Schema.String,
}) {}

/** The peer is unknown, private, banned or invalid for this account. */
export class PeerUnavailable extends Schema.TaggedError<PeerUnavailable>()("PeerUnavailable", {
  code: Schema.Number,
  errorMessage: Schema.String,
}) {}

/** A 303 *_MIGRATE_X: the request belongs to DC `dc`. */
export class Migrate extends Schema.TaggedError<Migrate>()("Migrate", {
  kind: Schema.String,
  dc: Schema.Number,
}) {}

/** The call did not complete within its timeout. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", { millis: Schema.Number }) {}

/** Worth retrying after a backoff: 5xx, internal errors, dropped connections. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  code: Schema.Number,
  errorMessage: Schema.String,
}) {}

/** Any other rpc_error (a 400 we did not expect) or a client failure we cannot classify. */
export class Unexpected extends Schema.TaggedError<Unexpected>()("Unexpected", {
  code: Schema.Number,
  errorMessage: Schema.String,
}) {}

export class TelegramError extends Schema.TaggedError<TelegramError>()("TelegramError", {
  method: Schema.String,
  account: Schema.String,
  reason: Schema.Union([FloodWait, SlowMode, AuthRevoked, PeerUnavailable, Migrate, Timeout, Transient, Unexpected]),
}) {
  override get message(): string {
    return `${this.method} on ${this.account}: ${describeReason(this.reason)}`
  }
}

/** A reason in a few words: "FloodWait 30 s", "STATS_MIGRATE_4", "400 CHANNEL_PRIVATE". */
export function describeReason(r: TelegramError["reason"]): string {
  switch (r._tag) {
    case "FloodWait":
    case "SlowMode":
      return `${r._tag} ${r.seconds} s`
    case "Migrate":
      return `${r.kind}_MIGRATE_${r.dc}`
    case "Timeout":
      return `no answer within ${r.millis} ms`
    default:
      // -1: a failure of the client itself (a refused connection, a dead proxy), described in words only.
      return r.code === -1 ? r.errorMessage : `${r.code} ${r.errorMessage}`
  }
}

export type TelegramErrorReason = TelegramError["reason"]
