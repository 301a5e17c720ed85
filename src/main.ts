/** The `tgpulse` command: every task a subcommand (what `deno task <name>`, the image and `deno compile` run). */
import { Command } from "effect/cli"
import denoJson from "../deno.json" with { type: "json" }
import { runTask } from "./Cli.ts"
import { demo } from "./commands/demo.ts"
import { healthcheck } from "./commands/healthcheck.ts"
import { loadStats } from "./commands/load_stats.ts"
import { loginCommand } from "./commands/login.ts"
import { migrate } from "./commands/migrate.ts"
import { pollUpdates } from "./commands/poll_updates.ts"
import { report } from "./commands/report.ts"
import { sandbox } from "./commands/sandbox.ts"
import { serve } from "./commands/serve.ts"
import { syncHistory } from "./commands/sync_history.ts"

export const tgpulse = Command.make("tgpulse").pipe(
  Command.withDescription("Telegram channel analytics into your own PostgreSQL"),
  Command.withSubcommands([
    syncHistory,
    pollUpdates,
    loadStats,
    serve,
    report,
    loginCommand,
    migrate,
    sandbox,
    demo,
    healthcheck,
  ]),
)

if (import.meta.main) runTask(tgpulse, { version: denoJson.version })
