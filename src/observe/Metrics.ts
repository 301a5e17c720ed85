/**
 * The metrics (one registry: Effect's), named as the original design's dashboards expect. Account labels are account
 * names, never a phone number or a session.
 */
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export const requestsTotal = Metric.counter("mtproto_requests_total", {
  description: "Telegram calls by method, account, DC and status (success, flood_wait, timeout, error, cancelled)",
  incremental: true,
})

/** The `status` of `mtproto_requests_total`, as the original design's alert rules expect them. */
export const REQUEST_STATUSES = ["success", "flood_wait", "timeout", "error", "cancelled"] as const
export type RequestStatus = (typeof REQUEST_STATUSES)[number]
export const requestDuration = Metric.histogram("mtproto_request_duration_seconds", {
  description: "Telegram call duration",
  boundaries: SECONDS,
})
export const floodWaitSeconds = Metric.histogram("mtproto_flood_wait_seconds", {
  description: "FLOOD_WAIT durations Telegram asked for",
  boundaries: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
})
export const poolAccountsHealthy = Metric.gauge("mtproto_pool_accounts_healthy", {
  description: "Pool accounts that can call now",
})
export const poolAccountsTotal = Metric.gauge("mtproto_pool_accounts_total", { description: "Pool accounts" })
export const proxyPoolHealthy = Metric.gauge("mtproto_proxy_pool_healthy", { description: "Proxies not banned" })
export const batchDuration = Metric.histogram("mtproto_batch_duration_seconds", {
  description: "Time to write one batch (a history page, a batch of live updates), by task",
  boundaries: SECONDS,
})
export const queueDepth = Metric.gauge("mtproto_queue_depth", { description: "Items waiting in a task's queue" })
export const rateLimitHits = Metric.counter("mtproto_rate_limit_hits_total", {
  description: "Calls the rate limiter made wait for a token",
  incremental: true,
})
export const errorsTotal = Metric.counter("mtproto_errors_total", {
  description: "Errors by type and component",
  incremental: true,
})
export const postsIngested = Metric.counter("mtproto_posts_ingested_total", {
  description: "Posts inserted or updated, by stream",
  incremental: true,
})
export const updatesApplied = Metric.counter("mtproto_updates_applied_total", {
  description: "Live updates applied",
  incremental: true,
})
export const checkpointLag = Metric.gauge("mtproto_checkpoint_lag_seconds", {
  description: "From receiving data to committing the checkpoint that covers it, by stream (last batch)",
})
export const collectorRestarts = Metric.counter("mtproto_collector_restarts_total", {
  description: "Collectors restarted after a failure, by collector",
  incremental: true,
})

export const apiRequests = Metric.counter("mtproto_api_requests_total", {
  description: "Read API and dashboard requests by route (the OpenAPI path, dashboard or unknown) and status code",
  incremental: true,
})
export const apiRequestDuration = Metric.histogram("mtproto_api_request_duration_seconds", {
  description: "Read API request duration by route",
  boundaries: SECONDS,
})

export const clusterOwned = Metric.gauge("mtproto_cluster_owned", {
  description: "Accounts and channels whose entities this runner owns now, and the collectors it runs, by kind",
})

/** The label values known before anything happened: every series they make is exported at 0 from the first scrape. */
export const KNOWN = {
  tasks: ["history", "updates", "refresh", "stats"],
  streams: ["history", "updates"],
  methodClasses: ["history", "updates", "views", "full", "stats", "resolve", "other"],
  collectors: ["history", "live updates", "metrics refresh", "statistics"],
  owned: ["account", "channel", "collector"],
  /** `error_type` by component: what the telegram adapter, live updates and statistics count. */
  errors: {
    telegram: [
      "flood_wait",
      "slow_mode",
      "auth_revoked",
      "peer_unavailable",
      "migrate",
      "timeout",
      "transient",
      "unexpected",
      "cancelled",
    ],
    updates: ["difference_failed"],
    stats: ["graph_unreadable"],
  },
} as const

/**
 * Exports every metric family with its label sets known at start (counters and histograms at 0, gauges at 0 until
 * set), so that alert rules and dashboards never see an absent series.
 */
export const initialize: Effect.Effect<void> = Effect.gen(function* () {
  const touch = (metric: Metric.Metric<any, unknown>, attributes?: Metric.Metric.Attributes) =>
    Metric.value(attributes ? Metric.withAttributes(metric, attributes) : metric)
  for (const task of KNOWN.tasks) {
    yield* touch(batchDuration, { task })
    yield* touch(queueDepth, { task })
  }
  for (const stream of KNOWN.streams) {
    yield* touch(postsIngested, { stream })
    yield* touch(checkpointLag, { stream })
  }
  for (const method_class of KNOWN.methodClasses) yield* touch(rateLimitHits, { method_class })
  for (const collector of KNOWN.collectors) yield* touch(collectorRestarts, { collector })
  for (const kind of KNOWN.owned) yield* touch(clusterOwned, { kind })
  for (const [component, types] of Object.entries(KNOWN.errors)) {
    for (const error_type of types) yield* touch(errorsTotal, { error_type, component })
  }
  yield* touch(updatesApplied)
  yield* touch(poolAccountsHealthy)
  yield* touch(poolAccountsTotal)
  yield* touch(proxyPoolHealthy)
})

/** The series of one account (its home DC) for every method it may call, at 0, from the first scrape. */
export const initializeAccount = (
  account: string,
  dc: string,
  methods: ReadonlyArray<string>,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    yield* Metric.value(Metric.withAttributes(floodWaitSeconds, { account }))
    for (const method of methods) {
      yield* Metric.value(Metric.withAttributes(requestDuration, { method }))
      for (const status of REQUEST_STATUSES) {
        yield* Metric.value(Metric.withAttributes(requestsTotal, { method, account, dc, status }))
      }
    }
  })

/** Every metric in the Prometheus text format. */
export const prometheusText: Effect.Effect<string> = PrometheusMetrics.format()
