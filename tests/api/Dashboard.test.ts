/**
 * The dashboard in headless Chromium, served with the read API over a database synced from the sandbox (statistics
 * loaded for one channel, metric snapshots for trending): it loads with no console error; each chart draws exactly
 * the points the API returns (its drawn data, and pixels of its colour on the canvas); the cards, trending table and
 * heatmap hold the API's figures; the keyboard alone picks another channel; a phone-wide viewport has no sideways
 * scroll; with a token the page asks for it first. The screenshots the README shows are written to docs/dashboard.png
 * and docs/dashboard-phone.png.
 */
import { Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { apiApp } from "../../src/api/Api.ts"
import { loadDashboard } from "../../src/api/Dashboard.ts"
import { Analytics } from "../../src/store/Analytics.ts"
import { buildDashboard } from "../../tasks/dashboard.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { chromiumAvailable, launchChromium, type Page } from "../support/Chromium.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest } from "../support/sandbox.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const SCREENSHOT = new URL("../../docs/dashboard.png", import.meta.url).pathname
const PHONE_SCREENSHOT = new URL("../../docs/dashboard-phone.png", import.meta.url).pathname
const TOKEN = "dashboard-test-token-0123"
const COLORS = { views: [0x25, 0x63, 0xeb], subscribers: [0x16, 0xa3, 0x4a] } as const

/** Pixels of `rgb` (within a small tolerance) on the canvas of chart `name`. */
const pixelsOf = (page: Page, name: keyof typeof COLORS) =>
  page.evaluate<number>(`(() => {
    const canvas = document.querySelector("#${name}-chart canvas")
    if (!canvas) return 0
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height)
    const [r, g, b] = ${JSON.stringify(COLORS[name])}
    let n = 0
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24) n++
    }
    return n
  })()`)

sandboxTest("dashboard: in Chromium it draws what the API returns, by keyboard and on a phone", async () => {
  await using h = await syncHarness(backend, { channels: 3, posts: 200 })
  await h.sync(["sandbox_chan_0", "sandbox_chan_1", "sandbox_chan_2"])
  const [stats] = await h.loadStats(["sandbox_chan_0"])
  assert(stats !== undefined, "statistics loaded for channel 0")
  // Snapshots an hour apart for 8 posts of each channel, so that posts trend.
  await h.run(SqlClient.SqlClient.use((sql) =>
    sql`INSERT INTO post_metrics (channel_id, msg_id, taken_at, views)
        SELECT c, m, now() - make_interval(hours => h), 1000 + m * (10 - h) * (c - 999990)
        FROM unnest('{1000000,1000001,1000002}'::int8[]) c, generate_series(1, 8) m, generate_series(2, 3) h
        ON CONFLICT DO NOTHING`
  ))

  const built = await Deno.makeTempDir({ prefix: "tgpulse-dashboard-" })
  await buildDashboard(`${built}/page`)
  const dashboard = await Effect.runPromise(loadDashboard(Option.some(`${built}/page`)))
  assert(Option.isSome(dashboard), "the built page loads")
  const serve = (token?: string) => {
    const app = apiApp({
      token: token === undefined ? Option.none() : Option.some(Redacted.make(token)),
      version: "test",
      run: (effect) => h.run(Effect.provide(effect, Analytics.layer)),
      now: () => new Date(),
      dashboard,
    })
    return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch)
  }
  const server = serve()
  const base = `http://127.0.0.1:${server.addr.port}`
  const api = async <A>(path: string): Promise<A> => (await fetch(`${base}/api/v1${path}`)).json()
  await using browser = await launchChromium()
  try {
    const page = await browser.page(1280, 900)
    await page.goto(`${base}/#channel=1000000&days=all`)
    await page.evaluate("tgpulse.whenLoaded(1)")

    // Each chart drew the API's points for the period the page shows.
    const shown = await page.evaluate<{ channel: number; from: string; to: string }>("tgpulse.shown()")
    assertEquals(shown.channel, 1_000_000)
    const period = `from=${shown.from}&to=${shown.to}`
    const days = await api<Array<{ day: string; views: number; official: Record<string, number> }>>(
      `/channels/1000000/daily?${period}`,
    )
    const x = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000
    const drawn = await page.evaluate<Record<string, { x: Array<number>; y: Array<number> }>>("tgpulse.drawn")
    assert(days.length > 0, "the channel has days in the period")
    assertEquals(drawn.views, { x: days.map((d) => x(d.day)), y: days.map((d) => d.views) }, "views chart")
    const followers = days.filter((d) => d.official["growth.total_followers"] !== undefined)
    assert(followers.length > 0, "official followers were loaded")
    assertEquals(
      drawn.subscribers,
      { x: followers.map((d) => x(d.day)), y: followers.map((d) => d.official["growth.total_followers"]) },
      "subscribers chart",
    )
    for (const name of ["views", "subscribers"] as const) {
      assert((await pixelsOf(page, name)) > 50, `the ${name} line is on its canvas`)
    }

    // The cards, the trending table and the heatmap hold the API's figures.
    const summary = await api<{ posts: number; views: number }>(`/channels/1000000/summary?${period}`)
    const cards = await page.evaluate<Record<string, string>>(
      `Object.fromEntries([...document.querySelectorAll(".kpi")].map((k) => [k.dataset.kpi, k.querySelector("strong").title]))`,
    )
    assertEquals([cards.posts, cards.views], [String(summary.posts), String(summary.views)])
    const trending = await api<Array<{ msgId: number }>>("/trending?channel=1000000&hours=24&limit=10")
    assert(trending.length > 0, "posts trend")
    assertEquals(await page.evaluate("document.querySelectorAll('#trending tr').length"), trending.length)
    const heat = await api<Array<{ weekday: number; hour: number; posts: number }>>(
      `/channels/1000000/heatmap?${period}`,
    )
    assert(heat.length > 0, "the heatmap has cells")
    assertEquals(
      await page.evaluate("[...document.querySelectorAll('#heatmap td[data-posts]')].map((td) => +td.dataset.posts)"),
      heatCells(heat),
      "heatmap cells, Monday first",
    )
    const links = await page.evaluate<Array<string>>("[...document.querySelectorAll('#exports a')].map((a) => a.href)")
    for (const link of links) assertEquals((await fetch(link)).headers.get("content-type"), "text/csv; charset=utf-8")
    await page.screenshot(SCREENSHOT)

    // The keyboard alone: Tab to the channel picker, the neighbouring channel with an arrow key.
    const channels = await api<Array<{ id: number }>>("/channels")
    for (let i = 0; i < 10 && await page.evaluate("document.activeElement?.id") !== "channel"; i++) {
      await page.press("Tab")
    }
    assertEquals(await page.evaluate("document.activeElement?.id"), "channel", "Tab reaches the picker")
    const at = channels.findIndex((c) => c.id === 1_000_000)
    const last = at === channels.length - 1
    const next = channels[last ? at - 1 : at + 1]!
    await page.press(last ? "ArrowUp" : "ArrowDown")
    await page.evaluate("tgpulse.whenLoaded(2)")
    const now = await page.evaluate<{ channel: number; from: string; to: string }>("tgpulse.shown()")
    assertEquals(now.channel, next.id, "the arrow key picked the neighbouring channel")
    const other = await api<{ posts: number }>(`/channels/${next.id}/summary?from=${now.from}&to=${now.to}`)
    assertEquals(
      await page.evaluate(`document.querySelector('[data-kpi="posts"] strong').title`),
      String(other.posts),
    )

    // A phone: one column, nothing wider than the screen.
    await page.resize(390, 844, true)
    assert(
      await page.evaluate<boolean>("document.documentElement.scrollWidth <= innerWidth"),
      `no sideways scroll at 390 px (${await page.evaluate("document.documentElement.scrollWidth")})`,
    )
    await page.screenshot(PHONE_SCREENSHOT)
    assertEquals(page.errors, [], "no console errors")

    // With a token, the page asks for it before reading anything, then shows the channels.
    const guarded = serve(TOKEN)
    try {
      const tab = await browser.page(1024, 768)
      await tab.goto(`http://127.0.0.1:${guarded.addr.port}/`)
      assertEquals(await tab.evaluate("document.getElementById('login').hidden"), false, "the token form shows")
      await tab.evaluate("document.getElementById('token').focus()")
      await tab.type(TOKEN)
      await tab.press("Enter")
      await tab.evaluate("tgpulse.whenLoaded(1)")
      assertEquals(await tab.evaluate("document.getElementById('login').hidden"), true)
      assertEquals(tab.errors, [], "no console errors with a token")
    } finally {
      await guarded.shutdown()
    }
  } finally {
    await server.shutdown()
    await Deno.remove(built, { recursive: true })
  }
}, { ignore: !chromiumAvailable })

/** The heatmap's cells as the page lays them out: Monday to Sunday, hours in order; each cell's posts. */
function heatCells(cells: ReadonlyArray<{ weekday: number; hour: number; posts: number }>): Array<number> {
  const order = (c: { weekday: number; hour: number }) => ((c.weekday + 6) % 7) * 24 + c.hour
  return [...cells].sort((a, b) => order(a) - order(b)).map((c) => c.posts)
}
