/** RpcError: every GramJS error shape maps to the right TelegramError reason. */
import { errors } from "telegram"
import { reasonOf } from "../../src/telegram/RpcError.ts"
import { assertEquals } from "../support/assert.ts"

const rpc = (message: string, code: number) => new errors.RPCError(message, undefined as any, code)
const { FloodWaitError, SlowModeWaitError, UserMigrateError, PhoneMigrateError } = errors

const cases: ReadonlyArray<[string, unknown, Record<string, unknown>]> = [
  ["FloodWaitError", new FloodWaitError({ request: undefined, capture: 37 }), { _tag: "FloodWait", seconds: 37 }],
  ["FLOOD_PREMIUM_WAIT as plain RPCError", rpc("FLOOD_PREMIUM_WAIT_12", 420), {
    _tag: "FloodWait",
    seconds: 12,
  }],
  ["SlowModeWaitError", new SlowModeWaitError({ request: undefined, capture: 5 }), { _tag: "SlowMode", seconds: 5 }],
  ["UserMigrateError", new UserMigrateError({ request: undefined, capture: 4 }), {
    _tag: "Migrate",
    kind: "USER",
    dc: 4,
  }],
  ["PhoneMigrateError", new PhoneMigrateError({ request: undefined, capture: 1 }), {
    _tag: "Migrate",
    kind: "PHONE",
    dc: 1,
  }],
  ["STATS_MIGRATE", rpc("STATS_MIGRATE_4", 303), { _tag: "Migrate", kind: "STATS", dc: 4 }],
  ["AUTH_KEY_UNREGISTERED", rpc("AUTH_KEY_UNREGISTERED", 401), {
    _tag: "AuthRevoked",
    code: 401,
    errorMessage: "AUTH_KEY_UNREGISTERED",
  }],
  ["AUTH_KEY_DUPLICATED", rpc("AUTH_KEY_DUPLICATED", 406), {
    _tag: "AuthRevoked",
    code: 406,
    errorMessage: "AUTH_KEY_DUPLICATED",
  }],
  ["SESSION_REVOKED", rpc("SESSION_REVOKED", 401), {
    _tag: "AuthRevoked",
    code: 401,
    errorMessage: "SESSION_REVOKED",
  }],
  ["CHANNEL_PRIVATE", rpc("CHANNEL_PRIVATE", 406), {
    _tag: "PeerUnavailable",
    code: 406,
    errorMessage: "CHANNEL_PRIVATE",
  }],
  ["USERNAME_NOT_OCCUPIED", rpc("USERNAME_NOT_OCCUPIED", 400), {
    _tag: "PeerUnavailable",
    code: 400,
    errorMessage: "USERNAME_NOT_OCCUPIED",
  }],
  ["500", rpc("INTERNAL_SERVER_ERROR", 500), {
    _tag: "Transient",
    code: 500,
    errorMessage: "INTERNAL_SERVER_ERROR",
  }],
  ["network", new Error("Not connected"), { _tag: "Transient", code: -1, errorMessage: "Not connected" }],
  ["other 400", rpc("MESSAGE_IDS_EMPTY", 400), {
    _tag: "Unexpected",
    code: 400,
    errorMessage: "MESSAGE_IDS_EMPTY",
  }],
]

for (const [name, error, expected] of cases) {
  Deno.test(`RpcError.reasonOf maps ${name}`, () => {
    const reason = reasonOf(error)
    const { _tag, ...fields } = reason as unknown as Record<string, unknown>
    assertEquals({ _tag, ...fields }, expected)
  })
}
