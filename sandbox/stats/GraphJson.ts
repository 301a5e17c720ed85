/** A graph's JSON as Telegram sends it (statsGraph.json.data), and the malformed form an operator can ask for. */
import type { GraphData } from "./GraphSpecs.ts"

const COLORS: ReadonlyArray<readonly [string, string, string]> = [
  ["green", "3cb64f", "4ed162"],
  ["red", "e05356", "f0616b"],
  ["blue", "3497ed", "4ea7f5"],
  ["golden", "eba52d", "f2b33e"],
  ["lightblue", "58a8ed", "6cb6f2"],
  ["lightgreen", "7ccd74", "8dd985"],
  ["orange", "f7a73a", "faaf4a"],
  ["indigo", "5b6ee2", "6d7ff0"],
  ["violet", "8e6dc0", "a081d0"],
  ["cyan", "44bcc1", "55cbd0"],
]

/**
 * The graph's `statsGraph.json.data`, as Telegram writes it: label-first `columns` (`x` first, in UNIX ms), `types`,
 * `names`, `colors` ("green#3cb64f" style; `dark` picks the dark-theme shades), `hidden`, `subchart` and the
 * `percentage` / `stacked` / `y_scaled` flags where they apply.
 */
export function graphJson(data: GraphData, dark: boolean): string {
  const { spec, xs } = data
  const labels = spec.series.map((_, i) => `y${i}`)
  const types: Record<string, string> = { x: "x" }
  const names: Record<string, string> = {}
  const colors: Record<string, string> = {}
  labels.forEach((label, i) => {
    const [color, light, night] = COLORS[i % COLORS.length]!
    types[label] = spec.type
    names[label] = spec.series[i]!
    colors[label] = `${color}#${dark ? night : light}`
  })
  const out: Record<string, unknown> = {
    columns: [["x", ...xs], ...labels.map((label, i) => [label, ...data.values[i]!])],
    types,
    names,
    colors,
    hidden: [],
    subchart: { show: true, defaultZoom: [xs[Math.max(0, xs.length - 7)] ?? 0, xs[xs.length - 1] ?? 0] },
  }
  if (spec.percentage) out["percentage"] = true
  if (spec.stacked) out["stacked"] = true
  if (spec.yScaled) out["y_scaled"] = true
  return JSON.stringify(out)
}

/** What a malformed graph serves instead: its JSON cut in the middle of `columns` (never parseable). */
export function malformedJson(json: string): string {
  return json.slice(0, Math.max(12, Math.floor(json.length / 3)))
}
