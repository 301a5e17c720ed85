/** `deno task sandbox`: runs a local Telegram DC until interrupted and writes its descriptor file. */
import { Effect, Option } from "effect"
import { dirname } from "node:path"
import { callbackLogger } from "../observe/Logging.ts"
import { ConfigError } from "../domain/Errors.ts"
import { makeRsaKey, Sandbox } from "@tgpulse/sandbox"
import type { SandboxFlags } from "./Commands.ts"

const messageOf = (e: unknown): string => e instanceof Error ? e.message : String(e)

/** Reads and checks a fixed RSA key; a missing file or a bad key is the user's to fix. */
const readRsaKey = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const pem = await Deno.readTextFile(file)
      await makeRsaKey(pem)
      return pem
    },
    catch: (e) =>
      new ConfigError({ variable: "--rsa-key", message: `Cannot use --rsa-key "${file}": ${messageOf(e)}` }),
  })

/** The sandbox command's work (its flags and description: ./Commands.ts). */
export const run = (flags: SandboxFlags) =>
  Effect.gen(function* () {
    const log = yield* callbackLogger
    const wildcard = flags.host === "0.0.0.0" || flags.host === "::"
    if (wildcard && Option.isNone(flags.advertise)) {
      return yield* new ConfigError({
        variable: "--advertise",
        message: `The DCs listen on ${flags.host}: pass --advertise HOST, the name clients reach them by`,
      })
    }
    const rsaKeyFile = Option.getOrUndefined(flags.rsaKey)
    const rsaPrivatePem = rsaKeyFile === undefined ? undefined : yield* readRsaKey(rsaKeyFile)
    const running = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          Sandbox.start({
            seed: flags.seed,
            channels: flags.channels,
            posts: flags.posts,
            accounts: flags.accounts,
            port: flags.port,
            adminPort: flags.adminPort,
            host: flags.host,
            adminHost: flags.adminHost,
            ...(Option.isSome(flags.advertise) ? { advertiseHost: flags.advertise.value } : {}),
            flood: flags.flood,
            refuseDuplicateKeys: flags.refuseDuplicateKeys,
            ...(rsaPrivatePem === undefined ? {} : { rsaPrivatePem }),
            log,
          }),
        catch: (e) =>
          e instanceof Deno.errors.AddrInUse
            ? new ConfigError({
              variable: "--port",
              message: `Cannot listen on --port ${flags.port} / --admin-port ${flags.adminPort}: address in use ` +
                "(another sandbox running? 0 picks free ports)",
            })
            : new Error(`Cannot start the sandbox: ${messageOf(e)}`),
      }),
      (s) => Effect.promise(() => s.stop()).pipe(Effect.andThen(Effect.logInfo("sandbox stopped"))),
    )
    yield* Effect.tryPromise({
      try: async () => {
        await Deno.mkdir(dirname(flags.out), { recursive: true })
        await Deno.writeTextFile(flags.out, JSON.stringify(running.descriptor, null, 2) + "\n", { mode: 0o600 })
      },
      catch: (e) =>
        new ConfigError({
          variable: "--out",
          message: `Cannot write the descriptor to "${flags.out}": ${messageOf(e)}`,
        }),
    })
    if (flags.activity > 0) {
      // Background changes on every public channel, as if readers and authors were busy (through the admin API).
      const channels = running.descriptor.channels.filter((c) => !c.private)
      const rate = flags.activity / channels.length
      for (const c of channels) running.control.activity.start(c.id, { count: 1_000_000, rate })
    }
    yield* Effect.logInfo("sandbox ready").pipe(Effect.annotateLogs({
      descriptor: flags.out,
      admin: running.descriptor.admin,
      dcs: running.descriptor.dcs.map((d) => `${d.id}@${d.host}:${d.port}`).join(","),
    }))
    return yield* Effect.never
  }).pipe(Effect.scoped)
