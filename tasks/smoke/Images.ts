/** The images the stack needs: pulled, built, or local stand-ins where no registry is reachable. */
import { exists, must, ROOT, run, say, seconds, Skipped, State, StepError, tail } from "./Shell.ts"

// --- images ----------------------------------------------------------------------------------------------------

export async function haveImage(state: State, image: string): Promise<boolean> {
  return (await run([state.docker, "image", "inspect", image], { timeoutMs: 30_000 })).code === 0
}

/** The image if it is here or can be pulled; undefined when no registry gives it. */
export async function obtain(state: State, image: string, signal: AbortSignal): Promise<string | undefined> {
  if (await haveImage(state, image)) return image
  const pulled = await run([state.docker, "pull", image], { timeoutMs: 300_000, signal })
  if (pulled.code === 0) return image
  say(`cannot pull ${image}: ${tail(pulled.stderr, 1)}`)
  return undefined
}

/** A local stand-in built by deploy/local/build.sh (debootstrap and Debian packages). */
export async function standIn(state: State, name: string, image: string, signal: AbortSignal): Promise<string> {
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

export interface ImageSpec {
  readonly variable: string
  readonly fallback: string
  readonly local?: { readonly name: string; readonly image: string }
}

export const IMAGES: Record<string, ImageSpec> = {
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
export async function chooseImages(state: State, skipped: Array<Skipped>, signal: AbortSignal) {
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

export async function buildImage(state: State, image: string, signal: AbortSignal) {
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
