/**
 * The dashboard page (`/` of the read API's server): a channel and a period to pick, the channel's key figures, its
 * daily views and subscribers, its posts trending now, its publication heatmap and CSV exports, all read from
 * `/api/v1`. The choice lives in the address (`#channel=ID&days=N|all`), so a view can be bookmarked and shared.
 * `globalThis.tgpulse` tells what was drawn and when (for the browser test and the curious).
 */
import {
  type Channel,
  type Day,
  download,
  get,
  type HeatCell,
  type Summary,
  token,
  type Trending,
  Unauthorized,
} from "./api.ts"
import { compact, daySeconds, drawn, heatmap, lineChart } from "./charts.ts"

const DAY_MS = 86_400_000
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
const picker = $<HTMLSelectElement>("channel")
const period = $<HTMLSelectElement>("period")
const status = $("status")

/** What the page shows now, and a promise per completed drawing. */
interface Shown {
  readonly channel: number
  readonly from: string
  readonly to: string
}
let loads = 0
let shown: Shown | undefined
const waiting: Array<{ n: number; resolve: () => void }> = []
declare global {
  var tgpulse: {
    readonly drawn: typeof drawn
    readonly shown: () => Shown | undefined
    readonly loads: () => number
    /** Settles once `n` drawings have completed. */
    readonly whenLoaded: (n: number) => Promise<void>
  }
}
globalThis.tgpulse = {
  drawn,
  shown: () => shown,
  loads: () => loads,
  whenLoaded: (n) => new Promise((resolve) => loads >= n ? resolve() : waiting.push({ n, resolve })),
}

function say(message: string, kind: "info" | "error" = "info"): void {
  status.textContent = message
  status.dataset.kind = kind
  status.hidden = message === ""
}

const percent = (v: number | null) => v === null ? "–" : `${(v * 100).toFixed(1)}%`
const count = (v: number | null) => v === null ? "–" : compact.format(v)

function kpis(s: Summary): void {
  const change = s.followers?.previous == null ? null : s.followers.current - s.followers.previous
  const cards: ReadonlyArray<readonly [string, string, string, number | null]> = [
    ["subscribers", "Subscribers", count(s.subscribers), s.subscribers],
    ["posts", "Posts", count(s.posts), s.posts],
    ["views", "Views", count(s.views), s.views],
    ["avgViews", "Average views", count(s.avgViews === null ? null : Math.round(s.avgViews)), s.avgViews],
    ["avgReach24h", "Reach after 24 h", count(s.avgReach24h === null ? null : Math.round(s.avgReach24h)), null],
    ["err", "ERR", percent(s.err), s.err],
    ["er", "ER", percent(s.er), s.er],
    ["reactions", "Reactions", count(s.reactions), s.reactions],
    ["forwards", "Forwards", count(s.forwards), s.forwards],
  ]
  $("kpis").replaceChildren(...cards.map(([key, label, text, exact]) => {
    const card = Object.assign(document.createElement("div"), { className: "kpi" })
    card.dataset.kpi = key
    card.append(
      Object.assign(document.createElement("span"), { textContent: label }),
      Object.assign(document.createElement("strong"), { textContent: text, title: exact === null ? "" : `${exact}` }),
    )
    if (key === "subscribers" && change !== null) {
      card.append(Object.assign(document.createElement("small"), {
        textContent: `${change >= 0 ? "+" : ""}${compact.format(change)} (official, vs previous period)`,
      }))
    }
    return card
  }))
}

function trending(posts: ReadonlyArray<Trending>, channel: Channel | undefined): void {
  $("trending").replaceChildren(...posts.map((p) => {
    const tr = document.createElement("tr")
    const text = p.text.trim().replace(/\s+/g, " ")
    const post = document.createElement(channel?.username ? "a" : "span")
    post.textContent = text.length > 90 ? `${text.slice(0, 89)}…` : text || `#${p.msgId}`
    if (post instanceof HTMLAnchorElement) post.href = `https://t.me/${channel!.username}/${p.msgId}`
    const cells = [
      new Date(p.date * 1000).toISOString().slice(0, 16).replace("T", " "),
      compact.format(p.views),
      compact.format(p.gained),
      compact.format(Math.round(p.perHour)),
    ]
    const first = document.createElement("td")
    first.append(post)
    tr.append(first, ...cells.map((c) => Object.assign(document.createElement("td"), { textContent: c })))
    return tr
  }))
  $("trending-empty").hidden = posts.length > 0
}

/** The CSV exports of what is shown: links that work as they are, downloaded with the token when there is one. */
function exports(channel: number, query: string): void {
  const files: ReadonlyArray<readonly [string, string]> = [
    ["Daily series", `/channels/${channel}/daily?${query}`],
    ["Heatmap", `/channels/${channel}/heatmap?${query}`],
    ["Trending (24 h)", `/trending?channel=${channel}&hours=24&limit=100`],
    ["Top hashtags", `/channels/${channel}/top/hashtags?${query}`],
    ["Top mentions", `/channels/${channel}/top/mentions?${query}`],
    ["Top links", `/channels/${channel}/top/links?${query}`],
  ]
  $("exports").replaceChildren(...files.map(([label, path]) => {
    const a = Object.assign(document.createElement("a"), { href: `api/v1${path}&format=csv`, textContent: label })
    const name = `${channel}-${label.toLowerCase().replace(/\W+/g, "-")}.csv`
    a.download = name
    a.addEventListener("click", (event) => {
      if (token.get() === null) return
      event.preventDefault()
      download(`${path}&format=csv`, name).catch(failed)
    })
    const li = document.createElement("li")
    li.append(a)
    return li
  }))
}

let channels: ReadonlyArray<Channel> = []
let drawing = 0

/** Reads and draws the picked channel over the picked period; a newer pick wins over one still loading. */
async function show(): Promise<void> {
  const mine = ++drawing
  const channel = Number(picker.value), days = period.value
  history.replaceState(null, "", `#channel=${channel}&days=${days}`)
  const to = new Date(), from = new Date(days === "all" ? 0 : to.getTime() - Number(days) * DAY_MS)
  const query = `from=${from.toISOString()}&to=${to.toISOString()}`
  say("Loading…")
  const [summary, daily, heat, growing] = await Promise.all([
    get<Summary>(`/channels/${channel}/summary?${query}`),
    get<ReadonlyArray<Day>>(`/channels/${channel}/daily?${query}`),
    get<ReadonlyArray<HeatCell>>(`/channels/${channel}/heatmap?${query}`),
    get<ReadonlyArray<Trending>>(`/trending?channel=${channel}&hours=24&limit=10`),
  ])
  if (mine !== drawing) return
  kpis(summary)
  lineChart("views", $("views-chart"), daily.map((d) => [daySeconds(d.day), d.views] as const), {
    label: "Views of the day's posts",
    color: "#2563eb",
    empty: "No posts in this period.",
  })
  // Subscribers: the official statistics' total (followers of a channel, members of a group), where loaded.
  const metric = daily.flatMap((d) => Object.keys(d.official)).find((m) => m.startsWith("growth.total_"))
  const subscribers = metric === undefined
    ? []
    : daily.flatMap((d) => d.official[metric] === undefined ? [] : [[daySeconds(d.day), d.official[metric]!] as const])
  lineChart("subscribers", $("subscribers-chart"), subscribers, {
    label: "Subscribers",
    color: "#16a34a",
    empty: "No official statistics for this period (deno task load-stats, as an admin of the channel).",
  })
  heatmap($<HTMLTableElement>("heatmap"), heat)
  const picked = channels.find((c) => c.id === channel)
  trending(growing, picked)
  exports(channel, query)
  shown = { channel, from: from.toISOString(), to: to.toISOString() }
  const newest = picked?.lastPostAt
  say(
    summary.posts === 0 && newest
      ? `No posts in this period: the newest is from ${new Date(newest * 1000).toISOString().slice(0, 10)}.`
      : "",
  )
  loads++
  for (const w of waiting.splice(0)) w.n <= loads ? w.resolve() : waiting.push(w)
}

function failed(error: unknown): void {
  if (error instanceof Unauthorized) {
    token.clear()
    login()
    say("That token was not accepted: enter the server's API_TOKEN.", "error")
    return
  }
  say(`Could not load: ${error instanceof Error ? error.message : String(error)}`, "error")
  // deno-lint-ignore no-console -- the page's own log: an unexpected failure belongs in the browser's console too
  console.error(error)
}

/** Asks for the token (the server says it wants one: `data-auth` on the page). */
function login(): void {
  $("login").hidden = false
  $<HTMLInputElement>("token").focus()
}

async function start(): Promise<void> {
  if (document.documentElement.dataset.auth === "bearer" && token.get() === null) return login()
  channels = await get<ReadonlyArray<Channel>>("/channels")
  $("login").hidden = true
  if (channels.length === 0) {
    say("No channels stored yet: run `deno task sync-history` (or the demo) first.")
    return
  }
  picker.replaceChildren(...channels.map((c) =>
    Object.assign(document.createElement("option"), {
      value: String(c.id),
      textContent: `${c.title}${c.username ? ` (@${c.username})` : ""}`,
    })
  ))
  const hash = new URLSearchParams(location.hash.slice(1))
  if (channels.some((c) => String(c.id) === hash.get("channel"))) picker.value = hash.get("channel")!
  if ([...period.options].some((o) => o.value === hash.get("days"))) period.value = hash.get("days")!
  await show()
}

picker.addEventListener("change", () => show().catch(failed))
period.addEventListener("change", () => show().catch(failed))
$<HTMLFormElement>("login").addEventListener("submit", (event) => {
  event.preventDefault()
  token.set($<HTMLInputElement>("token").value.trim())
  start().catch(failed)
})
start().catch(failed)
