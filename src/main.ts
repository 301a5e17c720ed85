/**
 * The `tgpulse` command: every task a subcommand (what `deno task <name>`, the image and `deno compile` run). Only the
 * chosen subcommand's module is loaded (src/commands/Commands.ts).
 */
import "./NoAsyncResource.ts" // first: Effect must not find AsyncResource
import { Command } from "effect/cli"
import denoJson from "../deno.json" with { type: "json" }
import { runTask } from "./Cli.ts"
import {
  demo,
  healthcheck,
  loadStats,
  loginCommand,
  migrate,
  pollUpdates,
  report,
  sandbox,
  serve,
  syncHistory,
  verify,
} from "./commands/Commands.ts"

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
    verify,
  ]),
)

if (import.meta.main) runTask(tgpulse, { version: denoJson.version })
