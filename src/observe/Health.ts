/**
 * The health server (Hono) on HEALTH_BIND: `/healthz` (alive), `/readyz` (ready, or 503 with the reasons), `/metrics`
 * (Prometheus text; also on PROMETHEUS_PORT when that differs) and `/info` (version, features, accounts by state; no
 * secrets). Every route is a read: nothing here changes state.
 */
import { Effect, Schema, type Scope } from "effect"
import { Hono } from "hono"
import { initialize, prometheusText } from "./Metrics.ts"

/** The health server could not listen (the address is in use, or not allowed). */
export class HealthServerError extends Schema.TaggedError<HealthServerError>()("HealthServerError", {
  message: Schema.String,
}) {}

export interface HealthOptions {
  /** HEALTH_BIND as configured: `host:port`. A malformed value is reported and the default is used. */
  readonly bind: string
  /** Serve `/metrics` (OBS_PROMETHEUS_ENABLED). */
  readonly metrics: boolean
  /** PROMETHEUS_PORT: `/metrics` is also served there (same host) when it differs from the health port. */
  readonly prometheusPort: number
  /** Why the service is not ready ([] when it is). */
  readonly readiness: Effect.Effect<ReadonlyArray<string>>
  /** What `/info` shows. */
  readonly info: Effect.Effect<Record<string, unknown>>
}

export const DEFAULT_BIND = "127.0.0.1:8091"

/** `host:port`, or undefined when malformed. */
export function parseBind(bind: string): { readonly hostname: string; readonly port: number } | undefined {
  const m = /^\[?([^\s\]]+?)\]?:(\d{1,5})$/.exec(bind.trim())
  if (!m) return undefined
  const port = Number(m[2])
  return port >= 0 && port <= 65_535 ? { hostname: m[1]!, port } : undefined
}

const text = (body: string, status = 200, type = "text/plain; charset=utf-8") =>
  new Response(body, { status, headers: { "content-type": type } })

/** The routes, for a server or a test. */
export function healthApp(options: HealthOptions, run: <A>(effect: Effect.Effect<A>) => Promise<A>): Hono {
  const app = new Hono()
  app.get("/healthz", (c) => c.json({ status: "ok" }))
  app.get("/readyz", async (c) => {
    const reasons = await run(options.readiness)
    return reasons.length === 0 ? c.json({ status: "ready" }) : c.json({ status: "unready", reasons }, 503)
  })
  app.get(
    "/metrics",
    async () =>
      options.metrics
        ? text(await run(prometheusText), 200, "text/plain; version=0.0.4; charset=utf-8")
        : text("metrics are disabled (OBS_PROMETHEUS_ENABLED is not true)\n", 404),
  )
  app.get("/info", async (c) => c.json(await run(options.info)))
  app.all(
    "*",
    (c) =>
      c.req.method === "GET" || c.req.method === "HEAD"
        ? c.json({ error: `no route ${c.req.path}`, routes: ["/healthz", "/readyz", "/metrics", "/info"] }, 404)
        : c.json({ error: "read-only: only GET" }, 405),
  )
  return app
}

/** Listens on `hostname:port` for the scope's lifetime; the address in use is a HealthServerError naming `what`. */
export const listen = (
  what: string,
  hostname: string,
  port: number,
  fetch: (req: Request) => Response | Promise<Response>,
) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => Deno.serve({ hostname, port, onListen: () => {} }, fetch),
      catch: (e) =>
        new HealthServerError({
          message: e instanceof Deno.errors.AddrInUse
            ? `${what} ${hostname}:${port}: the address is already in use (another tgpulse, or another service?)`
            : `${what} ${hostname}:${port}: cannot listen (${(e as Error).message})`,
        }),
    }),
    (server) => Effect.promise(() => server.shutdown().catch(() => undefined)),
  )

/**
 * Serves the health routes (and `/metrics` on PROMETHEUS_PORT when it differs) until the scope closes. A malformed
 * HEALTH_BIND is reported and the default address used; an address in use fails (the one thing that stops the
 * process). Returns the bound health address.
 */
export const serveHealth = (options: HealthOptions): Effect.Effect<string, HealthServerError, Scope.Scope> =>
  Effect.gen(function* () {
    let bind = parseBind(options.bind)
    if (!bind) {
      yield* Effect.logError(
        `Invalid HEALTH_BIND "${options.bind}": expected host:port (e.g. 127.0.0.1:8091); serving on ${DEFAULT_BIND}`,
      )
      bind = parseBind(DEFAULT_BIND)!
    }
    if (options.metrics) yield* initialize
    const context = yield* Effect.context<never>()
    const run = <A>(effect: Effect.Effect<A>) => Effect.runPromiseWith(context)(effect)
    const app = healthApp(options, run)
    const server = yield* listen("HEALTH_BIND", bind.hostname, bind.port, app.fetch)
    const address = `${bind.hostname}:${server.addr.port}`
    if (options.metrics && options.prometheusPort !== server.addr.port) {
      yield* listen(
        "PROMETHEUS_PORT",
        bind.hostname,
        options.prometheusPort,
        async (req) =>
          new URL(req.url).pathname === "/metrics"
            ? text(await run(prometheusText), 200, "text/plain; version=0.0.4; charset=utf-8")
            : text("only /metrics here\n", 404),
      )
    }
    yield* Effect.logInfo(`health server on http://${address} (/healthz /readyz /metrics /info)`)
    return address
  })
