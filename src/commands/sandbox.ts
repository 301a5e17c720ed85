/** `deno task sandbox`: runs a local Telegram DC until interrupted and writes its descriptor file. */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { dirname } from "node:path"
import { intFlag } from "../Cli.ts"
import { callbackLogger } from "../observe/Logging.ts"
import { ConfigError } from "../domain/Errors.ts"
import { makeRsaKey, methodName, parseFloodSpec, Sandbox } from "@tgpulse/sandbox"

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

export const sandbox = Command.make("sandbox", {
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
  host: Flag.String("host").pipe(
    Flag.withDescription("Address the DCs listen on (0.0.0.0 in a container: then --advertise is needed)"),
    Flag.withDefault("127.0.0.1"),
  ),
  advertise: Flag.String("advertise").pipe(
    Flag.withDescription("Host the descriptor names for the DCs, as clients reach it (default: --host)"),
    Flag.optional,
  ),
  adminHost: Flag.String("admin-host").pipe(
    Flag.withDescription("Address of the admin API (it can change the world: only a private network)"),
    Flag.withDefault("127.0.0.1"),
  ),
  activity: Flag.Finite("activity").pipe(
    Flag.withDescription(
      "Changes per second (new posts, edits, deletions, views, forwards, reactions) spread over the public " +
        "channels, running in the background from the start; 0 for none",
    ),
    Flag.withDefault(0),
    Flag.filter((n) => n >= 0 && n <= 10_000, (n) => `Flag --activity must be from 0 to 10000, got ${n}`),
  ),
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
    Flag.mapTryCatch(
      (specs) => specs.flatMap(parseFloodSpec).map((budget) => ({ ...budget, method: methodName(budget.method) })),
      (e) => (e as Error).message,
    ),
  ),
  rsaKey: Flag.String("rsa-key").pipe(
    Flag.withDescription("PKCS#8 PEM file of a fixed RSA key (default: a fresh key per run)"),
    Flag.optional,
  ),
  refuseDuplicateKeys: Flag.Boolean("refuse-duplicate-keys").pipe(
    Flag.withDescription(
      "Answer 406 AUTH_KEY_DUPLICATED, as Telegram does, to a key used by two sessions at once (default: count them)",
    ),
    Flag.withDefault(false),
  ),
}, (flags) =>
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
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription(
      "Run a local Telegram data centre (real MTProto) until interrupted, and write its descriptor file",
    ),
  )
