/**
 * `deno task bench tracing`: what tracing costs. 2,000 spans (1,000 roots with a child each) run untraced, traced to
 * a collector that answers, to an unreachable one, and to one that accepts but never answers: the run's extra time
 * and how long closing (the final flush) takes. The tests check the behaviour (everything arrives, one warning, the
 * layer closes); the times are measured here.
 */
import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "../src/Config.ts"
import { Tracing } from "../src/observe/Tracing.ts"

const program = Effect.forEach(
  Array.from({ length: 1_000 }, (_, i) => i),
  (i) => Effect.void.pipe(Effect.withSpan("child"), Effect.withSpan("root", { attributes: { i } })),
  { discard: true },
).pipe(Effect.andThen(Effect.sync(() => performance.now())))

/** Runs the program under Tracing built from `env`: its run time and the time the layer took to close, in ms. */
async function timed(env: Record<string, string>): Promise<{ readonly run: number; readonly close: number }> {
  const start = performance.now()
  const ranUntil = await Effect.runPromise(
    program.pipe(
      Effect.provide(Tracing.layer.pipe(Layer.provide(AppConfig.layerFrom(env)))),
      Effect.provide(Logger.layer([])),
    ),
  )
  return { run: ranUntil - start, close: performance.now() - ranUntil }
}

const traced = (endpoint: string) => ({
  OBS_OTEL_ENABLED: "true",
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_SAMPLER_RATIO: "1",
})

export async function benchTracing(options: {
  readonly rounds: number
  readonly report: (line: string) => void
}): Promise<Record<string, number>> {
  const answering = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer()
    return new Response("{}", { headers: { "content-type": "application/json" } })
  })
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const held: Array<Deno.Conn> = []
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn)
  })()
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const closedPort = closed.addr.port
  closed.close()
  const cases = {
    untraced: {},
    answering: traced(`http://127.0.0.1:${answering.addr.port}`),
    unreachable: traced(`http://127.0.0.1:${closedPort}`),
    silent: traced(`http://127.0.0.1:${silent.addr.port}`),
  }
  const runs: Record<string, Array<{ run: number; close: number }>> = {}
  try {
    // One warm-up round (compilation), then the measured ones.
    for (let round = 0; round <= options.rounds; round++) {
      for (const [name, env] of Object.entries(cases)) {
        const t = await timed(env)
        if (round > 0) (runs[name] ??= []).push(t)
      }
    }
  } finally {
    await answering.shutdown()
    silent.close()
    await accepting.catch(() => undefined)
    for (const conn of held) conn.close()
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const worst = Object.fromEntries(
    Object.entries(runs).map(([name, ts]) => [name, {
      run: median(ts.map((t) => t.run)),
      close: median(ts.map((t) => t.close)),
    }]),
  )
  const base = worst.untraced!.run
  const figures: Record<string, number> = {}
  for (const name of ["answering", "unreachable", "silent"]) {
    figures[`${name}ExtraRunMs`] = Math.round(worst[name]!.run - base)
    figures[`${name}CloseMs`] = Math.round(worst[name]!.close)
  }
  options.report(
    `2,000 spans, median of ${options.rounds}: untraced run ${Math.round(base)} ms; traced run +` +
      `${figures.answeringExtraRunMs} ms (collector answering), +${figures.unreachableExtraRunMs} ms (unreachable), ` +
      `+${figures.silentExtraRunMs} ms (never answers); closing ${figures.answeringCloseMs} / ` +
      `${figures.unreachableCloseMs} / ${figures.silentCloseMs} ms`,
  )
  return figures
}
