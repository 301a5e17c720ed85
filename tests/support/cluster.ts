/** Cluster test support: `serve` runner processes on loopback, and what each says it owns. */
import { Effect } from "effect"
import { type BackgroundTask, freePort, startTask } from "./tasks.ts"

export interface Owns {
  readonly accounts: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly collectors: ReadonlyArray<string>
}

export interface Runner {
  readonly name: string
  /** CLUSTER_RUNNER_ADDRESS. */
  readonly address: string
  readonly health: string
  readonly task: BackgroundTask
}

/** What a runner's /info says about it in the cluster (undefined while it does not answer). */
export const clusterInfoOf = async (
  runner: Runner,
): Promise<{ readonly runner: string; readonly owns: Owns } | undefined> => {
  try {
    const res = await fetch(`${runner.health}/info`)
    return (await res.json()).cluster
  } catch {
    return undefined
  }
}

/** What a runner's /info says it owns (undefined while it does not answer). */
export const ownsOf = async (runner: Runner): Promise<Owns | undefined> => (await clusterInfoOf(runner))?.owns

/**
 * `serve` as one runner per name, each with its own runner and health ports, all with `env` and CLUSTER_ENABLED;
 * SIGKILLed (if still running) when the scope closes. `output()` is every runner's output, for a failure message.
 */
export const startRunners = (names: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const runners: ReadonlyArray<Runner> = names.map((name) => {
      const health = freePort()
      const address = `127.0.0.1:${freePort()}`
      return {
        name,
        address,
        health: `http://127.0.0.1:${health}`,
        task: startTask("serve", [], {
          ...env,
          CLUSTER_ENABLED: "true",
          CLUSTER_RUNNER_ADDRESS: address,
          HEALTH_BIND: `127.0.0.1:${health}`,
        }),
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all(runners.map((r) => r.task.stop("SIGKILL")))).pipe(Effect.ignore)
    )
    const output = () => runners.map((r) => `--- runner ${r.name}\n${r.task.output()}`).join("\n")
    return { runners, output, owns: () => Promise.all(runners.map(ownsOf)) }
  })
