/**
 * The read API (Hono) on API_BIND: `/api/v1/...` read-only JSON, CSV where the answer is a table (`?format=csv`), the
 * OpenAPI document at `/api/v1/openapi.json`, and the dashboard page at `/`. A bad parameter is a 400 naming it; with
 * API_TOKEN every API request needs `Authorization: Bearer <token>` (compared in constant time, never logged); the
 * page's files hold no data and are served without it (the page asks for the token). Every request is counted and
 * timed by route and status (`mtproto_api_requests_total`, `mtproto_api_request_duration_seconds`); a route's request
 * is a span `api GET <route>`.
 */
import { timingSafeEqual } from "node:crypto"
import { Cause, Effect, Metric, Option, Redacted, type Scope } from "effect"
import { type Context as HonoContext, Hono } from "hono"
import { type HealthServerError, listen } from "../observe/Health.ts"
import { apiRequestDuration, apiRequests, errorsTotal } from "../observe/Metrics.ts"
import type { Analytics } from "../store/Analytics.ts"
import { type DashboardAssets, loadDashboard, PAGE_HEADERS } from "./Dashboard.ts"
import { BadParam, openApi, type Route, ROUTES, validate, type Value } from "./Routes.ts"

export interface ApiOptions {
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly version: string
  /** Runs a request's effect. */
  readonly run: <A>(effect: Effect.Effect<A, never, Analytics>) => Promise<A>
  readonly now: () => Date
  /** The dashboard page's files (none: not built; `/` says how to build it). */
  readonly dashboard: Option.Option<DashboardAssets>
}

const sha256 = async (s: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))

/** Whether `header` carries the token (digests compared in constant time, whatever their lengths). */
async function authorized(header: string | undefined, token: Redacted.Redacted<string>): Promise<boolean> {
  const given = /^Bearer (\S+)$/.exec(header ?? "")?.[1] ?? ""
  return timingSafeEqual(await sha256(given), await sha256(Redacted.value(token)))
}

/** A CSV cell: quoted when it holds a comma, quote or line break; objects as JSON; null and undefined empty. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return ""
  const s = typeof v === "object" ? JSON.stringify(v) : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** Rows as CSV: a header of every column, in order of first appearance. */
export function toCsv(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  return [columns.map(cell).join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))]
    .map((line) => `${line}\r\n`).join("")
}

/** Builds a route's answer from the request (a thrown BadParam is a 400). */
function answer(route: Route, c: HonoContext, now: Date): Effect.Effect<Response, unknown, Analytics> {
  return Effect.gen(function* (): Generator<Effect.Effect<unknown, unknown, Analytics>, Response, unknown> {
    const values: Record<string, Value> = { now }
    for (const p of route.params) {
      values[p.name] = validate(p, p.in === "path" ? c.req.param(p.name) : c.req.query(p.name), now)
    }
    const format = c.req.query("format") ?? "json"
    if (format !== "json" && !(format === "csv" && route.csv)) {
      throw new BadParam("format", route.csv ? "one of json, csv" : "json (this answer is not a table)")
    }
    const result = yield* route.handler(values)
    const next = route.next?.(result, values)
    if (next !== undefined) c.header("X-Next-Cursor", next)
    return format === "csv"
      ? c.body(toCsv(route.csv!(result)), 200, { "content-type": "text/csv; charset=utf-8" })
      : c.json(result as object)
  }) as Effect.Effect<Response, unknown, Analytics>
}

/** A route's request: its answer, or 400 for a bad parameter and 500 for anything else (logged, counted). */
const request = (route: Route, c: HonoContext, now: Date): Effect.Effect<Response, never, Analytics> =>
  answer(route, c, now).pipe(
    Effect.catchCause((cause): Effect.Effect<Response> => {
      const e = Cause.squash(cause)
      if (e instanceof BadParam) return Effect.succeed(c.json({ error: e.message, param: e.param }, 400))
      return Metric.update(Metric.withAttributes(errorsTotal, { error_type: "api", component: "api" }), 1).pipe(
        Effect.andThen(Effect.logError("API request failed")),
        Effect.annotateLogs({ path: c.req.path, error: e instanceof Error ? e.message : String(e) }),
        Effect.as(c.json({ error: "the database could not answer; see the service's log" }, 500)),
      )
    }),
    Effect.tap((res) => Effect.annotateCurrentSpan("http.response.status_code", res.status)),
    Effect.withSpan(`api GET /api/v1${route.path}`, {
      attributes: { "http.request.method": "GET", "http.route": `/api/v1${route.path}` },
    }),
  )

/** A route's path as Hono matches it (`:name` for `{name}`). */
const honoPath = (route: Route): string => `/api/v1${route.path.replace(/\{(\w+)\}/g, ":$1")}`
/** The route (its OpenAPI path) a matched Hono path belongs to, for the request metrics. */
const ROUTE_OF: ReadonlyMap<string, string> = new Map(ROUTES.map((r) => [honoPath(r), r.path]))

/** Counts a request by route and status and times it. */
const measured = (route: string, started: number, status: number): Effect.Effect<void> =>
  Effect.all([
    Metric.update(Metric.withAttributes(apiRequests, { route, status: String(status) }), 1),
    Metric.update(Metric.withAttributes(apiRequestDuration, { route }), (performance.now() - started) / 1000),
  ], { discard: true })

/** The routes and the dashboard's page, for a server or a test. */
export function apiApp(options: ApiOptions): Hono {
  const app = new Hono()
  app.use("*", async (c, next) => {
    const started = performance.now()
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      c.res = c.json({ error: "read-only: only GET" }, 405)
    } else if (
      c.req.path.startsWith("/api/") && Option.isSome(options.token) &&
      !(await authorized(c.req.header("authorization"), options.token.value))
    ) {
      c.res = c.json({ error: "a valid bearer token is required (Authorization: Bearer <API_TOKEN>)" }, 401)
    } else {
      await next()
    }
    const route = c.req.path.startsWith("/api/v1/")
      ? ROUTE_OF.get(c.req.routePath) ?? (c.req.path === "/api/v1/openapi.json" ? "/openapi.json" : "unknown")
      : options.dashboard.pipe(Option.exists((files) => files.has(c.req.path)))
      ? "dashboard"
      : "unknown"
    await options.run(measured(route, started, c.res.status))
  })
  const document = openApi(options.version, Option.isSome(options.token))
  app.get("/api/v1/openapi.json", (c) => c.json(document))
  for (const route of ROUTES) {
    app.get(honoPath(route), (c) => options.run(request(route, c, options.now())))
  }
  app.get("/api/*", (c) => c.json({ error: `no route ${c.req.path}`, see: "/api/v1/openapi.json" }, 404))
  // The page asks for the token before its first request when the server wants one.
  const files = Option.map(options.dashboard, (assets) => {
    const index = assets.get("/")
    if (index === undefined || Option.isNone(options.token)) return assets
    const page = new TextDecoder().decode(index.body).replace("<html ", '<html data-auth="bearer" ')
    return new Map([...assets, ["/", {
      ...index,
      body: new TextEncoder().encode(page),
      etag: index.etag.replace(/"$/, '-auth"'),
    }]])
  })
  app.get("*", (c) => {
    if (Option.isNone(files)) {
      return c.text("The dashboard is not built here: run `deno task dashboard`, then restart.\n", 503)
    }
    const file = files.value.get(c.req.path)
    if (file === undefined) return c.text(`No page ${c.req.path}: the dashboard is at /\n`, 404)
    const headers = { ...PAGE_HEADERS, etag: file.etag, "content-type": file.type }
    return c.req.header("if-none-match") === file.etag ? c.body(null, 304, headers) : c.body(file.body, 200, headers)
  })
  return app
}

/** Serves the API on `hostname:port` until the scope closes; returns the bound address. */
export const serveApi = (
  bind: { readonly host: string; readonly port: number },
  options: Omit<ApiOptions, "run" | "now" | "dashboard"> & {
    /** TGPULSE_DASHBOARD_DIR (none: the repository's or binary's `dist/dashboard`). */
    readonly dashboardDir: Option.Option<string>
  },
): Effect.Effect<string, HealthServerError, Scope.Scope | Analytics> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Analytics>()
    const dashboard = yield* loadDashboard(options.dashboardDir)
    const app = apiApp({
      token: options.token,
      version: options.version,
      dashboard,
      run: (e) => Effect.runPromiseWith(context)(e),
      now: () => new Date(),
    })
    const server = yield* listen("API_BIND", bind.host, bind.port, app.fetch)
    const address = `${bind.host}:${server.addr.port}`
    yield* Effect.logInfo(
      `read API on http://${address}/api/v1 (OpenAPI: /api/v1/openapi.json)` +
        (Option.isSome(dashboard) ? `, dashboard on http://${address}/` : ""),
    )
    return address
  })
