/** Tracing: OTLP/HTTP export to a loopback receiver, parent-based ratio sampling, no harm when the collector is away. */
import { Effect, Layer, Logger, References, Tracer } from "effect"
import denoJson from "../../deno.json" with { type: "json" }
import { AppConfig } from "../../src/Config.ts"
import { spanName, Tracing } from "../../src/observe/Tracing.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { runEffect } from "../support/effectTest.ts"
import { type OtlpSpan, startReceiver } from "../support/otlp.ts"
import { freePort as closedPort } from "../support/tasks.ts"
import { settled, until } from "../support/wait.ts"

interface LogLine {
  readonly level: string
  readonly message: string
}

function captureLogs(): { readonly lines: Array<LogLine>; readonly layer: Layer.Layer<never> } {
  const lines: Array<LogLine> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push({ level: logLevel, message: Array.isArray(message) ? message.map(String).join(" ") : String(message) })
  })
  return {
    lines,
    layer: Layer.mergeAll(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "Debug")),
  }
}

/** Runs `program` under Tracing.layer built from `env`; the layer closes (and flushes) before this resolves. */
function runTraced<A, E>(
  program: Effect.Effect<A, E>,
  env: Readonly<Record<string, string>>,
  logs = captureLogs(),
): Promise<A> {
  return runEffect(
    program.pipe(
      Effect.provide(Tracing.layer.pipe(Layer.provide(AppConfig.layerFrom(env)))),
      Effect.provide(logs.layer),
    ),
  )
}

const enabled = (endpoint: string, ratio: string): Record<string, string> => ({
  OBS_OTEL_ENABLED: "true",
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_SAMPLER_RATIO: ratio,
})

const historyRun = Effect.gen(function* () {
  yield* Effect.void.pipe(Effect.withSpan(spanName.request("messages.GetHistory")))
  yield* Effect.void.pipe(Effect.withSpan(spanName.db("PostRepo.upsertPage")))
}).pipe(Effect.withSpan(spanName.collector("history")))

/** `count` root spans, each with one child. */
const rootsWithChildren = (count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Effect.void.pipe(Effect.withSpan("child"), Effect.withSpan("root", { attributes: { i } })),
    { discard: true },
  )

const byTrace = (spans: ReadonlyArray<OtlpSpan>): Map<string, Array<OtlpSpan>> => {
  const traces = new Map<string, Array<OtlpSpan>>()
  for (const span of spans) traces.set(span.traceId, [...traces.get(span.traceId) ?? [], span])
  return traces
}

Deno.test("spanName: one prefix per kind of work", () => {
  assertEquals(spanName.request("messages.GetHistory"), "mtproto.request.messages.GetHistory")
  assertEquals(spanName.db("PostRepo.upsertPage"), "mtproto.db.PostRepo.upsertPage")
  assertEquals(spanName.collector("history"), "mtproto.collector.history")
})

Deno.test("Tracing.layer exports a collector run with its children to <endpoint>/v1/traces on close", async () => {
  await using receiver = startReceiver()
  await runTraced(historyRun, enabled(receiver.url + "/", "1"))
  const spans = receiver.spans()
  assertEquals(spans.map((s) => s.name).sort(), [
    "mtproto.collector.history",
    "mtproto.db.PostRepo.upsertPage",
    "mtproto.request.messages.GetHistory",
  ])
  const parent = spans.find((s) => s.name === "mtproto.collector.history")!
  assertEquals(parent.parentSpanId, undefined)
  for (const child of spans.filter((s) => s !== parent)) {
    assertEquals(child.traceId, parent.traceId, child.name)
    assertEquals(child.parentSpanId, parent.spanId, child.name)
  }
  const attributes = new Map(receiver.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]))
  assertEquals(attributes.get("service.name"), "tgpulse")
  assertEquals(attributes.get("service.version"), denoJson.version)
  assertEquals(attributes.get("process.runtime.name"), "deno")
})

Deno.test("Tracing.layer: an endpoint given with its /v1/traces path is used as it is, not doubled", async () => {
  await using receiver = startReceiver()
  await runTraced(historyRun, enabled(receiver.url + "/v1/traces", "1"))
  assertEquals(receiver.spans().length, 3)
  await using other = startReceiver()
  await runTraced(historyRun, {
    OBS_OTEL_ENABLED: "true",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: other.url + "/v1/traces",
    OTEL_SAMPLER_RATIO: "1",
  })
  assertEquals(other.spans().length, 3)
})

Deno.test("Tracing.layer at OTEL_SAMPLER_RATIO=0 exports nothing", async () => {
  await using receiver = startReceiver()
  await runTraced(Effect.andThen(historyRun, rootsWithChildren(50)), enabled(receiver.url, "0"))
  assertEquals(receiver.requests(), 0)
})

Deno.test("Tracing.layer at OTEL_SAMPLER_RATIO=0.5 keeps about half of the traces, each whole or not at all", async () => {
  await using receiver = startReceiver()
  await runTraced(rootsWithChildren(400), enabled(receiver.url, "0.5"))
  const traces = byTrace(receiver.spans())
  assert(traces.size >= 100 && traces.size <= 300, `${traces.size} of 400 traces kept`)
  for (const [traceId, spans] of traces) {
    assertEquals(spans.map((s) => s.name).sort(), ["child", "root"], traceId)
  }
})

Deno.test("Tracing.layer: a collector refusing for a while costs one warning, then everything arrives", async () => {
  await using receiver = startReceiver({ refuse: 2 })
  const logs = captureLogs()
  // 600 spans: a full batch of 512 goes at once (refused twice, then retried until it is taken), the rest on close.
  const program = Effect.andThen(
    rootsWithChildren(300),
    Effect.promise(() => until(() => receiver.spans().length >= 512, 0, "the first batch, retried")),
  )
  await runTraced(program, enabled(receiver.url, "1"), logs)
  assertEquals(receiver.spans().length, 600)
  const warnings = logs.lines.filter((l) => l.level === "Warn")
  assertEquals(warnings.length, 1, JSON.stringify(logs.lines))
  assert(warnings[0]!.message.includes("HTTP 503"), warnings[0]!.message)
  assert(logs.lines.some((l) => l.level === "Info" && l.message.includes("works again")), JSON.stringify(logs.lines))
})

/** Runs to its end and closes (flushing) within the wait's deadline: an exporter that hangs fails the test. */
const closes = <A>(run: Promise<A>) => settled(run, "the traced program to close")

Deno.test("Tracing.layer: an unreachable collector: the program runs to its end, closes, and warns once", async () => {
  const logs = captureLogs()
  await closes(runTraced(rootsWithChildren(1_000), enabled(`http://127.0.0.1:${closedPort()}`, "1"), logs))
  const warnings = logs.lines.filter((l) => l.level === "Warn")
  assert(warnings.length >= 1 && warnings.length <= 2, JSON.stringify(logs.lines))
  assert(warnings[0]!.message.includes("cannot connect"), warnings[0]!.message)
})

Deno.test("Tracing.layer: closing while a batch waits to be sent again to an unreachable collector", async () => {
  const logs = captureLogs()
  // The first batch has failed (its warning is out) and waits for its retry when the program ends.
  const program = Effect.andThen(
    rootsWithChildren(1_000),
    Effect.promise(() => until(() => logs.lines.some((l) => l.level === "Warn"), 0, "the first failure")),
  )
  await closes(runTraced(program, enabled(`http://127.0.0.1:${closedPort()}`, "1"), logs))
  assertEquals(logs.lines.filter((l) => l.level === "Warn").length, 1, JSON.stringify(logs.lines))
})

Deno.test("Tracing.layer: a collector that accepts but never answers does not hold up closing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const connections: Array<Deno.Conn> = []
  const accepting = (async () => {
    for await (const conn of listener) connections.push(conn)
  })()
  try {
    await closes(runTraced(rootsWithChildren(1_000), enabled(`http://127.0.0.1:${listener.addr.port}`, "1")))
    assert(connections.length > 0, "the exporter reached the collector")
  } finally {
    listener.close()
    await accepting.catch(() => undefined)
    for (const conn of connections) conn.close()
  }
})

Deno.test("Tracing.layer disabled: one info line, Effect's own tracer, nothing sent", async () => {
  await using receiver = startReceiver()
  const logs = captureLogs()
  const tracer = await runTraced(
    Effect.andThen(historyRun, Effect.tracer),
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SAMPLER_RATIO: "1" },
    logs,
  )
  assert(tracer === Tracer.nativeTracer, "no tracer installed")
  assertEquals(receiver.requests(), 0)
  assertEquals(logs.lines, [{ level: "Debug", message: "tracing is disabled (OBS_OTEL_ENABLED is not true)" }])
})

Deno.test("Tracing.layer enabled without OTEL_EXPORTER_OTLP_ENDPOINT: one warning naming it, tracing off", async () => {
  const logs = captureLogs()
  const tracer = await runTraced(Effect.andThen(historyRun, Effect.tracer), { OBS_OTEL_ENABLED: "true" }, logs)
  assert(tracer === Tracer.nativeTracer, "no tracer installed")
  assertEquals(logs.lines.length, 1)
  assertEquals(logs.lines[0]!.level, "Warn")
  assert(logs.lines[0]!.message.includes("OTEL_EXPORTER_OTLP_ENDPOINT"), logs.lines[0]!.message)
})
