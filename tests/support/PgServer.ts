/**
 * A throwaway PostgreSQL server a test owns: its own data directory and port, so the test can crash it
 * (`pg_ctl -m immediate stop`, SIGKILL of a backend) and start it again without touching the shared server.
 * Needs the server binaries (Debian's postgresql package); `pgServerAvailable` says whether they are here.
 */

/** The newest installed server's bin directory (with initdb and pg_ctl), if any. */
function findBinDir(): string | undefined {
  const roots = ["/usr/lib/postgresql"]
  for (const root of roots) {
    let versions: Array<string> = []
    try {
      versions = [...Deno.readDirSync(root)].map((e) => e.name).filter((v) => /^\d+$/.test(v))
    } catch {
      continue
    }
    for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
      const dir = `${root}/${v}/bin`
      try {
        Deno.statSync(`${dir}/initdb`)
        Deno.statSync(`${dir}/pg_ctl`)
        return dir
      } catch {
        // not this one
      }
    }
  }
  return undefined
}

const BIN = findBinDir()
/** The server refuses to run as root: as root, every server command runs as the `postgres` user. */
const AS_ROOT = Deno.uid() === 0

async function userExists(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("id", { args: ["-u", name], stdout: "null", stderr: "null" }).output()
    return out.success
  } catch {
    return false
  }
}

export const pgServerAvailable: boolean = BIN !== undefined && (!AS_ROOT || await userExists("postgres"))

async function run(command: string, args: ReadonlyArray<string>): Promise<string> {
  const [cmd, argv] = AS_ROOT ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]]
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" }).output()
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr)
  if (!out.success) throw new Error(`${command} ${args.join(" ")} failed (${out.code}): ${text}`)
  return text
}

/** `cp -a`: owners and modes kept (the server refuses a data directory that is not its own). */
async function copy(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", from, to], stderr: "piped" }).output()
  if (!out.success) throw new Error(`cp -a ${from} ${to} failed: ${new TextDecoder().decode(out.stderr)}`)
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = (l.addr as Deno.NetAddr).port
  l.close()
  return port
}

export interface PgServerOptions {
  /** Server settings (`-c name=value`), e.g. a long `wal_writer_delay` so that a crash loses more. */
  readonly settings?: Readonly<Record<string, string>>
}

export class PgServer implements AsyncDisposable {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly settings: Readonly<Record<string, string>>,
  ) {}

  /** initdb (trust auth, no fsync of the fresh files) and start; the data directory is removed on dispose. */
  static async start(options: PgServerOptions = {}): Promise<PgServer> {
    if (!BIN) throw new Error("no PostgreSQL server binaries here")
    const dir = await Deno.makeTempDir({ prefix: "tgpulse_pgserver_" })
    if (AS_ROOT) await new Deno.Command("chown", { args: ["postgres:", dir] }).output()
    await run(`${BIN}/initdb`, ["-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
    const server = new PgServer(dir, freePort(), options.settings ?? {})
    await server.startServer()
    return server
  }

  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  /** Starts the server and waits until it accepts connections (after crash recovery, when there was a crash). */
  async startServer(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      "-c listen_addresses=127.0.0.1",
      ...Object.entries(this.settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(" ")
    await run(`${BIN}/pg_ctl`, ["-D", `${this.dir}/data`, "-l", `${this.dir}/log`, "-o", options, "-w", "start"])
  }

  /** The crash: every server process is killed at once (no checkpoint, no WAL flush), as `-m immediate` does. */
  async crash(): Promise<void> {
    await run(`${BIN}/pg_ctl`, ["-D", `${this.dir}/data`, "-m", "immediate", "-w", "stop"])
  }

  /** Copies the data directory aside (the server must be stopped): what a replica that lags would hold. */
  async snapshot(): Promise<void> {
    await Deno.remove(`${this.dir}/snapshot`, { recursive: true }).catch(() => undefined)
    await copy(`${this.dir}/data`, `${this.dir}/snapshot`)
  }

  /** Puts the copy `snapshot` took back in place (the server must be stopped): a failover to that replica. */
  async restoreSnapshot(): Promise<void> {
    await Deno.remove(`${this.dir}/data`, { recursive: true })
    await copy(`${this.dir}/snapshot`, `${this.dir}/data`)
  }

  /** One query through psql on the server's socket; its rows, one per line. */
  private async query(statement: string): Promise<Array<string>> {
    const out = await run(`${BIN}/psql`, [
      "-h",
      this.dir,
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-At",
      "-c",
      statement,
    ])
    return out.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  }

  /** The pids of the client backends of `applicationName`. */
  async backends(applicationName: string): Promise<Array<number>> {
    const rows = await this.query(`SELECT pid FROM pg_stat_activity WHERE application_name = '${applicationName}'`)
    return rows.map(Number).filter((n) => Number.isInteger(n) && n > 0)
  }

  /** pg_terminate_backend for every backend of `applicationName`: those sessions end, the server stays up. */
  async terminate(applicationName: string): Promise<number> {
    const [count] = await this.query(
      `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '${applicationName}'`,
    )
    return Number(count)
  }

  /**
   * SIGKILL of one backend, as the OOM killer does it: the postmaster then ends every session and runs crash
   * recovery before it accepts connections again.
   */
  killBackend(pid: number): void {
    Deno.kill(pid, "SIGKILL")
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await run(`${BIN}/pg_ctl`, ["-D", `${this.dir}/data`, "-m", "immediate", "-w", "stop"]).catch(() => "")
    await Deno.remove(this.dir, { recursive: true }).catch(() => undefined)
  }
}
