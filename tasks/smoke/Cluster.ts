/**
 * The smoke's cluster check: the plain `tgpulse` service, pointed at the demo sandbox with CLUSTER_ENABLED=true, is
 * started as `up --scale tgpulse=3` on a fresh database. Checked: every runner is healthy and names its own address;
 * every account is owned by exactly one runner; the posts equal the sandbox's frozen truth; after `docker kill` of a
 * runner owning accounts, the others own every account; `docker stop` of another exits 0 and the last one owns every
 * account; the sandbox saw no session on two connections. Times are recorded in the summary.
 */
import { composeCmd } from "./Compose.ts"
import { checkPosts, freezeSandbox, type SandboxView } from "./Checks.ts"
import { must, run, SANDBOX, say, seconds, State, StepError, until } from "./Shell.ts"

const RUNNERS = 3

/** The overrides that make the plain service a runner of a cluster collecting from the demo sandbox. */
const OVERRIDE = `services:
  tgpulse:
    environment:
      TG_SANDBOX_FILE: /shared/sandbox.json
      TG_API_ID: ""
      TG_API_HASH: ""
      MTPROTO_ACCOUNTS: ""
      MTPROTO_PROXY_ENABLED: "false"
      MTPROTO_ENABLED: "true"
      MTPROTO_HISTORY_ENABLED: "true"
      MTPROTO_UPDATES_ENABLED: "true"
      MTPROTO_POOL_ENABLED: "true"
      MTPROTO_PEERS: sandbox_chan_0,sandbox_chan_1,sandbox_chan_2,sandbox_chan_3
      MTPROTO_RPS_PER_ACCOUNT: "50"
      MTPROTO_GLOBAL_RPS: "200"
      MTPROTO_CONCURRENCY: "4"
      CLUSTER_ENABLED: "true"
    volumes:
      - sandbox-shared:/shared:ro
`

/** `count` consecutive ports free on 127.0.0.1 now (the first of them). */
function freeRange(count: number): number {
  for (let base = 20_000 + Math.floor(Math.random() * 20_000); base < 60_000; base += count) {
    const listeners: Array<Deno.Listener> = []
    try {
      for (let i = 0; i < count; i++) listeners.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }))
      return base
    } catch {
      // taken: try the next range
    } finally {
      for (const l of listeners) l.close()
    }
  }
  throw new StepError(`no ${count} consecutive free ports`)
}

interface RunnerInfo {
  readonly id: string
  readonly port: number
  readonly runner: string
  readonly accounts: ReadonlyArray<string>
}

/** Inside the sandbox container: its admin API's GET /stats. */
async function sandboxStats(state: State, sandboxId: string): Promise<Record<string, unknown>> {
  const script = `const d = JSON.parse(Deno.readTextFileSync("/data/sandbox.json"))
    console.log(JSON.stringify(await (await fetch(d.admin + "/stats")).json()))`
  return JSON.parse(await must([state.docker, "exec", sandboxId, "deno", "eval", "--no-config", script], "stats"))
}

export async function checkCluster(
  state: State,
  ids: ReadonlyMap<string, string>,
  signal: AbortSignal,
): Promise<void> {
  const sandboxId = ids.get("sandbox")!
  const postgresId = ids.get("postgres")!
  const view: SandboxView = await freezeSandbox(state, sandboxId)
  const accounts = SANDBOX.accounts
  // A fresh database: the runners sync every channel again.
  await must(
    [
      state.docker,
      "exec",
      postgresId,
      "psql",
      "-U",
      state.env.POSTGRES_USER!,
      "-d",
      "postgres",
      "-qc",
      `DROP DATABASE ${state.env.POSTGRES_DB} WITH (FORCE)`,
      "-c",
      `CREATE DATABASE ${state.env.POSTGRES_DB}`,
    ],
    "a fresh database",
  )
  await Deno.writeTextFile(`${state.tmp}/cluster.yaml`, OVERRIDE)
  const first = freeRange(RUNNERS)
  const env = {
    ...state.env,
    TGPULSE_HOST_PORT: String(first),
    TGPULSE_HOST_PORT_LAST: String(first + RUNNERS - 1),
  }
  const compose = (...args: Array<string>) =>
    composeCmd(state, "-f", `${state.tmp}/cluster.yaml`, "--profile", "demo", ...args)
  const started = Date.now()
  await must(compose("up", "-d", "--no-build", "--scale", `tgpulse=${RUNNERS}`, "tgpulse"), "up --scale", {
    env,
    signal,
  })
  const containers = (await must(compose("ps", "-q", "tgpulse"), "ps", { env })).trim().split("\n").filter(Boolean)
  if (containers.length !== RUNNERS) throw new StepError(`${containers.length} tgpulse containers, not ${RUNNERS}`)
  const portOf = async (id: string) => {
    const out = await must([state.docker, "port", id, "8091/tcp"], "docker port")
    return Number(out.trim().split("\n")[0]!.split(":").at(-1))
  }
  const ports = new Map<string, number>()
  for (const id of containers) ports.set(id, await portOf(id))
  const infoOf = async (id: string): Promise<RunnerInfo | undefined> => {
    try {
      const res = await fetch(`http://127.0.0.1:${ports.get(id)}/info`, { signal: AbortSignal.timeout(2_000) })
      const cluster = (await res.json()).cluster
      return { id, port: ports.get(id)!, runner: cluster.runner, accounts: cluster.owns.accounts }
    } catch {
      return undefined
    }
  }
  const owned = async (among: ReadonlyArray<string>) =>
    (await Promise.all(among.map(infoOf))).filter((i): i is RunnerInfo => i !== undefined)
  const healthyAll = async () => {
    for (const id of containers) {
      const health = (await run([state.docker, "inspect", "-f", "{{.State.Health.Status}}", id])).stdout.trim()
      if (health !== "healthy") return undefined
    }
    return true
  }
  await until("every runner healthy", 240_000, healthyAll, { everyMs: 1_000, signal })
  state.summary.clusterHealthySeconds = seconds(Date.now() - started)
  // The demo's figures stay in the summary; the cluster's go under `cluster`.
  const demo = { posts: state.summary.posts, channels: state.summary.channels }
  await checkPosts(state, view, postgresId, signal)
  const clusterPosts = state.summary.posts
  Object.assign(state.summary, demo)
  const infos = await until("every account owned by one runner", 60_000, async () => {
    const now = await owned(containers)
    const all = now.flatMap((i) => i.accounts)
    return now.length === RUNNERS && all.length === accounts && new Set(all).size === accounts ? now : undefined
  }, { everyMs: 500, signal })
  if (new Set(infos.map((i) => i.runner)).size !== RUNNERS) {
    throw new StepError(`the runners do not name addresses of their own: ${infos.map((i) => i.runner).join(", ")}`)
  }
  say(`cluster: ${infos.map((i) => `${i.runner} owns [${i.accounts.join(", ")}]`).join("; ")}`)

  // docker kill of a runner that owns accounts: the others own every account.
  const victim = infos.find((i) => i.accounts.length > 0)!
  const survivors = containers.filter((id) => id !== victim.id)
  await must([state.docker, "kill", victim.id], "docker kill")
  const killedAt = Date.now()
  await until("the survivors own every account", 60_000, async () => {
    const all = (await owned(survivors)).flatMap((i) => i.accounts)
    return all.length === accounts && new Set(all).size === accounts ? true : undefined
  }, { everyMs: 200, signal })
  const killSeconds = seconds(Date.now() - killedAt)

  // docker stop of another: exit 0, the last one owns every account.
  const [leaving, last] = survivors as [string, string]
  const stopAt = Date.now()
  await must([state.docker, "stop", "-t", "30", leaving], "docker stop")
  const stopSeconds = seconds(Date.now() - stopAt)
  const exitCode = Number((await must([state.docker, "inspect", "-f", "{{.State.ExitCode}}", leaving], "exit")).trim())
  if (exitCode !== 0) throw new StepError(`docker stop of a runner: exit ${exitCode}`)
  await until("the last runner owns every account", 60_000, async () => {
    const all = (await owned([last])).flatMap((i) => i.accounts)
    return all.length === accounts ? true : undefined
  }, { everyMs: 200, signal })
  const handoverSeconds = seconds(Date.now() - stopAt)
  const stats = await sandboxStats(state, sandboxId)
  if (stats.authKeyDuplicated !== 0) throw new StepError(`AUTH_KEY_DUPLICATED counted ${stats.authKeyDuplicated}`)
  state.summary.cluster = {
    runners: RUNNERS,
    posts: clusterPosts,
    owners: infos.map((i) => ({ runner: i.runner, accounts: i.accounts })),
    killTakeoverSeconds: killSeconds,
    stopSeconds,
    stopHandoverSeconds: handoverSeconds,
    authKeyDuplicated: stats.authKeyDuplicated,
  }
  say(
    `cluster: after docker kill every account on the others in ${killSeconds} s; docker stop exit 0 in ` +
      `${stopSeconds} s, every account on the last runner after ${handoverSeconds} s; AUTH_KEY_DUPLICATED 0`,
  )
}
