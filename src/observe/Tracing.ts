/**
 * OpenTelemetry traces over OTLP/HTTP (OBS_OTEL_ENABLED), sampled at OTEL_SAMPLER_RATIO, and the shared span names.
 * Export never gets in the program's way: it runs in the background from a bounded outbox. Not metrics, not logs.
 */
import { type Cause, ConfigProvider, Effect, Fiber, Layer, Option, Queue, Schedule, Tracer } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  type HttpClientError,
  type HttpClientRequest,
  HttpClientResponse,
} from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import denoJson from "../../deno.json" with { type: "json" }
import { AppConfig } from "../Config.ts"

/** Span names shared by every module, so traces from the collectors, Telegram calls and the store line up. */
export const spanName = {
  /** A Telegram API call, e.g. `mtproto.request.messages.GetHistory`. */
  request: (method: string): string => `mtproto.request.${method}`,
  /** A store operation, e.g. `mtproto.db.PostRepo.upsertPage`. */
  db: (operation: string): string => `mtproto.db.${operation}`,
  /** One run of a collector, e.g. `mtproto.collector.history`. */
  collector: (type: string): string => `mtproto.collector.${type}`,
} as const

/** Spans per OTLP request; a full batch is handed to the outbox at once. */
const BATCH_SPANS = 512
/** Batches waiting for the collector; when full the oldest is dropped (at most 16 × 512 spans held). */
const OUTBOX_BATCHES = 16
/** How often the spans ended so far are sent. */
const EXPORT_INTERVAL = "5 seconds"
/** One delivery attempt; a collector that accepts the connection but never answers costs no more. */
const ATTEMPT_TIMEOUT = "10 seconds"
/** The final flush when the layer closes. */
const FLUSH_TIMEOUT = "1 second"
/** Retries of a batch while the collector is away: 0.5 s doubling, at most 30 s apart, until it answers. */
const RETRY = Schedule.min([Schedule.exponential("500 millis"), Schedule.spaced("30 seconds")])

type ExportError = HttpClientError.HttpClientError | Cause.TimeoutError

/** Worth another attempt later: no connection, no answer, throttled or a server error. Anything else is a bug. */
function isTransient(error: ExportError): boolean {
  if (error._tag === "TimeoutError") return true
  const reason = error.reason
  if (reason._tag === "TransportError") return true
  if (reason._tag !== "StatusCodeError") return false
  const status = reason.response.status
  return status === 408 || status === 429 || status >= 500
}

function describe(error: ExportError): string {
  if (error._tag === "TimeoutError") return `no answer within ${ATTEMPT_TIMEOUT}`
  const reason = error.reason
  if (reason._tag === "TransportError") return "cannot connect"
  if (reason._tag === "StatusCodeError") return `HTTP ${reason.response.status}`
  return reason._tag
}

/**
 * Parent-based ratio sampling: a root span is kept with probability `ratio`; a child follows its parent (Effect
 * already marks children of an unsampled parent unsampled). The OTLP tracer exports sampled spans only.
 */
function sampleRoots(tracer: Tracer.Tracer, ratio: number): Tracer.Tracer {
  return Tracer.make({
    span(options) {
      const sampled = options.sampled && (Option.isSome(options.parent) || Math.random() < ratio)
      return tracer.span({ ...options, sampled })
    },
    context: tracer.context,
  })
}

/**
 * The OTLP tracer with a bounded outbox in front of the network. Effect's exporter posts each batch to the outbox
 * (an HttpClient that only enqueues, so it never fails, retries or pauses itself); one sender fiber delivers the
 * batches in order, retrying the oldest with backoff while the collector is away, and logs one warning per
 * failure streak.
 */
const makeTracer = Effect.fnUntraced(function* (url: string, ratio: number) {
  const transport = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
  const outbox = yield* Queue.sliding<HttpClientRequest.HttpClientRequest, Cause.Done>(OUTBOX_BATCHES)
  const host = new URL(url).host
  let failing = false
  let dropped = 0
  let closing = false

  const deliver = (request: HttpClientRequest.HttpClientRequest) =>
    transport.execute(request).pipe(
      Effect.flatMap((response) => Effect.ignore(response.arrayBuffer)),
      Effect.timeout(ATTEMPT_TIMEOUT),
      Effect.tapError((error) => {
        if (failing) return Effect.void
        failing = true
        return Effect.logWarning(
          `tracing export to ${host} failed (${describe(error)}); spans are kept in a bounded buffer ` +
            "and sent when the collector answers, the oldest dropped when it is full",
        )
      }),
      Effect.retry({ schedule: RETRY, while: (error) => isTransient(error) && !closing }),
      Effect.matchEffect({
        onFailure: () => Effect.sync(() => void dropped++),
        onSuccess: () => {
          if (!failing) return Effect.void
          failing = false
          const lost = dropped
          dropped = 0
          return Effect.logInfo(`tracing export to ${host} works again (${lost} batches of spans dropped meanwhile)`)
        },
      }),
    )

  const sender = yield* Queue.take(outbox).pipe(
    Effect.flatMap(deliver),
    Effect.forever,
    Effect.withTracerEnabled(false),
    Effect.provideService(HttpClient.TracerPropagationEnabled, false),
    Effect.forkScoped,
  )
  // Registered before the tracer, so it runs after the tracer's own flush has put the last spans in the outbox.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      closing = true
      yield* Queue.end(outbox)
      yield* Fiber.await(sender).pipe(Effect.timeoutOption(FLUSH_TIMEOUT))
    })
  )

  const outboxClient = HttpClient.make((request) =>
    Effect.gen(function* () {
      if (yield* Queue.isFull(outbox)) dropped++
      yield* Queue.offer(outbox, request)
      return HttpClientResponse.fromWeb(request, new Response(null, { status: 202 }))
    })
  )
  const tracer = yield* OtlpTracer.make({
    url,
    resource: {
      serviceName: "tgpulse",
      serviceVersion: denoJson.version,
      attributes: {
        "service.instance.id": crypto.randomUUID(),
        "process.pid": Deno.pid,
        "process.runtime.name": "deno",
        "process.runtime.version": Deno.version.deno,
      },
    },
    exportInterval: EXPORT_INTERVAL,
    maxBatchSize: BATCH_SPANS,
    shutdownTimeout: FLUSH_TIMEOUT,
  }).pipe(
    Effect.provideService(HttpClient.HttpClient, outboxClient),
    // The resource comes from AppConfig only: OTEL_RESOURCE_ATTRIBUTES and friends are not read behind its back.
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({})),
  )
  return sampleRoots(tracer, ratio)
})

/**
 * Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is; else OTEL_EXPORTER_OTLP_ENDPOINT as a base with
 * `/v1/traces` added, as OpenTelemetry's exporters read it, unless it already ends with a signal's path
 * (`/v1/traces`, or `/v1/metrics` or `/v1/logs` pasted from another exporter's settings), which is replaced.
 */
export function tracesUrl(observe: {
  readonly otlpEndpoint: Option.Option<string>
  readonly otlpTracesEndpoint: Option.Option<string>
}): string | undefined {
  if (Option.isSome(observe.otlpTracesEndpoint)) return observe.otlpTracesEndpoint.value
  if (Option.isNone(observe.otlpEndpoint)) return undefined
  const url = new URL(observe.otlpEndpoint.value)
  const base = url.pathname.replace(/\/+$/, "").replace(/\/v1\/(traces|metrics|logs)$/, "")
  url.pathname = `${base}/v1/traces`
  return url.toString()
}

export const Tracing = {
  /**
   * Installs the OTLP tracer when OBS_OTEL_ENABLED is true and OTEL_EXPORTER_OTLP_ENDPOINT is set (one log line
   * otherwise, at debug level when simply disabled, and Effect's no-op tracing). Closing it flushes what is left for at most about a second.
   */
  layer: Layer.unwrap(
    Effect.gen(function* () {
      const { features, observe } = yield* AppConfig
      if (!features.otel) {
        // Debug: every task builds this layer, and a task's own output should stay its own.
        yield* Effect.logDebug("tracing is disabled (OBS_OTEL_ENABLED is not true)")
        return Layer.empty
      }
      const url = tracesUrl(observe)
      if (url === undefined) {
        yield* Effect.logWarning(
          "tracing is disabled: OBS_OTEL_ENABLED is true but neither OTEL_EXPORTER_OTLP_ENDPOINT nor " +
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set",
        )
        return Layer.empty
      }
      yield* Effect.logInfo(`tracing to ${new URL(url).host} (sampler ratio ${observe.samplerRatio})`)
      return Layer.effect(Tracer.Tracer, makeTracer(url, observe.samplerRatio)).pipe(
        Layer.provide([FetchHttpClient.layer, OtlpSerialization.layerJson, OtlpExporter.layerFlusher]),
      )
    }),
  ) satisfies Layer.Layer<never, never, AppConfig>,
}
