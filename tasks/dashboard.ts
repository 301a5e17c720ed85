/**
 * `deno task dashboard [--out DIR]`: builds the dashboard page into DIR (default `dist/dashboard`): `index.html`,
 * `assets/app.js` (dashboard/main.ts and its chart library, uPlot from npm, bundled and minified by `deno bundle` for
 * browsers), `assets/app.css` and `assets/uplot.css` (uPlot's stylesheet from its package). The server serves exactly
 * these files (src/api/Dashboard.ts); nothing is fetched from a CDN at run time. The files are written beside DIR
 * first and moved in at once, so a server never reads half a build.
 */
import { DASHBOARD_FILES } from "../src/api/Dashboard.ts"
import dashboardJson from "../dashboard/deno.json" with { type: "json" }

const ROOT = new URL("..", import.meta.url).pathname

/** uPlot's stylesheet in node_modules (the version dashboard/deno.json imports). */
function uplotCss(): string {
  const version = /@([\d.]+)$/.exec(dashboardJson.imports.uplot)?.[1]
  return `${ROOT}node_modules/.deno/uplot@${version}/node_modules/uplot/dist/uPlot.min.css`
}

/** Builds the page into `out` (replacing what was there). */
export async function buildDashboard(dir: string): Promise<void> {
  const out = new URL(dir.replace(/\/*$/, ""), `file://${Deno.cwd()}/`).pathname
  const staging = `${out}.building-${Deno.pid}`
  await Deno.remove(staging, { recursive: true }).catch(() => {})
  await Deno.mkdir(`${staging}/assets`, { recursive: true })
  try {
    const bundle = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", `${staging}/assets/app.js`, "main.ts"],
      cwd: `${ROOT}dashboard`,
      stdout: "inherit",
      stderr: "piped",
    }).output()
    if (bundle.code !== 0) throw new Error(`deno bundle failed: ${new TextDecoder().decode(bundle.stderr).trim()}`)
    await Deno.copyFile(`${ROOT}dashboard/index.html`, `${staging}/index.html`)
    await Deno.copyFile(`${ROOT}dashboard/style.css`, `${staging}/assets/app.css`)
    await Deno.copyFile(uplotCss(), `${staging}/assets/uplot.css`).catch((e) => {
      throw new Error(`cannot copy uPlot's stylesheet (${uplotCss()}): run \`deno install\` first (${e})`)
    })
    for (const file of DASHBOARD_FILES) await Deno.stat(`${staging}/${file}`)
    await Deno.remove(out, { recursive: true }).catch(() => {})
    await Deno.rename(staging, out)
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {})
    throw e
  }
}

if (import.meta.main) {
  const [flag, value] = Deno.args
  if (Deno.args.length > 0 && !(flag === "--out" && value && Deno.args.length === 2)) {
    Deno.stderr.writeSync(new TextEncoder().encode("usage: deno task dashboard [--out DIR]\n"))
    Deno.exit(2)
  }
  const out = value ?? `${ROOT}dist/dashboard`
  try {
    await buildDashboard(out)
  } catch (e) {
    Deno.stderr.writeSync(new TextEncoder().encode(`${(e as Error).message}\n`))
    Deno.exit(1)
  }
  Deno.stderr.writeSync(new TextEncoder().encode(`dashboard built in ${out}\n`))
}
