/**
 * Every subcommand as the command line sees it: its name, flags, arguments and description. Its work is in its own
 * module (`./load_stats.ts` for load-stats...), loaded only when it runs: a command loads no other command's module
 * graph (the HTTP server, the cluster, the sandbox...). sync-history, below, is the one exception.
 */
import { Effect } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { intFlag, lazyHandler } from "../Cli.ts"

/**
 * sync-history is imported with the rest, not when it runs: under deno.json's `"nodeModulesDir": "auto"`, Deno checks
 * the npm packages of a dynamically imported graph at run time, which cost sync-history ~0.2 s of start-up (issue 20:
 * measured 860 ms lazily against 640 ms so, to the sandbox's first request); with "manual" the two were equal.
 */
export { syncHistory } from "./sync_history.ts"

const pollUpdatesFlags = {
  restart: Flag.Boolean("restart").pipe(
    Flag.withDescription("Restart after a failure, with exponential backoff (default); --no-restart: exit 1"),
    Flag.optional,
  ),
  positional: Argument.String("restart").pipe(
    Argument.withDescription("The original form: true (restart) or false"),
    Argument.optional,
  ),
}
/** What `poll-updates` was given. */
export type PollUpdatesFlags = Command.Command.Config.Infer<typeof pollUpdatesFlags>

export const pollUpdates = Command.make(
  "poll-updates",
  pollUpdatesFlags,
  lazyHandler(() => import("./poll_updates.ts")),
).pipe(Command.withDescription("Follow the channels' live updates (with gap recovery) until interrupted"))

const loadStatsFlags = {
  peers: Flag.String("peers").pipe(
    Flag.withDescription("Peers, comma-separated usernames or ids (default: MTPROTO_STATS_PEERS, else MTPROTO_PEERS)"),
    Flag.optional,
  ),
}
/** What `load-stats` was given. */
export type LoadStatsFlags = Command.Command.Config.Infer<typeof loadStatsFlags>

export const loadStats = Command.make("load-stats", loadStatsFlags, lazyHandler(() => import("./load_stats.ts"))).pipe(
  Command.withDescription("Load the official statistics of admin-owned channels into PostgreSQL"),
)

export const serve = Command.make("serve", {}, lazyHandler(() => import("./serve.ts"))).pipe(
  Command.withDescription("Run every enabled collector and the health server until SIGTERM"),
)

const reportFlags = {
  channel: Flag.String("channel").pipe(Flag.withDescription("One channel: its id or username"), Flag.optional),
  from: Flag.String("from").pipe(
    Flag.withDescription("Posts from this date (YYYY-MM-DD, UTC; default: all)"),
    Flag.optional,
  ),
  to: Flag.String("to").pipe(Flag.withDescription("Posts before this date (default: now)"), Flag.optional),
  format: Flag.String("format").pipe(Flag.withDescription("text (default), json or csv"), Flag.optional),
}
/** What `report` was given. */
export type ReportFlags = Command.Command.Config.Infer<typeof reportFlags>

export const report = Command.make("report", reportFlags, lazyHandler(() => import("./report.ts"))).pipe(
  Command.withDescription("What was collected: per channel, its figures and most viewed posts"),
)

const loginFlags = {
  name: Argument.String("name").pipe(
    Argument.withDescription(
      "The session's name: its file under TGPULSE_DATA_DIR/sessions, listed in MTPROTO_ACCOUNTS",
    ),
    Argument.optional,
  ),
  phone: Flag.String("phone").pipe(
    Flag.withDescription("The account's phone number in international format (asked when not given)"),
    Flag.optional,
  ),
  print: Flag.Boolean("print").pipe(
    Flag.withDescription("Print the session string once (for a secret store) instead of writing a file"),
    Flag.withDefault(false),
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("Replace an existing session file of that name"),
    Flag.withDefault(false),
  ),
}
/** What `login` was given. */
export type LoginFlags = Command.Command.Config.Infer<typeof loginFlags>

export const loginCommand = Command.make("login", loginFlags, lazyHandler(() => import("./login.ts"))).pipe(
  Command.withDescription(
    "Sign a Telegram account in (phone, code, 2FA password) and save its session for MTPROTO_ACCOUNTS",
  ),
)

const verifyFlags = {
  channel: Flag.String("channel").pipe(
    Flag.withDescription("One channel's chain: its numeric id, bare or -100... (default: every channel)"),
    Flag.optional,
  ),
  file: Flag.String("file").pipe(
    Flag.withDescription("Verify an exported chain (one entry per JSON line) instead of the database"),
    Flag.optional,
  ),
  export: Flag.String("export").pipe(
    Flag.withDescription(
      "Also write the chains checked to this file, one entry per JSON line (verifiable with --file)",
    ),
    Flag.optional,
  ),
}
/** What `verify` was given. */
export type VerifyFlags = Command.Command.Config.Infer<typeof verifyFlags>

export const verify = Command.make("verify", verifyFlags, lazyHandler(() => import("./verify.ts"))).pipe(
  Command.withDescription(
    "Check the edit and deletion log's hash chains: every entry's hash recomputed, no gap, each linked to the one before",
  ),
)

export const migrate = Command.make("migrate", {}, lazyHandler(() => import("./migrate.ts"))).pipe(
  Command.withDescription("Apply pending database migrations (DATABASE_URL, or the embedded database)"),
)

/**
 * `--flood` specs as the sandbox's budgets, checked at parse time (a bad one is a usage error naming the flag); the
 * sandbox's parser is loaded only when the sandbox command's flags are parsed.
 */
const floodBudgets = (specs: ReadonlyArray<string>) =>
  Effect.flatMap(Effect.promise(() => import("@tgpulse/sandbox")), ({ methodName, parseFloodSpec }) =>
    Effect.try({
      try: () => specs.flatMap(parseFloodSpec).map((budget) => ({ ...budget, method: methodName(budget.method) })),
      catch: (e) =>
        new CliError.InvalidValue({
          option: "flood",
          value: String(specs),
          expected: (e as Error).message,
          kind: "flag",
        }),
    }))

const sandboxFlags = {
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
    Flag.mapEffect(floodBudgets),
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
}
/** What `sandbox` was given. */
export type SandboxFlags = Command.Command.Config.Infer<typeof sandboxFlags>

export const sandbox = Command.make("sandbox", sandboxFlags, lazyHandler(() => import("./sandbox.ts"))).pipe(
  Command.withDescription(
    "Run a local Telegram data centre (real MTProto) until interrupted, and write its descriptor file",
  ),
)

const demoFlags = {
  channels: intFlag("channels", { description: "Sandbox channels", fallback: 4, min: 1, max: 100 }),
  posts: intFlag("posts", { description: "Posts per sandbox channel", fallback: 5_000, min: 1, max: 1_000_000 }),
  serve: Flag.Boolean("serve").pipe(
    Flag.withDescription(
      "Then serve the read API and the dashboard over what was collected on API_BIND (default 127.0.0.1:8080) " +
        "until Ctrl-C",
    ),
    Flag.withDefault(false),
  ),
}
/** What `demo` was given. */
export type DemoFlags = Command.Command.Config.Infer<typeof demoFlags>

export const demo = Command.make("demo", demoFlags, lazyHandler(() => import("./demo.ts"))).pipe(
  Command.withDescription(
    "Try tgpulse with nothing configured: a local Telegram DC, the embedded database, a full sync and a report",
  ),
)

const healthcheckFlags = {
  url: Flag.String("url").pipe(
    Flag.withDescription("The /readyz URL to ask (default: from HEALTH_BIND, a wildcard host asked on 127.0.0.1)"),
    Flag.optional,
  ),
}
/** What `healthcheck` was given. */
export type HealthcheckFlags = Command.Command.Config.Infer<typeof healthcheckFlags>

export const healthcheck = Command.make(
  "healthcheck",
  healthcheckFlags,
  lazyHandler(() => import("./healthcheck.ts")),
).pipe(Command.withDescription("Exit 0 when the running daemon (serve, poll-updates) is ready, else 1"))
