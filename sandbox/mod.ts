/**
 * `@tgpulse/sandbox`: a local Telegram data centre speaking real MTProto 2.0, with a deterministic world and an admin
 * API. This is its public face for tgpulse, its tests and benchmarks; everything else in the package is internal.
 */
export { Sandbox, SANDBOX_API_ID, type SandboxOptions, stringSession } from "./Sandbox.ts"
export { type Descriptor, parseDescriptor } from "./descriptor.ts"
export type { Fault, FloodBudget, LogEntry, PushEntry, PushKind } from "./control/Control.ts"
export { parseFloodSpec, TELEGRAM_LIKE_BUDGETS } from "./control/Flood.ts"
export type { LogFn, LogLevel } from "./session/Dc.ts"
export { authKeyOfSession, RawClient, type SendOptions, type ServerMessage } from "./session/RawClient.ts"
export { methodName } from "./tl/MethodNames.ts"
export { renderMessage } from "./tl/Render.ts"
export { makeRsaKey, type RsaKey } from "./transport/Crypto.ts"
/** The world's data shapes: channels, accounts, posts, history queries and pages, changes, events, `WorldApi`. */
export type * from "./world/Model.ts"
export { SANDBOX_PASSWORD, type WorldOptions } from "./world/Genesis.ts"
export { historyHash, historyQuery } from "./world/History.ts"
export { World } from "./world/World.ts"
