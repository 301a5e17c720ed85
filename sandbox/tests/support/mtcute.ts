/**
 * Test support for mtcute (`@mtcute/node`), an MTProto client independent of GramJS: a client routed to the sandbox,
 * logins through its own `start()`, and waits on its emitters.
 */
import { type ConnectionState, MemoryStorage, TelegramClient, tl } from "@mtcute/node"
import { addPublicKey, NodeCryptoProvider } from "@mtcute/node/utils.js"
import type { Sandbox, SandboxOptions } from "../../Sandbox.ts"
import { SANDBOX_CODE } from "../../methods/auth.ts"
import { makeRsaKey } from "../../transport/Crypto.ts"
import { startSandbox, unlessHung } from "./sandbox.ts"

export { tl }
export type { TelegramClient }

/**
 * mtcute 0.28.2 looks a server's key up by its fingerprint in hex without leading zeros (`toString(16)`) in an index
 * keyed by 16 hex digits, so it cannot find a key whose fingerprint starts with a zero nibble (1 in 16 fresh keys; its
 * own list of Telegram's keys has one, 0bc35f3509f7b7a5) and retries the handshake forever. The sandboxes of these
 * tests share one key, made on first use, that has no such nibble.
 */
let mtcuteKey: Promise<string> | undefined

async function keyMtcuteFinds(): Promise<string> {
  for (;;) {
    const key = await makeRsaKey()
    if (!leadingZero(key.fingerprint)) return key.privatePem
  }
}

const leadingZero = (fingerprint: bigint) => BigInt.asUintN(64, fingerprint) >> 60n === 0n

/** `startSandbox` with an RSA key mtcute can find (see above). */
export async function startMtcuteSandbox(options: SandboxOptions = {}): ReturnType<typeof startSandbox> {
  return startSandbox({ ...options, rsaPrivatePem: await (mtcuteKey ??= keyMtcuteFinds()) })
}

/**
 * A client of the sandbox with a fresh in-memory session. The main DC is mtcute's `defaultDcs` (its first connection);
 * the other DCs it learns as from Telegram, from help.getConfig's dc_options (the sandbox lists each DC with its port).
 * The sandbox's RSA key joins mtcute's key index (`addPublicKey`: module state, as GramJS's `_serverKeys`). Production
 * mode (`testMode` off, so p_q_inner_data_dc names the plain DC id), as the sandbox's config says `test_mode: false`.
 * Transport: mtcute's default on Node, `TcpTransport`, whose codec is `IntermediatePacketCodec` (intermediate).
 * `catchUp`: the updates loop starts with a catch-up and says when it is done (`updatesReady`).
 */
export function mtcuteClient(sandbox: Sandbox): TelegramClient {
  const d = sandbox.descriptor
  if (leadingZero(BigInt(d.rsaPublicKey.fingerprint))) {
    throw new Error(
      "mtcute cannot find this sandbox's RSA key (fingerprint with a leading zero): use startMtcuteSandbox",
    )
  }
  const crypto = new NodeCryptoProvider()
  addPublicKey(crypto, d.rsaPublicKey.pem)
  const main = d.dcs.find((dc) => dc.id === d.mainDc)!
  const option = { id: main.id, ipAddress: main.host, port: main.port }
  return new TelegramClient({
    apiId: d.apiId,
    apiHash: d.apiHash,
    crypto,
    storage: new MemoryStorage(),
    defaultDcs: { main: option, media: { ...option, mediaOnly: true } },
    updates: { catchUp: true },
    logLevel: Number(Deno.env.get("MTCUTE_LOG") ?? 0),
  })
}

/** What a login through `start()` went through: the user, how the code was sent, what the server refused. */
export interface Login {
  readonly userId: number
  readonly sentCodeType: string | undefined
  readonly refused: ReadonlyArray<"code" | "password">
}

/**
 * Logs in through mtcute's own `start()`: the phone, then each code of `codes` in turn (the next after a refusal), then
 * each password of `passwords` when the server asks for one.
 */
export async function login(
  client: TelegramClient,
  phone: string,
  options: { readonly codes: ReadonlyArray<string>; readonly passwords?: ReadonlyArray<string> },
): Promise<Login> {
  const codes = [...options.codes]
  const passwords = [...(options.passwords ?? [])]
  const refused: Array<"code" | "password"> = []
  let sentCodeType: string | undefined
  const user = await unlessHung(
    `mtcute's login of ${phone}`,
    client.start({
      phone,
      code: () => Promise.resolve(codes.shift() ?? ""),
      password: () => Promise.resolve(passwords.shift() ?? ""),
      codeSentCallback: (sent) => {
        sentCodeType = sent.type
      },
      invalidCodeCallback: (kind) => {
        refused.push(kind)
      },
    }),
  )
  return { userId: user.id, sentCodeType, refused }
}

/** A client of the descriptor account `index`, logged in with the test code (and its 2FA password, if it has one). */
export async function loggedIn(sandbox: Sandbox, index: number): Promise<TelegramClient> {
  const account = sandbox.world.accounts[index]!
  const client = mtcuteClient(sandbox)
  const passwords = account.password ? [account.password] : []
  await Promise.all([updatesReady(client), login(client, account.phone, { codes: [SANDBOX_CODE], passwords })])
  return client
}

/**
 * Resolves once the updates loop has caught up after login (`updating`, then `connected`, as mtcute documents for
 * `catchUp`): from then on every update pushed reaches the client's emitters. Call it before logging in.
 */
export function updatesReady(client: TelegramClient): Promise<void> {
  const states: Array<ConnectionState> = []
  let handler: ((state: ConnectionState) => void) | undefined
  const ready = new Promise<void>((resolve) => {
    handler = (state) => {
      states.push(state)
      if (state === "connected" && states.includes("updating")) resolve()
    }
    client.onConnectionState.add(handler)
  })
  return unlessHung("mtcute's updates loop to catch up", ready).finally(() => client.onConnectionState.remove(handler!))
}

/** Resolves with the first value an mtcute emitter hands out that `match` accepts; fails as a hang otherwise. */
export function next<T>(
  what: string,
  emitter: { add(fn: (value: T) => void): void; remove(fn: (value: T) => void): void },
  match: (value: T) => boolean = () => true,
): Promise<T> {
  let handler: ((value: T) => void) | undefined
  const seen = new Promise<T>((resolve) => {
    handler = (value) => {
      if (match(value)) resolve(value)
    }
    emitter.add(handler)
  })
  return unlessHung(what, seen).finally(() => emitter.remove(handler!))
}

/** The RPC error mtcute threw (mtcute parses an X_MIGRATE_4 into the text X_MIGRATE_%d and a field); else rethrown. */
export async function rpcFailure(call: Promise<unknown>): Promise<tl.RpcError> {
  try {
    await call
  } catch (error) {
    if (tl.RpcError.is(error)) return error
    throw error
  }
  throw new Error("Expected an RPC error, the call succeeded")
}
