/** Admin routes of the operator's controls: the world clock, flood budgets, faults, connections, the request log. */
import type { Hono } from "hono"
import type { Fault, FloodBudget } from "../control/Control.ts"
import type { AdminContext } from "./AdminContext.ts"
import {
  atMost,
  boolean,
  integer,
  name,
  nonNegativeInt,
  nonNegativeNumber,
  optional,
  positiveInt,
  positiveNumber,
  queryInt,
  required,
} from "./Fields.ts"
import { badRequest, type Body, json, onlyFields, readBody } from "./Http.ts"

/** Largest latency fault, in milliseconds. */
const MAX_LATENCY_MS = 600_000

/** Runs `f`, which names a body's "method" to the faults or flood budgets: a RangeError (no API method) is a 400. */
function naming<A>(f: () => A): A {
  try {
    return f()
  } catch (error) {
    if (error instanceof RangeError) throw badRequest(`Field "method": ${error.message}`)
    throw error
  }
}

/** Validates a flood budget body. */
export function parseFloodBudget(body: Body): FloodBudget {
  onlyFields(body, ["method", "userId", "rate", "burst", "maxWaitS", "premium"])
  const method = required(body, "method", name)
  const userId = optional(body, "userId", positiveInt)
  const rate = required(body, "rate", positiveNumber)
  const burst = required(body, "burst", positiveInt)
  const maxWaitS = optional(body, "maxWaitS", positiveInt)
  const premium = optional(body, "premium", boolean)
  return {
    method,
    ...(userId !== undefined ? { userId } : {}),
    rate,
    burst,
    ...(maxWaitS !== undefined ? { escalate: { maxWaitS } } : {}),
    ...(premium === true ? { premium } : {}),
  }
}

const FAULT_TAGS: ReadonlyArray<Fault["_tag"]> = ["Latency", "RpcError", "RevokeKey", "DuplicateKey", "BadKeyExchange"]

/** Validates a fault body. */
export function parseFault(body: Body): Fault {
  const tag = body["_tag"]
  switch (tag) {
    case "Latency": {
      onlyFields(body, ["_tag", "ms", "method"])
      const ms = atMost("ms", required(body, "ms", nonNegativeNumber), MAX_LATENCY_MS)
      const method = optional(body, "method", name)
      return { _tag: "Latency", ms, ...(method !== undefined ? { method } : {}) }
    }
    case "RpcError": {
      onlyFields(body, ["_tag", "method", "code", "message", "times", "userId"])
      const method = required(body, "method", name)
      const code = required(body, "code", integer)
      const message = required(body, "message", name)
      const times = required(body, "times", positiveInt)
      const userId = optional(body, "userId", positiveInt)
      return { _tag: "RpcError", method, code, message, times, ...(userId !== undefined ? { userId } : {}) }
    }
    case "BadKeyExchange": {
      onlyFields(body, ["_tag", "times"])
      return { _tag: "BadKeyExchange", times: required(body, "times", positiveInt) }
    }
    case "RevokeKey":
    case "DuplicateKey": {
      onlyFields(body, ["_tag", "userId"])
      return { _tag: tag, userId: required(body, "userId", positiveInt) }
    }
    default:
      throw badRequest(`Field "_tag" must be one of ${FAULT_TAGS.map((t) => `"${t}"`).join(", ")}`)
  }
}

export function operatorRoutes(app: Hono, ctx: AdminContext): void {
  const { world, control } = ctx
  const clock = () =>
    json({ now: world.now(), asOf: world.asOf(), start: world.start, moved: world.asOf() - world.start })
  app.get("/clock", clock)
  app.post("/clock", async (c) => {
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["advance"])
    world.advance(required(body, "advance", nonNegativeInt))
    return clock()
  })

  app.get("/flood", () => json(control.flood.list()))
  app.put("/flood", async (c) => {
    const budget = parseFloodBudget(await readBody(c.req.raw, false))
    naming(() => control.flood.set(budget))
    return json({ ok: true, budgets: control.flood.list() })
  })
  app.delete("/flood", () => {
    control.flood.clear()
    return json({ ok: true })
  })

  app.get("/faults", () => json(control.faults.list()))
  app.post("/faults", async (c) => {
    const fault = parseFault(await readBody(c.req.raw, false))
    naming(() => control.faults.add(fault))
    return json({ ok: true, faults: control.faults.list() })
  })
  app.delete("/faults", () => {
    control.faults.clear()
    return json({ ok: true })
  })

  app.post("/connections/drop", async (c) => {
    const body = await readBody(c.req.raw, true)
    onlyFields(body, ["userId", "dcId"])
    const userId = optional(body, "userId", positiveInt)
    const dcId = optional(body, "dcId", positiveInt)
    const dropped = control.dropConnections({
      ...(userId !== undefined ? { userId } : {}),
      ...(dcId !== undefined ? { dcId } : {}),
    })
    return json({ dropped })
  })

  app.get("/log", (c) => {
    const since = queryInt(c.req.query("since"), "since", nonNegativeInt) ?? 0
    const limit = queryInt(c.req.query("limit"), "limit", positiveInt)
    const method = c.req.query("method") || undefined
    const entries = control.log.since(since, method)
    return json({ lastSeq: control.log.lastSeq, entries: limit === undefined ? entries : entries.slice(0, limit) })
  })
  app.delete("/log", () => {
    control.log.clear()
    return json({ ok: true })
  })
}
