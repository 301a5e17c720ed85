/**
 * The dashboard page's files, built by `deno task dashboard` (dashboard/ bundled with its chart library, no CDN) and
 * served by the read API's server at `/`. They are read once when the server starts: from TGPULSE_DASHBOARD_DIR, else
 * the repository's `dist/dashboard` (which `deno task compile` puts inside the binary). Not built: the API still
 * works, `/` says how to build the page, and the start says it once.
 */
import { Effect, Option } from "effect"

/** The built page, as `deno task dashboard` writes it (paths under its output directory). */
export const DASHBOARD_FILES = ["index.html", "assets/app.js", "assets/app.css", "assets/uplot.css"] as const

/** One file to serve: its bytes, type and entity tag. */
export interface Asset {
  readonly body: Uint8Array<ArrayBuffer>
  readonly type: string
  readonly etag: string
}

/** The page's files by URL path (`/`, `/assets/app.js`, ...). */
export type DashboardAssets = ReadonlyMap<string, Asset>

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
}

/** Where the page is when TGPULSE_DASHBOARD_DIR does not say. */
export const defaultDashboardDir = (): string => new URL("../../dist/dashboard", import.meta.url).pathname

/** Reads the built page in `dir`; none when a file is missing (said once, with how to build it). */
export const loadDashboard = (dir: Option.Option<string>): Effect.Effect<Option.Option<DashboardAssets>> =>
  Effect.gen(function* () {
    const where = Option.getOrElse(dir, defaultDashboardDir).replace(/\/+$/, "")
    const assets = new Map<string, Asset>()
    for (const file of DASHBOARD_FILES) {
      const body = yield* Effect.tryPromise(() => Deno.readFile(`${where}/${file}`)).pipe(Effect.option)
      if (Option.isNone(body)) {
        yield* Effect.logWarning(
          `dashboard not served: ${where}/${file} is missing (build it with \`deno task dashboard\`, or set ` +
            "TGPULSE_DASHBOARD_DIR to a directory it built); the read API works without it",
        )
        return Option.none()
      }
      const digest = new Uint8Array(yield* Effect.promise(() => crypto.subtle.digest("SHA-256", body.value)))
      const etag = `"${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`
      assets.set(file === "index.html" ? "/" : `/${file}`, {
        body: body.value,
        type: TYPES[file.split(".").pop()!]!,
        etag,
      })
    }
    return Option.some(assets)
  })

/**
 * Headers of every page file: nothing from another origin (the page loads its own script, styles and the API only),
 * no framing, no sniffing, no referrer; revalidated on each load (the names carry no hash).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
}
