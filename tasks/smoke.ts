/**
 * `deno task smoke compose`: the compose stack end to end on this machine's container engine (not in CI: it needs
 * root and minutes). Uses the running Docker daemon, or starts dockerd (data under /tmp/tgpulse-smoke-engine, stopped
 * again at the end). Builds the image, starts the `demo` profile (leaving out, and naming, any service whose image
 * cannot be had here; local stand-ins from deploy/local/ where no registry is reachable), waits for every
 * healthcheck, checks that every sandbox channel's posts in the compose PostgreSQL equal the sandbox's truth, that
 * Prometheus scrapes tgpulse (`up == 1`) and loaded the rules (`promtool check rules` too), that `docker stop` of
 * tgpulse (busy with live updates) exits 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S, and tears everything down, volumes
 * included. A failed check is reported and the next one runs; the run then exits 1. The last line is `SMOKE {json}`.
 *
 * The truth: the demo sandbox runs background activity (new posts, edits, deletions, counters). By default tgpulse
 * syncs while it runs, as in `docker compose --profile demo up`; then the smoke stops the activity through the
 * sandbox's admin API (from inside its container), reads each channel's live truth (`GET /channels/<id>/truth`,
 * fixed from then on) and waits until the database holds exactly those posts (the count of posts not marked deleted,
 * and the highest id): exact, and it covers live updates. `--freeze-first` stops the activity before tgpulse starts
 * (the check then covers the history sync only). Either way the world the sandbox started from is checked against
 * the project's own `World.create` with the compose file's seed, channels and posts.
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ExitCode, runTask } from "../src/Cli.ts"
import { World } from "../src/sandbox/World.ts"

/** The compose file's sandbox command: `--seed 1 --channels 4 --posts 2000` (and its default 3 accounts, DCs 2, 4). */
const SANDBOX = { seed: 1, channels: 4, posts: 2000, accounts: 3, statsDcs: [2, 4] } as const
/** tgpulse's default, which .env.example keeps: `docker stop` must end it sooner. */
const GRACEFUL_SHUTDOWN_TIMEOUT_S = 25
const PROJECT = "tgpulse-smoke"
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "")
/** Where the smoke's own engine keeps its images between runs when it has to start dockerd itself. */
const ENGINE_ROOT = "/tmp/tgpulse-smoke-engine"

interface Flags {
  readonly keep: boolean
  readonly leaveEngine: boolean
  readonly noCache: boolean
  readonly freezeFirst: boolean
}

interface Skipped {
  readonly service: string
  readonly reason: string
}

/** What the run has set up, for the cleanup to undo (also after a failure or Ctrl-C). */
interface State {
  readonly flags: Flags
  readonly started: number
  docker: string
  compose: ReadonlyArray<string>
  tmp?: string
  env: Record<string, string>
  engine?: { readonly pid: number; readonly log: string }
  composeUp: boolean
  step: string
  /** Checks that failed (the run goes on to the next check, then exits 1). */
  readonly failures: Array<string>
  summary: Record<string, unknown>
}

class StepError extends Error {}

const encoder = new TextEncoder()
const say = (line: string) => Deno.stderr.writeSync(encoder.encode(`smoke: ${line}\n`))
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const seconds = (ms: number) => Math.round(ms / 10) / 100
const tail = (text: string, lines = 30) => text.trimEnd().split("\n").slice(-lines).join("\n")

interface Output {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (killed at `timeoutMs` or when `signal` aborts) and returns its code and output. */
async function run(
  cmd: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly timeoutMs?: number
    readonly signal?: AbortSignal
    readonly cwd?: string
  } = {},
): Promise<Output> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 600_000), ...(options.signal ? [options.signal] : [])]
  try {
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      cwd: options.cwd ?? ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any(signals),
      ...(options.env ? { env: options.env, clearEnv: true } : {}),
    }).output()
    const decode = (b: Uint8Array) => new TextDecoder().decode(b)
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) }
  } catch (error) {
    return { code: -1, stdout: "", stderr: error instanceof Error ? error.message : String(error) }
  }
}

/** Like `run`, but a non-zero exit fails the step with the command's output. */
async function must(
  cmd: ReadonlyArray<string>,
  what: string,
  options: Parameters<typeof run>[1] = {},
): Promise<string> {
  const out = await run(cmd, options)
  if (out.code !== 0) {
    throw new StepError(`${what} failed (exit ${out.code}): ${cmd.join(" ")}\n${tail(out.stdout + out.stderr)}`)
  }
  return out.stdout
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path)
    return true
  } catch {
    return false
  }
}

async function which(name: string): Promise<string | undefined> {
  const out = await run(["sh", "-c", `command -v ${name}`])
  return out.code === 0 ? out.stdout.trim() : undefined
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = listener.addr.port
  listener.close()
  return port
}

/** Polls `check` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
async function until<A>(
  what: string,
  timeoutMs: number,
  check: () => Promise<A | undefined>,
  options: { readonly everyMs?: number; readonly signal?: AbortSignal; readonly last?: () => string } = {},
): Promise<A> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    options.signal?.throwIfAborted()
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) {
      throw new StepError(`${what}: not within ${timeoutMs / 1000} s${options.last ? `: ${options.last()}` : ""}`)
    }
    await sleep(options.everyMs ?? 1_000)
  }
}

// --- the container engine --------------------------------------------------------------------------------------

/** A working Docker client and daemon: the one running, else a dockerd started here (root) with its own roots. */
async function ensureEngine(state: State): Promise<void> {
  state.docker = (await exists("/usr/bin/docker")) ? "/usr/bin/docker" : (await which("docker")) ?? ""
  if (state.docker === "") {
    throw new StepError("no docker client: apt-get install -y docker.io docker-compose debootstrap (as root)")
  }
  if ((await run([state.docker, "info"], { timeoutMs: 20_000 })).code === 0) {
    say(`engine: the running daemon (${state.docker})`)
  } else {
    const dockerd = (await exists("/usr/sbin/dockerd")) ? "/usr/sbin/dockerd" : await which("dockerd")
    if (dockerd === undefined) {
      throw new StepError("no Docker daemon answers and dockerd is not installed: apt-get install -y docker.io")
    }
    if (Deno.uid() !== 0) throw new StepError("no Docker daemon answers; starting dockerd needs root")
    await Deno.mkdir(ENGINE_ROOT, { recursive: true })
    const log = `${ENGINE_ROOT}/dockerd.log`
    const started = await must(
      [
        "sh",
        "-c",
        `nohup "$0" --data-root "$1/data" --exec-root "$1/exec" --pidfile "$1/dockerd.pid" > "$2" 2>&1 & echo $!`,
        dockerd,
        ENGINE_ROOT,
        log,
      ],
      "starting dockerd",
    )
    state.engine = { pid: Number(started.trim()), log }
    say(`engine: started dockerd (pid ${state.engine.pid}, data under ${ENGINE_ROOT}, log ${log})`)
    await until(
      "dockerd did not become ready",
      60_000,
      async () => (await run([state.docker, "info"], { timeoutMs: 10_000 })).code === 0 ? true : undefined,
      { everyMs: 500, last: () => "see " + log },
    )
  }
  if ((await run([state.docker, "compose", "version"], { timeoutMs: 20_000 })).code === 0) {
    state.compose = [state.docker, "compose"]
  } else if (await which("docker-compose")) {
    state.compose = ["docker-compose"]
  } else {
    throw new StepError("neither `docker compose` nor docker-compose: apt-get install -y docker-compose")
  }
  const version = await run([...state.compose, "version"], { timeoutMs: 20_000 })
  state.summary.compose = (version.stdout.split("\n")[0] ?? "").trim()
  state.summary.engine = (await run([state.docker, "version", "--format", "{{.Server.Version}}"])).stdout.trim()
}

// --- images ----------------------------------------------------------------------------------------------------

async function haveImage(state: State, image: string): Promise<boolean> {
  return (await run([state.docker, "image", "inspect", image], { timeoutMs: 30_000 })).code === 0
}

/** The image if it is here or can be pulled; undefined when no registry gives it. */
async function obtain(state: State, image: string, signal: AbortSignal): Promise<string | undefined> {
  if (await haveImage(state, image)) return image
  const pulled = await run([state.docker, "pull", image], { timeoutMs: 300_000, signal })
  if (pulled.code === 0) return image
  say(`cannot pull ${image}: ${tail(pulled.stderr, 1)}`)
  return undefined
}

/** A local stand-in built by deploy/local/build.sh (debootstrap and Debian packages). */
async function standIn(state: State, name: string, image: string, signal: AbortSignal): Promise<string> {
  if (!(await haveImage(state, image))) {
    say(`building the local stand-in ${image} (deploy/local/build.sh ${name}; the first time takes minutes)`)
    await must(["sh", `${ROOT}/deploy/local/build.sh`, name], `deploy/local/build.sh ${name}`, {
      env: { ...Deno.env.toObject(), DOCKER: state.docker },
      timeoutMs: 1_200_000,
      signal,
    })
  }
  return image
}

interface ImageSpec {
  readonly variable: string
  readonly fallback: string
  readonly local?: { readonly name: string; readonly image: string }
}

const IMAGES: Record<string, ImageSpec> = {
  postgres: {
    variable: "POSTGRES_IMAGE",
    fallback: "postgres:16",
    local: { name: "postgres", image: "localhost/postgres:15" },
  },
  prometheus: {
    variable: "PROMETHEUS_IMAGE",
    fallback: "prom/prometheus:v2.53.0",
    local: { name: "prometheus", image: "localhost/prometheus:2.42" },
  },
  grafana: { variable: "GRAFANA_IMAGE", fallback: "grafana/grafana:11.1.0" },
  deno: {
    variable: "TGPULSE_DENO_IMAGE",
    fallback: "denoland/deno:2.9.6",
    local: { name: "deno", image: "localhost/deno:2.9.6" },
  },
  base: {
    variable: "TGPULSE_BASE_IMAGE",
    fallback: "gcr.io/distroless/cc-debian12:nonroot",
    local: { name: "cc", image: "localhost/debian:bookworm-cc" },
  },
}

/** Picks every image (the variable's, else the compose default, else a local stand-in); the rest are skipped. */
async function chooseImages(state: State, skipped: Array<Skipped>, signal: AbortSignal) {
  const chosen: Record<string, string> = {}
  for (const [key, spec] of Object.entries(IMAGES)) {
    const wanted = Deno.env.get(spec.variable) || spec.fallback
    const image = (await obtain(state, wanted, signal)) ??
      (spec.local ? await standIn(state, spec.local.name, spec.local.image, signal) : undefined)
    if (image === undefined) {
      skipped.push({
        service: key,
        reason: `image ${wanted} cannot be had here (no registry reachable, no local stand-in)`,
      })
      say(`skipping ${key}: ${wanted} cannot be had here`)
      continue
    }
    if (image !== wanted) say(`${key}: ${wanted} cannot be had here, using ${image}`)
    chosen[key] = image
    state.env[spec.variable] = image
  }
  return chosen
}

async function buildImage(state: State, image: string, signal: AbortSignal) {
  const ca = Deno.env.get("SMOKE_CA_FILE") ?? "/etc/ssl/certs/ca-certificates.crt"
  const cmd = [
    state.docker,
    "build",
    "--build-arg",
    `DENO_IMAGE=${state.env.TGPULSE_DENO_IMAGE}`,
    "--build-arg",
    `BASE_IMAGE=${state.env.TGPULSE_BASE_IMAGE}`,
    ...((await exists(ca)) ? ["--secret", `id=ca,src=${ca}`] : []),
    ...(state.flags.noCache ? ["--no-cache"] : []),
    "-t",
    image,
    ".",
  ]
  say(`building ${image}: ${cmd.slice(1).join(" ")}`)
  const t0 = Date.now()
  await must(cmd, "docker build", { env: { ...Deno.env.toObject(), DOCKER_BUILDKIT: "1" }, signal })
  const buildSeconds = seconds(Date.now() - t0)
  const size = Number((await must([state.docker, "image", "inspect", "-f", "{{.Size}}", image], "inspect")).trim())
  const help = await run([state.docker, "run", "--rm", image, "sync-history", "--help"], { timeoutMs: 60_000 })
  if (help.code !== 0 || !help.stdout.includes("sync-history")) {
    throw new StepError(`docker run ${image} sync-history --help failed (exit ${help.code}): ${tail(help.stderr)}`)
  }
  return { buildSeconds, imageMb: Math.round(size / 1e5) / 10 }
}

// --- compose ---------------------------------------------------------------------------------------------------

function composeCmd(state: State, ...args: Array<string>): Array<string> {
  return [
    ...state.compose,
    "-p",
    PROJECT,
    "-f",
    `${ROOT}/compose.yaml`,
    "--env-file",
    `${state.tmp}/compose.env`,
    ...args,
  ]
}

async function containerOf(state: State, service: string): Promise<string> {
  const id = (await must(composeCmd(state, "--profile", "demo", "ps", "-q", service), `compose ps ${service}`, {
    env: state.env,
  })).trim()
  if (id === "") throw new StepError(`service ${service} has no container`)
  return id
}

async function logsOf(state: State, service: string): Promise<string> {
  const out = await run(composeCmd(state, "--profile", "demo", "logs", "--no-color", "--tail", "25", service), {
    env: state.env,
    timeoutMs: 30_000,
  })
  return out.stdout + out.stderr
}

/** Waits until every service's container is healthy; a container that exits or turns unhealthy fails the step. */
async function waitHealthy(state: State, services: ReadonlyArray<string>, signal: AbortSignal) {
  const healthy: Record<string, boolean> = Object.fromEntries(services.map((s) => [s, false]))
  const ids = new Map<string, string>()
  for (const s of services) ids.set(s, await containerOf(state, s))
  let last = ""
  try {
    await until("services healthy", 240_000, async () => {
      const states: Array<string> = []
      for (const [service, id] of ids) {
        const status = (await run([
          state.docker,
          "inspect",
          "-f",
          "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
          id,
        ])).stdout.trim()
        states.push(`${service}=${status}`)
        const [running, health] = status.split(" ")
        if (running === "exited" || running === "dead" || health === "unhealthy") {
          throw new StepError(`${service} is ${status}:\n${await logsOf(state, service)}`)
        }
        healthy[service] = running === "running" && (health === "healthy" || health === "none")
      }
      last = states.join(", ")
      return Object.values(healthy).every(Boolean) ? true : undefined
    }, { everyMs: 1_000, signal, last: () => last })
  } finally {
    state.summary.healthy = healthy
  }
  return ids
}

// --- checks ----------------------------------------------------------------------------------------------------

interface Truth {
  readonly count: number
  readonly maxId: number
}

interface SandboxView {
  readonly channels: ReadonlyArray<{
    readonly id: number
    readonly username: string
    readonly posts: number
    readonly private?: boolean
  }>
  readonly truth: Record<string, Truth>
}

/**
 * Inside the sandbox container (its admin API is on the compose network only): stops the background activity of
 * every public channel, waits until no run is left, and returns the descriptor's channels and each one's truth.
 */
async function freezeSandbox(state: State, sandboxId: string): Promise<SandboxView> {
  const script = `
    const d = JSON.parse(Deno.readTextFileSync("/data/sandbox.json"))
    const api = async (method, path) => {
      const r = await fetch(d.admin + path, { method })
      if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + await r.text())
      return await r.json()
    }
    const pub = d.channels.filter((c) => !c.private)
    for (const c of pub) await api("DELETE", "/channels/" + c.id + "/activity")
    for (let i = 0; i < 100; i++) {
      const runs = await Promise.all(pub.map((c) => api("GET", "/channels/" + c.id + "/activity")))
      if (runs.every((r) => !r.running)) break
      await new Promise((ok) => setTimeout(ok, 100))
    }
    const truth = {}
    for (const c of pub) truth[c.username] = await api("GET", "/channels/" + c.id + "/truth")
    console.log(JSON.stringify({ channels: d.channels, truth }))`
  const out = await must(
    [state.docker, "exec", sandboxId, "deno", "eval", "--no-config", script],
    "stopping the sandbox's activity and reading its truth",
    { timeoutMs: 60_000 },
  )
  return JSON.parse(out) as SandboxView
}

/** The posts stored per channel username: not marked deleted, and the highest such id. */
async function storedPosts(state: State, postgresId: string): Promise<Record<string, Truth>> {
  const user = state.env.POSTGRES_USER!
  const db = state.env.POSTGRES_DB!
  const out = await must(
    [
      state.docker,
      "exec",
      postgresId,
      "psql",
      "-U",
      user,
      "-d",
      db,
      "-At",
      "-F",
      " ",
      "-c",
      "SELECT c.username, count(p.msg_id) FILTER (WHERE p.deleted_at IS NULL), " +
      "coalesce(max(p.msg_id) FILTER (WHERE p.deleted_at IS NULL), 0) " +
      "FROM channels c LEFT JOIN posts p ON p.channel_id = c.id WHERE c.username IS NOT NULL GROUP BY c.username",
    ],
    "reading the posts from PostgreSQL",
    { timeoutMs: 30_000 },
  )
  const rows: Record<string, Truth> = {}
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [username, count, maxId] = line.split(" ")
    rows[username!] = { count: Number(count), maxId: Number(maxId) }
  }
  return rows
}

/** Stops the sandbox's activity and checks its world against the project's own `World.create`. */
async function freeze(state: State, sandboxId: string): Promise<SandboxView> {
  const view = await freezeSandbox(state, sandboxId)
  const publicChannels = view.channels.filter((c) => !c.private)
  // The world the sandbox started from, by the project's own code with the compose file's parameters.
  const world = World.create(SANDBOX)
  const worldPosts = publicChannels.reduce((n, c) => n + world.truth(c.id).count, 0)
  const started = publicChannels.reduce((n, c) => n + c.posts, 0)
  if (publicChannels.length !== SANDBOX.channels || worldPosts !== started) {
    throw new StepError(
      `the compose sandbox's world (${publicChannels.length} channels, ${started} posts at start) is not ` +
        `World.create(${JSON.stringify(SANDBOX)}) (${SANDBOX.channels} channels, ${worldPosts} posts): ` +
        "compose.yaml's sandbox command and tasks/smoke.ts disagree",
    )
  }
  const truthPosts = Object.values(view.truth).reduce((n, t) => n + t.count, 0)
  state.summary.worldPosts = worldPosts
  state.summary.truthPosts = truthPosts
  say(`sandbox activity stopped: ${truthPosts} posts in ${publicChannels.length} channels (${worldPosts} at start)`)
  return view
}

/** Waits until PostgreSQL holds exactly the frozen truth of every public channel (count and highest id). */
async function checkPosts(state: State, view: SandboxView, postgresId: string, signal: AbortSignal) {
  const publicChannels = view.channels.filter((c) => !c.private)
  let stored: Record<string, Truth> = {}
  const differences = () =>
    publicChannels.flatMap((c) => {
      const t = view.truth[c.username]!
      const s = stored[c.username] ?? { count: 0, maxId: 0 }
      return s.count === t.count && s.maxId === t.maxId
        ? []
        : [`${c.username}: stored ${s.count} (max id ${s.maxId}), truth ${t.count} (max id ${t.maxId})`]
    })
  const record = () => {
    state.summary.posts = publicChannels.reduce((n, c) => n + (stored[c.username]?.count ?? 0), 0)
    state.summary.channels = Object.fromEntries(
      publicChannels.map((
        c,
      ) => [c.username, { stored: stored[c.username]?.count ?? 0, truth: view.truth[c.username]!.count }]),
    )
  }
  try {
    // History runs every MTPROTO_HISTORY_INTERVAL_SEC (60 in the demo); live updates reconcile every 60 s.
    await until("posts in PostgreSQL equal to the sandbox's truth", 150_000, async () => {
      stored = await storedPosts(state, postgresId)
      return differences().length === 0 ? true : undefined
    }, { everyMs: 2_000, signal, last: () => differences().join("; ") })
  } finally {
    record()
  }
}

async function prometheusApi(state: State, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${state.env.PROMETHEUS_HOST_PORT}${path}`, {
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new StepError(`Prometheus ${path}: ${res.status} ${await res.text()}`)
  return await res.json()
}

async function checkPrometheus(state: State, prometheusId: string, signal: AbortSignal) {
  let last = ""
  // The first scrape comes within one scrape interval (15 s) of the start.
  const targets = await until("Prometheus scrapes tgpulse (up == 1)", 120_000, async () => {
    const body = await prometheusApi(state, `/api/v1/query?query=${encodeURIComponent('up{job="tgpulse"}')}`)
    const series: Array<{ metric: Record<string, string>; value: [number, string] }> = body.data.result
    last = JSON.stringify(series.map((s) => [s.metric.instance, s.value[1]]))
    return series.length > 0 && series.every((s) => s.value[1] === "1") ? series.length : undefined
  }, { everyMs: 2_000, signal, last: () => `up{job="tgpulse"} = ${last || "no series"}` })
  const rules = await prometheusApi(state, "/api/v1/rules")
  const groups: Array<{ rules: Array<unknown> }> = rules.data.groups
  const rulesLoaded = groups.reduce((n, g) => n + g.rules.length, 0)
  if (rulesLoaded === 0) throw new StepError("Prometheus loaded no rules from /etc/prometheus/rules.yml")
  const checked = await must(
    [state.docker, "exec", prometheusId, "promtool", "check", "rules", "/etc/prometheus/rules.yml"],
    "promtool check rules",
  )
  await must(
    [state.docker, "exec", prometheusId, "promtool", "check", "config", "/etc/prometheus/prometheus.yml"],
    "promtool check config",
  )
  return { prometheusUp: true, prometheusTargets: targets, rulesLoaded, promtool: tail(checked, 1).trim() }
}

/** Background changes again (50 per second over the public channels), so that tgpulse is stopped while busy. */
async function resumeActivity(state: State, sandboxId: string): Promise<void> {
  const script = `
    const d = JSON.parse(Deno.readTextFileSync("/data/sandbox.json"))
    const pub = d.channels.filter((c) => !c.private)
    for (const c of pub) {
      const r = await fetch(d.admin + "/channels/" + c.id + "/activity", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ count: 1000000, rate: 50 / pub.length }),
      })
      if (!r.ok) throw new Error("activity: " + r.status + " " + await r.text())
    }`
  await must([state.docker, "exec", sandboxId, "deno", "eval", "--no-config", script], "resuming activity", {
    timeoutMs: 60_000,
  })
  await sleep(3_000)
}

/** `docker stop` of each tgpulse container: exit 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S. */
async function checkStops(state: State, ids: Map<string, string>) {
  const stops: Record<string, { seconds: number; exitCode: number }> = {}
  for (const service of ["tgpulse-demo", "tgpulse"]) {
    const id = ids.get(service)
    if (id === undefined) continue
    const t0 = Date.now()
    await must([state.docker, "stop", id], `docker stop ${service}`, { timeoutMs: 120_000 })
    const took = seconds(Date.now() - t0)
    const exitCode = Number((await must([state.docker, "inspect", "-f", "{{.State.ExitCode}}", id], "inspect")).trim())
    stops[service] = { seconds: took, exitCode }
    state.summary.stops = stops
    if (exitCode !== 0 || took >= GRACEFUL_SHUTDOWN_TIMEOUT_S) {
      throw new StepError(
        `docker stop ${service}: exit ${exitCode} after ${took} s (want 0 within ${GRACEFUL_SHUTDOWN_TIMEOUT_S} s)\n` +
          (await logsOf(state, service)),
      )
    }
  }
  state.summary.stops = stops
  return Math.max(...Object.values(stops).map((s) => s.seconds))
}

/** Grafana cannot run here: its provisioning is checked on disk (JSON parses, every datasource uid is provisioned). */
async function checkGrafanaFiles() {
  const dir = `${ROOT}/deploy/grafana`
  const provisioned = new Set<string>()
  for await (const f of Deno.readDir(`${dir}/provisioning/datasources`)) {
    const text = await Deno.readTextFile(`${dir}/provisioning/datasources/${f.name}`)
    for (const m of text.matchAll(/^\s*uid:\s*["']?([^"'\s#]+)/gm)) provisioned.add(m[1]!)
  }
  const used = new Set<string>()
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk)
    if (v === null || typeof v !== "object") return
    for (const [k, x] of Object.entries(v)) {
      if (k === "datasource" && x !== null && typeof x === "object" && "uid" in x && typeof x.uid === "string") {
        used.add(x.uid)
      }
      walk(x)
    }
  }
  let dashboards = 0
  for await (const f of Deno.readDir(`${dir}/dashboards`)) {
    if (!f.name.endsWith(".json")) continue
    try {
      walk(JSON.parse(await Deno.readTextFile(`${dir}/dashboards/${f.name}`)))
    } catch (error) {
      throw new StepError(`deploy/grafana/dashboards/${f.name} is not JSON: ${(error as Error).message}`)
    }
    dashboards++
  }
  const builtin = (uid: string) => uid.startsWith("$") || uid === "grafana" || uid === "-- Grafana --"
  const unknown = [...used].filter((uid) => !provisioned.has(uid) && !builtin(uid))
  if (unknown.length > 0) {
    throw new StepError(`Grafana dashboards use datasource uids that are not provisioned: ${unknown.join(", ")}`)
  }
  return { dashboards, datasources: [...provisioned].sort() }
}

// --- the run ---------------------------------------------------------------------------------------------------

async function smokeCompose(state: State, signal: AbortSignal): Promise<void> {
  const skipped: Array<Skipped> = []
  state.summary.skipped = skipped
  state.step = "engine"
  await ensureEngine(state)
  state.tmp = await Deno.makeTempDir({ prefix: "tgpulse-smoke-" })
  const secret = () => crypto.randomUUID().replaceAll("-", "")
  const ports = {
    TGPULSE_HOST_PORT: freePort(),
    TGPULSE_DEMO_HOST_PORT: freePort(),
    PROMETHEUS_HOST_PORT: freePort(),
    GRAFANA_HOST_PORT: freePort(),
  }
  // Compose's variables: never the repository's .env; the containers get .env.example, as a new user's copy.
  const variables: Record<string, string> = {
    POSTGRES_USER: "tgpulse",
    POSTGRES_DB: "tgpulse",
    POSTGRES_PASSWORD: secret(),
    GF_SECURITY_ADMIN_PASSWORD: secret(),
    TGPULSE_ENV_FILE: `${ROOT}/.env.example`,
    TGPULSE_IMAGE: Deno.env.get("TGPULSE_IMAGE") || "tgpulse:smoke",
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  }
  state.env = { ...Deno.env.toObject(), ...variables, DOCKER_BUILDKIT: "1", COMPOSE_DOCKER_CLI_BUILD: "1" }

  state.step = "images"
  const images = await chooseImages(state, skipped, signal)
  if (images.postgres === undefined || images.deno === undefined || images.base === undefined) {
    throw new StepError("PostgreSQL, the Deno build image and the runtime base are required")
  }
  const fileVariables: Record<string, string> = { ...variables }
  for (const { variable } of Object.values(IMAGES)) {
    if (state.env[variable]) fileVariables[variable] = state.env[variable]
  }
  await Deno.writeTextFile(
    `${state.tmp}/compose.env`,
    Object.entries(fileVariables).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
    { mode: 0o600 },
  )

  state.step = "build"
  const image = state.env.TGPULSE_IMAGE!
  Object.assign(state.summary, await buildImage(state, image, signal))
  state.summary.images = { tgpulse: image, ...images }

  state.step = "validate"
  await must(composeCmd(state, "--profile", "demo", "config", "-q"), "compose config", { env: state.env })
  state.summary.grafanaFiles = await checkGrafanaFiles()

  state.step = "up"
  const services = ["postgres", "prometheus", "grafana", "sandbox", "tgpulse", "tgpulse-demo"]
    .filter((s) => !skipped.some((k) => k.service === s))
  const up = (names: ReadonlyArray<string>) =>
    must(composeCmd(state, "--profile", "demo", "up", "-d", "--no-build", ...names), "compose up", {
      env: state.env,
      signal,
    })
  state.composeUp = true
  const t0 = Date.now()
  let view: SandboxView | undefined
  state.summary.activity = state.flags.freezeFirst ? "stopped before tgpulse started" : "running during the sync"
  if (state.flags.freezeFirst) {
    // The world is fixed before tgpulse connects: the check then needs history sync only.
    const first = services.filter((s) => s !== "tgpulse" && s !== "tgpulse-demo")
    say(`starting ${first.join(", ")} (profile demo)`)
    await up(first)
    const early = await waitHealthy(state, first, signal)
    state.step = "freeze"
    view = await freeze(state, early.get("sandbox")!)
    state.step = "up"
  }
  say(`starting ${services.join(", ")} (profile demo)`)
  await up(services)
  // /readyz of the collecting tgpulse, timed from its container's start.
  const demoId = await containerOf(state, "tgpulse-demo")
  const startedAt = Date.parse(
    (await must([state.docker, "inspect", "-f", "{{.State.StartedAt}}", demoId], "inspect")).trim()
      .replace(/(\.\d{3})\d*/, "$1"),
  )
  const readyAt = await until("tgpulse-demo /readyz 200", 180_000, async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${ports.TGPULSE_DEMO_HOST_PORT}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      })
      await res.body?.cancel()
      return res.status === 200 ? Date.now() : undefined
    } catch {
      return undefined
    }
  }, { everyMs: 250, signal })
  state.summary.readySeconds = seconds(readyAt - startedAt)

  state.step = "healthy"
  const ids = await waitHealthy(state, services, signal)
  state.summary.upSeconds = seconds(Date.now() - t0)
  say(`every service healthy after ${state.summary.upSeconds} s: ${services.join(", ")}`)

  // From here a failed check is recorded and the next one runs; the run exits 1 at the end.
  const attempt = async (step: string, check: () => Promise<void>) => {
    state.step = step
    try {
      await check()
    } catch (error) {
      if (!(error instanceof StepError)) throw error
      state.failures.push(`${step}: ${error.message}`)
      say(`CHECK FAILED (${step}): ${error.message}`)
    }
  }
  await attempt("posts", async () => {
    // Without --freeze-first the activity ran while tgpulse synced: stop it now, the truth is fixed from then on.
    view ??= await freeze(state, ids.get("sandbox")!)
    await checkPosts(state, view, ids.get("postgres")!, signal)
    say(`posts equal to the truth: ${state.summary.posts}`)
  })
  state.summary.prometheusUp = false
  await attempt("prometheus", async () => {
    if (!ids.has("prometheus")) return
    Object.assign(state.summary, await checkPrometheus(state, ids.get("prometheus")!, signal))
    say(`Prometheus: up == 1 on ${state.summary.prometheusTargets} target(s), ${state.summary.rulesLoaded} rules`)
  })
  await attempt("stop", async () => {
    await resumeActivity(state, ids.get("sandbox")!)
    state.summary.stopSeconds = await checkStops(state, ids)
    say(`docker stop: ${JSON.stringify(state.summary.stops)}`)
  })
  state.step = "done"
  if (state.failures.length > 0) {
    throw new StepError(`${state.failures.length} check(s) failed:\n${state.failures.join("\n")}`)
  }
}

async function cleanup(state: State): Promise<void> {
  if (state.composeUp && !state.flags.keep) {
    say("tearing down (containers, network, volumes)")
    const down = await run(composeCmd(state, "--profile", "demo", "down", "-v", "--remove-orphans", "-t", "30"), {
      env: state.env,
      timeoutMs: 180_000,
    })
    if (down.code !== 0) say(`compose down failed: ${tail(down.stderr, 5)}`)
  } else if (state.composeUp) {
    say(`left running (--keep): ${composeCmd(state, "--profile", "demo", "down", "-v").join(" ")}`)
  }
  if (state.tmp && !state.flags.keep) await Deno.remove(state.tmp, { recursive: true }).catch(() => {})
  if (state.engine && !state.flags.leaveEngine) {
    say(`stopping the dockerd started here (pid ${state.engine.pid})`)
    try {
      Deno.kill(state.engine.pid, "SIGTERM")
      const pid = state.engine.pid
      await until("dockerd stops", 30_000, async () => (await exists(`/proc/${pid}`)) ? undefined : true, {
        everyMs: 250,
      })
    } catch (error) {
      say(`dockerd (pid ${state.engine.pid}): ${(error as Error).message}`)
    }
  } else if (state.engine) {
    say(`dockerd left running: pid ${state.engine.pid}; stop it with kill ${state.engine.pid}`)
  }
}

const smoke = Command.make("smoke", {
  target: Argument.Literals("target", ["compose"]).pipe(Argument.withDescription("What to smoke-test")),
  keep: Flag.Boolean("keep").pipe(
    Flag.withDescription("Leave the stack running afterwards (and the temp files), for a look"),
    Flag.withDefault(false),
  ),
  leaveEngine: Flag.Boolean("leave-engine").pipe(
    Flag.withDescription("Leave a dockerd the smoke had to start running afterwards"),
    Flag.withDefault(false),
  ),
  freezeFirst: Flag.Boolean("freeze-first").pipe(
    Flag.withDescription(
      "Stop the sandbox's background activity before tgpulse starts (default: after tgpulse synced under it)",
    ),
    Flag.withDefault(false),
  ),
  noCache: Flag.Boolean("no-cache").pipe(
    Flag.withDescription("Build the tgpulse image without the build cache (to time a full build)"),
    Flag.withDefault(false),
  ),
}, (flags) =>
  Effect.gen(function* () {
    const state: State = {
      flags,
      started: Date.now(),
      docker: "docker",
      compose: [],
      env: {},
      composeUp: false,
      step: "start",
      failures: [],
      summary: {},
    }
    const failure = yield* Effect.acquireUseRelease(
      Effect.succeed(state),
      (s) =>
        Effect.promise((signal) =>
          smokeCompose(s, signal).then(
            () => undefined,
            (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
          )
        ),
      (s) => Effect.promise(() => cleanup(s)),
    )
    const summary = {
      ok: failure === undefined,
      ...(failure
        ? {
          failed: state.failures.length > 0
            ? state.failures.map((f) => f.split("\n")[0])
            : [`${state.step}: ${failure.message.split("\n")[0]}`],
        }
        : {}),
      healthy: state.summary.healthy ?? {},
      posts: state.summary.posts ?? null,
      truthPosts: state.summary.truthPosts ?? null,
      prometheusUp: state.summary.prometheusUp ?? false,
      stopSeconds: state.summary.stopSeconds ?? null,
      imageMb: state.summary.imageMb ?? null,
      skipped: state.summary.skipped ?? [],
      ...state.summary,
      seconds: seconds(Date.now() - state.started),
    }
    if (failure) {
      say(
        state.failures.length > 0 ? `FAILED: ${failure.message}` : `FAILED at step "${state.step}": ${failure.message}`,
      )
      if (!(failure instanceof StepError) && failure.stack) say(failure.stack)
    }
    yield* Console.log(`SMOKE ${JSON.stringify(summary)}`)
    if (failure) return yield* Effect.fail(new ExitCode(1))
  })).pipe(Command.withDescription("Smoke-test the compose stack on this machine's container engine"))

runTask(smoke)
