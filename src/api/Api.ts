/**
 * The read API (Hono) on API_BIND: `/api/v1/...` read-only JSON, CSV where the answer is a table (`?format=csv`), the
 * OpenAPI document at `/api/v1/openapi.json`. A bad parameter is a 400 naming it; with API_TOKEN every request needs
 * `Authorization: Bearer <token>` (compared in constant time, never logged).
 */
import { timingSafeEqual } from "node:crypto"
import { Effect, Metric, Option, Redacted, type Scope } from "effect"
import { Hono } from "hono"
import type { StoreError } from "../domain/Errors.ts"
import { type HealthServerError, listen } from "../observe/Health.ts"
import { errorsTotal } from "../observe/Metrics.ts"
import type { Analytics } from "../store/Analytics.ts"
import { BadParam, openApi, ROUTES, validate, type Value } from "./Routes.ts"

export interface ApiOptions {
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly version: string
  /** Runs a read model. */
  readonly run: <A>(effect: Effect.Effect<A, StoreError, Analytics>) => Promise<A>
  readonly now: () => Date
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

/** The routes, for a server or a test. */
export function apiApp(options: ApiOptions): Hono {
  const app = new Hono()
  app.use("*", async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return c.json({ error: "read-only: only GET" }, 405)
    if (Option.isSome(options.token) && !(await authorized(c.req.header("authorization"), options.token.value))) {
      return c.json({ error: "a valid bearer token is required (Authorization: Bearer <API_TOKEN>)" }, 401)
    }
    await next()
  })
  const document = openApi(options.version, Option.isSome(options.token))
  app.get("/api/v1/openapi.json", (c) => c.json(document))
  for (const route of ROUTES) {
    app.get(`/api/v1${route.path.replace(/\{(\w+)\}/g, ":$1")}`, async (c) => {
      const values: Record<string, Value> = { now: options.now() }
      try {
        for (const p of route.params) {
          values[p.name] = validate(p, p.in === "path" ? c.req.param(p.name) : c.req.query(p.name), values.now as Date)
        }
        const format = c.req.query("format") ?? "json"
        if (format !== "json" && !(format === "csv" && route.csv)) {
          throw new BadParam("format", route.csv ? "one of json, csv" : "json (this answer is not a table)")
        }
        const result = await options.run(route.handler(values))
        const next = route.next?.(result, values)
        if (next !== undefined) c.header("X-Next-Cursor", next)
        return format === "csv"
          ? c.body(toCsv(route.csv!(result)), 200, { "content-type": "text/csv; charset=utf-8" })
          : c.json(result as object)
      } catch (e) {
        if (e instanceof BadParam) return c.json({ error: e.message, param: e.param }, 400)
        await Effect.runPromise(
          Metric.update(Metric.withAttributes(errorsTotal, { error_type: "api", component: "api" }), 1).pipe(
            Effect.andThen(
              Effect.logError("API request failed").pipe(
                Effect.annotateLogs({ path: c.req.path, error: (e as Error).message ?? String(e) }),
              ),
            ),
          ),
        )
        return c.json({ error: "the database could not answer; see the service's log" }, 500)
      }
    })
  }
  app.all("*", (c) => c.json({ error: `no route ${c.req.path}`, see: "/api/v1/openapi.json" }, 404))
  return app
}

/** Serves the API on `hostname:port` until the scope closes; returns the bound address. */
export const serveApi = (
  bind: { readonly host: string; readonly port: number },
  options: Omit<ApiOptions, "run" | "now">,
): Effect.Effect<string, HealthServerError, Scope.Scope | Analytics> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Analytics>()
    const app = apiApp({ ...options, run: (e) => Effect.runPromiseWith(context)(e), now: () => new Date() })
    const server = yield* listen("API_BIND", bind.host, bind.port, app.fetch)
    const address = `${bind.host}:${server.addr.port}`
    yield* Effect.logInfo(`read API on http://${address}/api/v1 (OpenAPI: /api/v1/openapi.json)`)
    return address
  })
