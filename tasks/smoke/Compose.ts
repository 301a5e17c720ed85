/** docker compose for the smoke project: commands, containers, logs, healthchecks. */
import { must, PROJECT, ROOT, run, State, StepError, until } from "./Shell.ts"

// --- compose ---------------------------------------------------------------------------------------------------

export function composeCmd(state: State, ...args: Array<string>): Array<string> {
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

export async function containerOf(state: State, service: string): Promise<string> {
  const id = (await must(composeCmd(state, "--profile", "demo", "ps", "-q", service), `compose ps ${service}`, {
    env: state.env,
  })).trim()
  if (id === "") throw new StepError(`service ${service} has no container`)
  return id
}

export async function logsOf(state: State, service: string): Promise<string> {
  const out = await run(composeCmd(state, "--profile", "demo", "logs", "--no-color", "--tail", "25", service), {
    env: state.env,
    timeoutMs: 30_000,
  })
  return out.stdout + out.stderr
}

/** Waits until every service's container is healthy; a container that exits or turns unhealthy fails the step. */
export async function waitHealthy(state: State, services: ReadonlyArray<string>, signal: AbortSignal) {
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
