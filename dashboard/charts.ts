/**
 * Daily line charts (uPlot, bundled from npm at build time) and the publication heatmap. Each chart records what it
 * drew in `drawn` (its x and y values at the last draw), which the browser test compares with the API's answer.
 */
import uPlot from "uplot"

export interface Drawn {
  readonly x: ReadonlyArray<number>
  readonly y: ReadonlyArray<number | null>
}

/** What every chart drew last, by name. */
export const drawn: Record<string, Drawn> = {}

const HEIGHT = 220
export const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 })
const whole = new Intl.NumberFormat("en")

/** `YYYY-MM-DD` (UTC) as UNIX seconds. */
export const daySeconds = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 1000

const charts = new Map<string, { plot: uPlot; box: HTMLElement }>()

addEventListener("resize", () => {
  for (const { plot, box } of charts.values()) plot.setSize({ width: box.clientWidth, height: HEIGHT })
})

/**
 * Draws `points` (x in UNIX seconds) as a line in `box`, replacing what was there; with no points, says `empty`
 * instead. The box is labelled with a one-line description for screen readers.
 */
export function lineChart(
  name: string,
  box: HTMLElement,
  points: ReadonlyArray<readonly [number, number]>,
  options: { readonly label: string; readonly color: string; readonly empty: string },
): void {
  charts.get(name)?.plot.destroy()
  charts.delete(name)
  box.replaceChildren()
  const x = points.map((p) => p[0]), y = points.map((p) => p[1])
  if (points.length === 0) {
    drawn[name] = { x, y }
    box.setAttribute("aria-label", `${options.label}: ${options.empty}`)
    box.append(Object.assign(document.createElement("p"), { className: "empty", textContent: options.empty }))
    return
  }
  const max = Math.max(...y)
  const at = new Date(x[y.indexOf(max)]! * 1000).toISOString().slice(0, 10)
  box.setAttribute(
    "aria-label",
    `${options.label}: ${points.length} days, highest ${whole.format(max)} on ${at}, last ${whole.format(y.at(-1)!)}`,
  )
  const plot = new uPlot(
    {
      width: box.clientWidth,
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      legend: { show: false },
      cursor: { points: { size: 8 } },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#5b6474", grid: { stroke: "#e6e9ef" } },
        { stroke: "#5b6474", grid: { stroke: "#e6e9ef" }, size: 56, values: (_u, ticks) => ticks.map(compact.format) },
      ],
      series: [
        {},
        { label: options.label, stroke: options.color, width: 2, points: { show: true, size: 5, fill: options.color } },
      ],
      hooks: {
        draw: [(u) => {
          drawn[name] = { x: [...u.data[0]], y: Array.from(u.data[1]!, (v: number | null | undefined) => v ?? null) }
        }],
      },
    },
    [x, y],
    box,
  )
  charts.set(name, { plot, box })
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

/**
 * The heatmap as a table: weekdays by rows, hours (UTC) by columns, each cell shaded by its posts' average views and
 * labelled with its figures. Monday first.
 */
export function heatmap(
  table: HTMLTableElement,
  cells: ReadonlyArray<{
    readonly weekday: number
    readonly hour: number
    readonly posts: number
    readonly avgViews: number | null
  }>,
): void {
  const byKey = new Map(cells.map((c) => [`${c.weekday}:${c.hour}`, c]))
  const top = Math.max(1, ...cells.map((c) => c.avgViews ?? 0))
  const head = document.createElement("tr")
  head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: "UTC" }))
  for (let h = 0; h < 24; h++) {
    head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: String(h) }))
  }
  const rows = [1, 2, 3, 4, 5, 6, 0].map((weekday) => {
    const tr = document.createElement("tr")
    tr.append(Object.assign(document.createElement("th"), { scope: "row", textContent: WEEKDAYS[weekday]! }))
    for (let hour = 0; hour < 24; hour++) {
      const c = byKey.get(`${weekday}:${hour}`)
      const td = document.createElement("td")
      const label = c
        ? `${WEEKDAYS[weekday]} ${hour}:00 UTC: ${c.posts} posts, ${
          whole.format(Math.round(c.avgViews ?? 0))
        } views on average`
        : `${WEEKDAYS[weekday]} ${hour}:00 UTC: no posts`
      td.title = label
      td.setAttribute("aria-label", label)
      if (c) {
        td.dataset.posts = String(c.posts)
        const heat = (c.avgViews ?? 0) / top
        td.style.setProperty("--heat", heat.toFixed(3))
        if (heat > 0.55) td.classList.add("hot")
        td.textContent = String(c.posts)
      }
      tr.append(td)
    }
    return tr
  })
  table.tHead?.remove()
  table.createTHead().append(head)
  for (const body of [...table.tBodies]) body.remove()
  table.createTBody().append(...rows)
}
