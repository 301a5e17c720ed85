/** The container engine: the running Docker daemon, or a dockerd started here with its own roots. */
import { ENGINE_ROOT, exists, must, run, say, State, StepError, until, which } from "./Shell.ts"

// --- the container engine --------------------------------------------------------------------------------------

/** A working Docker client and daemon: the one running, else a dockerd started here (root) with its own roots. */
export async function ensureEngine(state: State): Promise<void> {
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
