/** `deno task sandbox`: runs a local Telegram DC until interrupted and writes its descriptor file. */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { dirname } from "node:path"
import { intFlag, runTask } from "../src/Cli.ts"
import { callbackLogger } from "../src/observe/Logging.ts"
import { ConfigError } from "../src/domain/Errors.ts"
import { makeRsaKey } from "../src/sandbox/Crypto.ts"
import { parseFloodSpec } from "../src/sandbox/Flood.ts"
import { Sandbox } from "../src/sandbox/Sandbox.ts"

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

const sandbox = Command.make("sandbox", {
  channels: intFlag("channels", { description: "Public channels in the world", fallback: 4, min: 1, max: 10_000 }),
  posts: intFlag("posts", {
    description: "Posts per channel (generated on demand)",
    fallback: 1000,
    min: 1,
    max: 100_000_000,
  }),
  accounts: intFlag("accounts", { description: "Test accounts", fallback: 3, min: 1, max: 1_000 }),
  seed: Flag.Int("seed").pipe(Flag.withDescription("World seed: same seed, same world"), Flag.withDefault(1)),
  port: intFlag("port", {
    description: "Port of the main DC; the other DCs take the next ports (0 picks free ports)",
    fallback: 0,
    min: 0,
    max: 65_534,
  }),
  adminPort: intFlag("admin-port", {
    description: "Port of the admin API on 127.0.0.1 (0 picks a free port)",
    fallback: 0,
    min: 0,
    max: 65_535,
  }),
  out: Flag.String("out").pipe(
    Flag.withDescription("Where to write the descriptor"),
    Flag.withDefault(".tgpulse/sandbox.json"),
  ),
  flood: Flag.String("flood").pipe(
    Flag.withDescription(
      "Flood budgets from the start, repeatable: telegram (Telegram-like budgets) or METHOD:RATE:BURST[:USER_ID]; " +
        "default: none",
    ),
    Flag.atLeast(0),
    Flag.mapTryCatch((specs) => specs.flatMap(parseFloodSpec), (e) => (e as Error).message),
  ),
  rsaKey: Flag.String("rsa-key").pipe(
    Flag.withDescription("PKCS#8 PEM file of a fixed RSA key (default: a fresh key per run)"),
    Flag.optional,
  ),
}, (flags) =>
  Effect.gen(function* () {
    const log = yield* callbackLogger
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
            flood: flags.flood,
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
    yield* Effect.logInfo("sandbox ready").pipe(Effect.annotateLogs({
      descriptor: flags.out,
      admin: running.descriptor.admin,
      dcs: running.descriptor.dcs.map((d) => `${d.id}@${d.host}:${d.port}`).join(","),
    }))
    return yield* Effect.never
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription(
      "Run a local Telegram data centre (real MTProto) until interrupted, and write its descriptor file",
    ),
  )

runTask(sandbox)
