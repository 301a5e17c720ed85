/**
 * The deployment files against the code: every metric and label that an alert rule or a dashboard panel names is one
 * tgpulse exports (from its own registry, as a first scrape sees it); every SQL panel runs on a synced database and
 * fills; compose.yaml keeps its images overridable, its secrets in .env and its mounts pointing at files that exist.
 */
import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { parse } from "yaml"
import * as Metrics from "../../src/observe/Metrics.ts"
import { TELEGRAM_METHODS } from "../../src/telegram/Requests.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest } from "../support/sandbox.ts"

const root = new URL("../../", import.meta.url)
const read = (path: string) => Deno.readTextFileSync(new URL(path, root))
const json = (path: string) => JSON.parse(read(path))

/** Labels every scraped series also gets from Prometheus, and the histogram bucket label. */
const TARGET_LABELS = new Set(["job", "instance", "le"])

/** Metric family -> its label names, as a first scrape of tgpulse shows them (plus Prometheus's `up`). */
async function exported(): Promise<Map<string, Set<string>>> {
  const text = await Effect.runPromise(
    Effect.gen(function* () {
      yield* Metrics.initialize
      yield* Metrics.initializeAccount("a", "2", TELEGRAM_METHODS)
      return yield* PrometheusMetrics.format()
    }),
  )
  const families = new Map<string, Set<string>>([["up", new Set()]])
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s/.exec(line)
    if (!m) continue
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((l) => l[1]!)
    for (const name of [m[1]!, m[1]!.replace(/_(bucket|sum|count)$/, "")]) {
      const set = families.get(name) ?? new Set<string>()
      for (const l of labels) set.add(l)
      families.set(name, set)
    }
  }
  return families
}

const PROMQL_WORDS = new Set([
  "sum",
  "rate",
  "irate",
  "increase",
  "avg",
  "max",
  "min",
  "count",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "histogram_quantile",
  "max_over_time",
  "min_over_time",
  "avg_over_time",
  "sum_over_time",
  "clamp_min",
  "clamp_max",
  "abs",
  "topk",
  "bottomk",
  "vector",
  "scalar",
  "time",
  "label_replace",
  "absent",
  "changes",
  "resets",
  "delta",
  "deriv",
  "inf",
  "nan",
])

/** What an expression names: metrics (with the labels matched on each) and the labels of its grouping clauses. */
function references(expr: string) {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "")
  const metrics: Array<{ name: string; labels: Array<string> }> = []
  for (const m of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    const name = m[1]!
    const prev = text.slice(0, m.index).trimEnd()
    if (PROMQL_WORDS.has(name) || prev.endsWith("(") && /\b(by|without|on|ignoring)\s*\($/.test(prev)) continue
    if (/^\d/.test(name) || /^[a-z_]+\($/.test(text.slice(m.index!, m.index! + name.length + 1))) continue
    if (!name.startsWith("mtproto_") && name !== "up") continue
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!)
    metrics.push({ name, labels })
  }
  const grouping = [...text.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)]
    .flatMap((m) => m[1]!.split(",").map((l) => l.trim()).filter((l) => l !== ""))
  return { metrics, grouping }
}

/** Every PromQL expression of the rules file and of the operations dashboard, with where it is. */
function expressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = []
  const rules = parse(read("deploy/prometheus/rules.yml")) as {
    groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>
  }
  for (const group of rules.groups) {
    for (const rule of group.rules) out.push({ where: `rule ${rule.alert ?? rule.record}`, expr: String(rule.expr) })
  }
  const dashboard = json("deploy/grafana/dashboards/operations.json")
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === "string") out.push({ where: `panel "${panel.title}"`, expr: target.expr })
    }
  }
  return out
}

Deno.test("deploy: every alert rule and operations panel names only metrics and labels tgpulse exports", async () => {
  const families = await exported()
  const all = expressions()
  assert(all.filter((e) => e.where.startsWith("rule")).length >= 8, "the SLO alerts are there")
  assert(all.filter((e) => e.where.startsWith("panel")).length >= 15, "the operations panels are there")
  const problems: Array<string> = []
  for (const { where, expr } of all) {
    const { metrics, grouping } = references(expr)
    if (metrics.length === 0) problems.push(`${where}: names no tgpulse metric: ${expr}`)
    const known = new Set([...TARGET_LABELS])
    for (const metric of metrics) {
      const labels = families.get(metric.name)
      if (!labels) {
        problems.push(`${where}: unknown metric ${metric.name}`)
        continue
      }
      for (const l of labels) known.add(l)
      for (const label of metric.labels) {
        if (!labels.has(label) && !TARGET_LABELS.has(label)) problems.push(`${where}: ${metric.name} has no "${label}"`)
      }
    }
    for (const label of grouping) if (!known.has(label)) problems.push(`${where}: groups by unknown label "${label}"`)
  }
  assertEquals(problems, [])
  // The check itself catches what it must: a wrong name, a wrong label.
  const wrong = references('sum by (channel) (rate(mtproto_request_totals{state="ok"}[5m]))')
  assertEquals(wrong.metrics.map((m) => [m.name, m.labels]), [["mtproto_request_totals", ["state"]]])
  assertEquals(wrong.grouping, ["channel"])
})

Deno.test("deploy: Grafana provisioning points at the dashboards and both datasources the panels use", () => {
  const datasources = parse(read("deploy/grafana/provisioning/datasources/tgpulse.yml")).datasources as Array<
    { uid: string; type: string }
  >
  const uids = new Map(datasources.map((d) => [d.uid, d.type]))
  for (const file of ["operations.json", "analytics.json"]) {
    const dashboard = json(`deploy/grafana/dashboards/${file}`)
    for (const panel of dashboard.panels ?? []) {
      for (
        const ds of [
          panel.datasource,
          ...(panel.targets ?? []).map((t: { datasource?: unknown }) => t.datasource),
        ]
      ) {
        if (!ds || typeof ds !== "object") continue
        const { uid, type } = ds as { uid: string; type: string }
        assertEquals(uids.get(uid), type, `${file} panel "${panel.title}" uses a provisioned datasource`)
      }
    }
  }
  const providers = parse(read("deploy/grafana/provisioning/dashboards/tgpulse.yml")).providers as Array<
    { options: { path: string } }
  >
  assertEquals(providers.map((p) => p.options.path), ["/var/lib/grafana/dashboards"])
})

Deno.test("deploy: compose.yaml keeps images overridable, secrets in .env, healthchecks, limits and real mounts", () => {
  const compose = parse(read("compose.yaml")) as {
    services: Record<string, Record<string, unknown>>
  }
  assert(!("name" in compose), "no top-level name: (docker-compose 1.29 rejects it)")
  const text = read("compose.yaml")
  for (const variable of ["TGPULSE_IMAGE", "POSTGRES_IMAGE", "PROMETHEUS_IMAGE", "GRAFANA_IMAGE"]) {
    assert(text.includes(`\${${variable}`), `${variable} overrides an image`)
  }
  // No password is written in the file: every one comes from the environment (.env).
  for (
    const m of text.matchAll(
      /^\s*-?\s*([A-Z_]*(?:PASSWORD|SECRET|API_HASH|ACCOUNTS|DATABASE_URL)[A-Z_]*)\s*[:=]\s*(.*)$/gm,
    )
  ) {
    const value = m[2]!.trim().replace(/^"(.*)"$/, "$1")
    const literal = value.replace(/\$\{[^}]*\}/g, "")
    assert(
      value === "" || !/[A-Za-z0-9]{4,}/.test(literal.replace(/postgres:\/\/|@postgres:5432\//g, "")),
      `a secret written in compose.yaml: ${m[0].trim()}`,
    )
  }
  for (const name of ["postgres", "tgpulse", "prometheus", "grafana"]) {
    const service = compose.services[name]
    assert(service !== undefined, `service ${name}`)
    assert(service.restart !== undefined, `${name} has a restart policy`)
    assert(service.mem_limit !== undefined || (service.deploy as any)?.resources?.limits, `${name} has a limit`)
  }
  for (const [name, service] of Object.entries(compose.services)) {
    if (name !== "grafana") assert(service.healthcheck !== undefined, `${name} has a healthcheck`)
    for (const volume of (service.volumes ?? []) as Array<string>) {
      const source = volume.split(":")[0]!
      if (source.startsWith("./")) {
        assert(Deno.statSync(new URL(source, root)), `${name} mounts ${source}, which exists`)
      }
    }
  }
  const tgpulse = compose.services.tgpulse!
  const depends = tgpulse.depends_on as Record<string, { condition: string }>
  assertEquals(depends.postgres?.condition, "service_healthy", "tgpulse waits for a healthy database")
  // `--scale tgpulse=3` works: no fixed name, each replica advertises its own address, a host port range.
  assert(!("container_name" in tgpulse) && !("hostname" in tgpulse), "tgpulse has no fixed name")
  assertEquals((tgpulse.environment as Record<string, string>).CLUSTER_RUNNER_ADDRESS, "auto:34431")
  const published = (tgpulse.ports as Array<string>)[0]!
  assert(
    /^127\.0\.0\.1:\$\{TGPULSE_HOST_PORT:-8091\}-\$\{TGPULSE_HOST_PORT_LAST:-8095\}:8091$/.test(published),
    published,
  )
  const demo = String((compose.services["tgpulse-demo"]!.ports as Array<string>)[0])
  const demoPort = Number(/:-(\d+)\}/.exec(demo)?.[1])
  assert(demoPort < 8091 || demoPort > 8095, `the demo's port ${demoPort} is outside the runners' range`)
})

sandboxTest(
  "deploy: every analytics panel's SQL runs on a synced database (official statistics loaded) and returns rows",
  async () => {
    await using h = await syncHarness("PostgreSQL", { channels: 3, posts: 300 })
    const names = h.sandbox.descriptor.channels.filter((c) => !c.private).map((c) => c.username)
    await h.sync(names)
    await h.loadStats(names, { periodDays: 30 })
    const ids = (await h.query<{ id: string }>("SELECT id FROM channels")).map((r) => r.id).join(", ")
    const dashboard = json("deploy/grafana/dashboards/analytics.json")
    const variable = dashboard.templating.list.find((v: { name: string }) => v.name === "channel")
    assert(variable !== undefined, "the channel variable")
    const options = await h.query<{ __text: string; __value: string }>(variable.query.query ?? variable.query)
    assertEquals(options.length, 3, "the variable lists the channels")
    const panels = dashboard.panels.flatMap((p: { title: string; targets?: Array<{ rawSql?: string }> }) =>
      (p.targets ?? []).filter((t) => t.rawSql).map((t) => ({ title: p.title, sql: t.rawSql! }))
    )
    assert(panels.length >= 8, `SQL panels: ${panels.length}`)
    const empty: Array<string> = []
    for (const { title, sql } of panels) {
      const plain = sql
        .replaceAll("$channel", ids)
        .replace(/\$__timeFilter\(([^)]+)\)/g, "$1 BETWEEN '2000-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'")
      assert(!plain.includes("$"), `${title}: every macro replaced: ${plain}`)
      const rows = await h.query(plain)
      if (rows.length === 0) empty.push(title)
    }
    assertEquals(empty, [], "every panel has data")
  },
  { ignore: !pgAvailable },
)
