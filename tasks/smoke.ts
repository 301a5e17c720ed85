/**
 * `deno task smoke compose`: the compose stack end to end on this machine's container engine (not in CI: it needs
 * root and minutes). Uses the running Docker daemon, or starts dockerd (data under /tmp/tgpulse-smoke-engine, stopped
 * again at the end). Builds the image, starts the `demo` profile (leaving out, and naming, any service whose image
 * cannot be had here; local stand-ins from deploy/local/ where no registry is reachable), waits for every
 * healthcheck, checks that every sandbox channel's posts in the compose PostgreSQL equal the sandbox's truth, that
 * Prometheus scrapes tgpulse (`up == 1`) and loaded the rules (`promtool check rules` too), that `docker stop` of
 * tgpulse (busy with live updates) exits 0 within GRACEFUL_SHUTDOWN_TIMEOUT_S, then runs the plain tgpulse as a
 * cluster (`up --scale tgpulse=3`, see smoke/Cluster.ts: posts equal to the truth, one owner per account, docker kill
 * and docker stop of runners), and tears everything down, volumes included. A failed check is reported and the next one runs; the run then exits 1. The last line is `SMOKE {json}`.
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
import {
  exists,
  freePort,
  must,
  ROOT,
  run,
  say,
  seconds,
  Skipped,
  State,
  StepError,
  tail,
  until,
} from "./smoke/Shell.ts"
import { ensureEngine } from "./smoke/Engine.ts"
import { buildImage, chooseImages, IMAGES } from "./smoke/Images.ts"
import { checkCluster } from "./smoke/Cluster.ts"
import { composeCmd, containerOf, waitHealthy } from "./smoke/Compose.ts"
import {
  checkGrafanaFiles,
  checkPosts,
  checkPrometheus,
  checkStops,
  freeze,
  resumeActivity,
  SandboxView,
} from "./smoke/Checks.ts"

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
    // One runner here: its published range is the one free port.
    TGPULSE_HOST_PORT_LAST: String(ports.TGPULSE_HOST_PORT),
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
  await attempt("api", async () => {
    // The demo publishes the read API: its channel list counts what PostgreSQL holds, the truth.
    const out = await must([state.docker, "port", ids.get("tgpulse-demo")!, "8080/tcp"], "docker port")
    const base = `http://127.0.0.1:${out.trim().split("\n")[0]!.split(":").at(-1)}/api/v1`
    const channels = await (await fetch(`${base}/channels`, { signal: AbortSignal.timeout(10_000) })).json() as Array<
      { username: string; posts: number }
    >
    const wrong = view!.channels.filter((c) => !c.private).filter((c) =>
      channels.find((r) => r.username === c.username)?.posts !== view!.truth[c.username]!.count
    )
    if (wrong.length > 0) {
      throw new StepError(`API /channels differs from the truth for ${wrong.map((c) => c.username)}`)
    }
    const doc = await (await fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(10_000) })).json()
    const routes = Object.keys(doc.paths).length
    // The image carries the dashboard: its page and script are served at / (no CDN).
    const root = base.replace(/\/api\/v1$/, "")
    const page = await fetch(`${root}/`, { signal: AbortSignal.timeout(10_000) })
    const script = await fetch(`${root}/assets/app.js`, { signal: AbortSignal.timeout(10_000) })
    const html = await page.text()
    const bytes = (await script.arrayBuffer()).byteLength
    if (page.status !== 200 || !html.includes("assets/app.js") || script.status !== 200 || bytes < 10_000) {
      throw new StepError(`the dashboard is not served: / ${page.status}, /assets/app.js ${script.status} (${bytes} B)`)
    }
    state.summary.api = { channels: channels.length, routes, dashboardScriptBytes: bytes }
    say(`read API: ${channels.length} channels equal to the truth, ${routes} routes documented; dashboard served`)
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
  await attempt("cluster", () => checkCluster(state, ids, signal))
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
