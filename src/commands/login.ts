/**
 * `deno task login NAME`: signs a Telegram account in (phone, code, 2FA password) and stores its session in
 * TGPULSE_DATA_DIR/sessions/NAME, readable by its owner only, or prints it once with --print. Never logs it.
 */
import { Console, Effect, Option, Redacted } from "effect"
import { ExitCode } from "../Cli.ts"
import { AppConfig } from "../Config.ts"
import { SESSION_NAME } from "../domain/Refs.ts"
import { ConfigError } from "../domain/Errors.ts"
import { resolveApplication, sessionPath } from "../pool/Accounts.ts"
import { login } from "../telegram/Login.ts"
import { describeReason } from "../domain/TelegramError.ts"
import type { LoginFlags } from "./Commands.ts"

const encoder = new TextEncoder()
const say = (text: string) => Deno.stderr.writeSync(encoder.encode(text))

/** Lines of standard input, one at a time (a terminal or a pipe). */
function stdinLines() {
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  return async (): Promise<string> => {
    for (;;) {
      const newline = buffer.indexOf("\n")
      if (newline >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        return line.replace(/\r$/, "")
      }
      const { value, done } = await reader.read()
      if (done) {
        if (buffer !== "") {
          const line = buffer
          buffer = ""
          return line
        }
        throw new Error("standard input closed before the login finished")
      }
      buffer += value
    }
  }
}

/** Asks a question on stderr; `secret` input is not echoed at a terminal. */
function prompter() {
  const next = stdinLines()
  return async (question: string, secret = false): Promise<string> => {
    say(question)
    const raw = secret && Deno.stdin.isTerminal()
    if (raw) Deno.stdin.setRaw(true)
    try {
      const answer = (await next()).trim()
      if (raw) say("\n")
      return answer
    } finally {
      if (raw) Deno.stdin.setRaw(false)
    }
  }
}

/** Writes the session file with mode 0600 through a temporary file, so a crash never leaves half a session. */
async function writeSession(path: string, session: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"))
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 })
  const temp = `${path}.${Deno.pid}.tmp`
  await Deno.writeTextFile(temp, session + "\n", { mode: 0o600, createNew: true })
  await Deno.chmod(temp, 0o600)
  await Deno.rename(temp, path)
}

const exists = (path: string) =>
  Deno.stat(path).then(() => true, (e) => (e instanceof Deno.errors.NotFound ? false : Promise.reject(e)))

/** The login command's work (its flags and description: ./Commands.ts). */
export const run = (flags: LoginFlags) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const name = Option.getOrUndefined(flags.name)
    if (!flags.print && name === undefined) {
      return yield* new ConfigError({
        variable: "name",
        message: "Missing the session name: deno task login NAME (or --print to print the session instead)",
      })
    }
    if (name !== undefined && !SESSION_NAME.test(name)) {
      return yield* new ConfigError({
        variable: "name",
        message: `Invalid session name "${name}": expected letters, digits, "_", "." or "-" (at most 64)`,
      })
    }
    const path = name === undefined ? undefined : sessionPath(config.dataDir, name)
    if (path && !flags.print && !flags.force && (yield* Effect.promise(() => exists(path)))) {
      return yield* new ConfigError({
        variable: "name",
        message: `The session file "${path}" exists: pass --force to replace it, or choose another name`,
      })
    }
    const { apiId, apiHash, sandbox } = yield* resolveApplication(config)
    const ask = prompter()
    if (sandbox) say("Sandbox: test phone numbers are in its descriptor; the code is 22222.\n")
    const session = yield* login({
      session: "",
      apiId,
      apiHash: Redacted.value(apiHash),
      ...(sandbox ? { sandbox } : {}),
    }, {
      phone: () => Option.isSome(flags.phone) ? Promise.resolve(flags.phone.value) : ask("Phone number: "),
      code: () => ask("Code (sent in Telegram or by SMS): "),
      password: (hint) => ask(`2FA password${hint ? ` (hint: ${hint})` : ""}: `, true),
      retry: (what) => say(`${what}, try again\n`),
    }).pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          yield* Console.error(`Login failed: ${describeReason(error.reason)}`)
          return yield* Effect.fail(new ExitCode(1))
        })
      ),
    )
    if (flags.print || path === undefined) {
      say("Signed in. The session string follows, once; keep it secret (it is the account's login):\n")
      Deno.stdout.writeSync(encoder.encode(session + "\n"))
      return
    }
    yield* Effect.promise(() => writeSession(path, session))
    say(`Signed in. Session saved to ${path} (readable by you only). Use it with MTPROTO_ACCOUNTS=${name}\n`)
  })
