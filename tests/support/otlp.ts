/** An OTLP/HTTP JSON trace receiver on loopback, for tests of exported spans. */

export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
}

interface KeyValue {
  readonly key: string
  readonly value: { readonly stringValue?: string }
}

export interface ResourceSpans {
  readonly resource: { readonly attributes: ReadonlyArray<KeyValue> }
  readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
}

export interface Receiver extends AsyncDisposable {
  readonly url: string
  /** POST /v1/traces requests so far, refused ones included. */
  readonly requests: () => number
  readonly resourceSpans: ReadonlyArray<ResourceSpans>
  readonly spans: () => ReadonlyArray<OtlpSpan>
}

/** An OTLP/HTTP JSON receiver on loopback; the first `refuse` requests get a 503. */
export function startReceiver(options: { readonly refuse?: number } = {}): Receiver {
  const resourceSpans: Array<ResourceSpans> = []
  let requests = 0
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/traces") {
      return new Response("not found", { status: 404 })
    }
    requests++
    const body = await request.json() as { readonly resourceSpans: ReadonlyArray<ResourceSpans> }
    if (requests <= (options.refuse ?? 0)) return new Response("busy", { status: 503 })
    resourceSpans.push(...body.resourceSpans)
    return Response.json({})
  })
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    resourceSpans,
    spans: () => resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    [Symbol.asyncDispose]: () => server.shutdown(),
  }
}
