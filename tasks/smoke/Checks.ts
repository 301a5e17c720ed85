/** What the smoke checks: posts equal the sandbox's truth, Prometheus, stop times, Grafana's files. */
import { World } from "@tgpulse/sandbox"
import {
  GRACEFUL_SHUTDOWN_TIMEOUT_S,
  must,
  ROOT,
  SANDBOX,
  say,
  seconds,
  sleep,
  State,
  StepError,
  tail,
  until,
} from "./Shell.ts"
import { logsOf } from "./Compose.ts"

// --- checks ----------------------------------------------------------------------------------------------------

export interface Truth {
  readonly count: number
  readonly maxId: number
}

export interface SandboxView {
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
export async function freezeSandbox(state: State, sandboxId: string): Promise<SandboxView> {
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
export async function storedPosts(state: State, postgresId: string): Promise<Record<string, Truth>> {
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
export async function freeze(state: State, sandboxId: string): Promise<SandboxView> {
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
export async function checkPosts(state: State, view: SandboxView, postgresId: string, signal: AbortSignal) {
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

export async function prometheusApi(state: State, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${state.env.PROMETHEUS_HOST_PORT}${path}`, {
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new StepError(`Prometheus ${path}: ${res.status} ${await res.text()}`)
  return await res.json()
}

export async function checkPrometheus(state: State, prometheusId: string, signal: AbortSignal) {
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
export async function resumeActivity(state: State, sandboxId: string): Promise<void> {
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
export async function checkStops(state: State, ids: Map<string, string>) {
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
export async function checkGrafanaFiles() {
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
