/**
 * The sandbox's HTTP JSON admin API: channels and posts, activity, statistics truth and switches, clock, flood budgets,
 * faults, connections, request log, pushed updates and their withholding.
 */
import { Hono } from "hono"
import { Activity, parseMix } from "./Activity.ts"
import {
  type Fault,
  type FloodBudget,
  PUSH_KINDS,
  type PushControl,
  type PushKind,
  type SandboxControl,
} from "./Control.ts"
import type { ChannelInfo, WorldApi } from "./Model.ts"
import { Pushes } from "./Pushes.ts"
import { ChannelStats, graphsOf } from "./Stats.ts"
import { StatsSwitches } from "./StatsSwitches.ts"

export interface AdminOptions {
  readonly world: WorldApi
  readonly control: SandboxControl
  /** The sandbox descriptor (served as is by `GET /descriptor`). */
  readonly descriptor: () => unknown
}

export interface AdminApp {
  readonly app: Hono
  /** Cancels the background publishing still pending. */
  close(): void
  /** The background changes `/channels/<id>/activity` starts. */
  readonly activity: Activity
}

/** Largest number of posts one request may publish. */
export const MAX_PUBLISH = 1_000_000
/** Pacing step of background publishing, in milliseconds. */
const TICK_MS = 20
/** Largest latency fault, in milliseconds. */
const MAX_LATENCY_MS = 600_000
/** Largest rate of background publishing and activity, per second. */
const MAX_RATE = 1_000_000

const ROUTES: ReadonlyArray<string> = [
  "GET /descriptor",
  "GET /channels",
  "GET /channels/:id/truth",
  "GET /channels/:id/posts/:msgId",
  "POST /channels/:id/posts {count, rate?}",
  "GET /channels/:id/publishing",
  "POST /channels/:id/posts/:msgId/edit {text?}",
  "POST /channels/:id/delete {ids}",
  "POST /channels/:id/views {delta, ids?}",
  "POST /channels/:id/forwards {delta, ids?}",
  "POST /channels/:id/posts/:msgId/reactions {emoji, delta?}",
  "POST /channels/:id/activity {count, rate?, mix?}",
  "GET /channels/:id/activity",
  "DELETE /channels/:id/activity",
  "GET /channels/:id/stats/daily?account=",
  "GET /channels/:id/stats/hourly?account=",
  "GET /channels/:id/stats/values?account=",
  "PUT /channels/:id/stats/graphs/:graph {malformed}",
  "PUT /channels/:id/stats/dc {advertise}",
  "GET /channels/:id/posts/:msgId/forwards",
  "GET /stats",
  "POST /stats/expire-next {count}",
  "GET /clock",
  "POST /clock {advance}",
  "GET /flood",
  "PUT /flood {method, userId?, rate, burst}",
  "DELETE /flood",
  "GET /faults",
  "POST /faults {_tag, ...}",
  "DELETE /faults",
  "POST /connections/drop {userId?, dcId?}",
  "GET /log?since=&method=&limit=",
  "DELETE /log",
  "GET /pushes?since=&channelId=&limit=",
  "GET /pushes/withhold",
  "POST /pushes/withhold {count?, channelId?, kinds?, all?}",
  "DELETE /pushes/withhold?channelId=",
]

/** An error answered with its status and `{"error": message}`. */
class HttpError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message)
  }
}

const badRequest = (message: string) => new HttpError(400, message)

/** JSON with bigints as decimal strings and undefined properties as null. */
function json(value: unknown, status = 200): Response {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => typeof v === "bigint" ? v.toString() : v === undefined ? null : v,
  )
  return new Response(text, { status, headers: { "content-type": "application/json; charset=utf-8" } })
}

type Body = Readonly<Record<string, unknown>>

/** Parses a JSON object body; an empty body is `{}` when `emptyOk`. */
async function readBody(request: Request, emptyOk: boolean): Promise<Body> {
  const text = await request.text()
  if (text.trim() === "") {
    if (emptyOk) return {}
    throw badRequest("Request body must be a JSON object")
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest("Request body is not valid JSON")
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("Request body must be a JSON object")
  }
  return value as Body
}

function onlyFields(body: Body, allowed: ReadonlyArray<string>): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw badRequest(`Unknown field "${key}"; expected ${allowed.map((k) => `"${k}"`).join(", ")}`)
    }
  }
}

interface Check<T> {
  /** What the field must be, e.g. "a positive integer". */
  readonly expected: string
  is(value: unknown): value is T
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v)
const positiveInt: Check<number> = { expected: "a positive integer", is: (v): v is number => isInt(v) && v > 0 }
const nonNegativeInt: Check<number> = {
  expected: "a non-negative integer",
  is: (v): v is number => isInt(v) && v >= 0,
}
const integer: Check<number> = { expected: "an integer", is: isInt }
const positiveNumber: Check<number> = {
  expected: "a positive number",
  is: (v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0,
}
const nonNegativeNumber: Check<number> = {
  expected: "a non-negative number",
  is: (v): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0,
}
const text: Check<string> = { expected: "a string", is: (v): v is string => typeof v === "string" }
const boolean: Check<boolean> = { expected: "true or false", is: (v): v is boolean => typeof v === "boolean" }
const name: Check<string> = {
  expected: "a non-empty string",
  is: (v): v is string => typeof v === "string" && v !== "",
}
const record: Check<Readonly<Record<string, unknown>>> = {
  expected: "a JSON object",
  is: (v): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v),
}
const kinds: Check<ReadonlyArray<PushKind>> = {
  expected: `a non-empty array of ${PUSH_KINDS.map((k) => `"${k}"`).join(", ")}`,
  is: (v): v is ReadonlyArray<PushKind> =>
    Array.isArray(v) && v.length > 0 && v.every((k) => (PUSH_KINDS as ReadonlyArray<unknown>).includes(k)),
}
const ids: Check<ReadonlyArray<number>> = {
  expected: `an array of positive integers (at most ${MAX_PUBLISH})`,
  is: (v): v is ReadonlyArray<number> => Array.isArray(v) && v.length <= MAX_PUBLISH && v.every(positiveInt.is),
}

/** An optional field (absent or null → undefined). */
function optional<T>(body: Body, field: string, check: Check<T>): T | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (!check.is(value)) throw badRequest(`Field "${field}" must be ${check.expected}`)
  return value
}

function required<T>(body: Body, field: string, check: Check<T>): T {
  const value = optional(body, field, check)
  if (value === undefined) throw badRequest(`Field "${field}" must be ${check.expected}`)
  return value
}

function atMost(field: string, value: number, max: number): number {
  if (value > max) throw badRequest(`Field "${field}" must be at most ${max}`)
  return value
}

/** Validates a flood budget body. */
export function parseFloodBudget(body: Body): FloodBudget {
  onlyFields(body, ["method", "userId", "rate", "burst"])
  const method = required(body, "method", name)
  const userId = optional(body, "userId", positiveInt)
  const rate = required(body, "rate", positiveNumber)
  const burst = required(body, "burst", positiveInt)
  return { method, ...(userId !== undefined ? { userId } : {}), rate, burst }
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

/** Finds a channel by numeric id (bare, or -100-prefixed as in the Bot API) or by username (with or without "@"). */
function findChannel(world: WorldApi, raw: string): ChannelInfo {
  const ref = raw.startsWith("@") ? raw.slice(1) : raw
  let found: ChannelInfo | undefined
  if (/^\d+$/.test(ref)) found = world.channel(Number(ref))
  else if (/^-100\d+$/.test(ref)) found = world.channel(Number(ref.slice(4)))
  found ??= world.channelByUsername(ref)
  if (!found) throw new HttpError(404, `Unknown channel "${raw}"`)
  return found
}

function postIdOf(raw: string): number {
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!(Number.isSafeInteger(id) && id > 0)) throw badRequest(`Post id "${raw}" must be a positive integer`)
  return id
}

function queryInt(raw: string | undefined, param: string, check: Check<number>): number | undefined {
  if (raw === undefined || raw === "") return undefined
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN
  if (!check.is(value)) throw badRequest(`Query parameter "${param}" must be ${check.expected}`)
  return value
}

/** One background publishing run: `total` posts at `rate` per second, paced from `started`. */
interface Job {
  readonly channelId: number
  readonly total: number
  readonly rate: number
  readonly started: number
  done: number
  timer: ReturnType<typeof setTimeout> | undefined
}

/** The state of push withholding as the admin API shows it. */
function withholdState(pushes: PushControl) {
  return {
    rules: pushes.rules().map((r) => ({
      channelId: r.channelId ?? null,
      kinds: r.kinds ?? null,
      remaining: r.remaining ?? null,
      all: r.remaining === undefined,
    })),
    withheld: pushes.withheld,
  }
}

/** Builds the admin app; the caller serves `app.fetch` (on loopback) and calls `close` when stopping. */
export function makeAdminApp(options: AdminOptions): AdminApp {
  const { world, control } = options
  const stats = control.stats ?? new StatsSwitches()
  const pushes: PushControl = control.pushes ?? new Pushes({ world, targets: [], nowMs: Date.now })
  const activity = new Activity(world)
  const app = new Hono()
  const jobs = new Set<Job>()

  // Paced by elapsed time, so late timers catch up instead of slowing the rate; batches of about rate × 20 ms.
  const schedule = (job: Job) => {
    const nextDue = job.started + ((job.done + 1) / job.rate) * 1000
    job.timer = setTimeout(() => tick(job), Math.max(TICK_MS, nextDue - performance.now()))
  }
  const tick = (job: Job) => {
    job.timer = undefined
    if (!jobs.has(job)) return
    const due = Math.min(job.total, Math.floor(((performance.now() - job.started) / 1000) * job.rate))
    if (due > job.done) {
      try {
        world.publish(job.channelId, due - job.done)
      } catch {
        jobs.delete(job)
        return
      }
      job.done = due
    }
    if (job.done >= job.total) jobs.delete(job)
    else schedule(job)
  }
  const close = () => {
    for (const job of jobs) if (job.timer !== undefined) clearTimeout(job.timer)
    jobs.clear()
    activity.close()
  }

  app.onError((error) =>
    error instanceof HttpError
      ? json({ error: error.message }, error.status)
      : json({ error: `Internal error: ${error instanceof Error ? error.message : String(error)}` }, 500)
  )
  app.notFound((c) => json({ error: `No route ${c.req.method} ${c.req.path}` }, 404))

  app.get("/", () => json({ ok: true, routes: ROUTES }))
  app.get("/descriptor", () => json(options.descriptor() ?? null))

  app.get("/channels", () =>
    json(world.channels.map((c) => {
      const truth = world.truth(c.id)
      return {
        id: c.id,
        username: c.username,
        title: c.title,
        kind: c.kind,
        isPrivate: c.isPrivate,
        posts: truth.count,
        maxId: truth.maxId,
        pts: world.pts(c.id),
      }
    })))

  app.get("/channels/:id/truth", (c) => {
    const t = world.truth(findChannel(world, c.req.param("id")).id)
    return json({
      count: t.count,
      minId: t.minId,
      maxId: t.maxId,
      views: t.views,
      forwards: t.forwards,
      replies: t.replies,
      reactions: t.reactions,
      deletedIds: t.deletedIds,
    })
  })

  const findPost = (channel: ChannelInfo, rawId: string) => {
    const id = postIdOf(rawId)
    const post = world.posts(channel.id, [id])[0]
    if (!post) throw new HttpError(404, `Unknown post ${id} in channel "${channel.username}"`)
    return post
  }

  app.get("/channels/:id/posts/:msgId", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    return json(findPost(channel, c.req.param("msgId")))
  })

  app.post("/channels/:id/posts", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count", "rate"])
    const count = atMost("count", required(body, "count", positiveInt), MAX_PUBLISH)
    const rate = optional(body, "rate", positiveNumber)
    if (rate !== undefined) atMost("rate", rate, MAX_RATE)
    if (rate === undefined) return json({ ids: world.publish(channel.id, count).map((p) => p.id) })
    const job: Job = {
      channelId: channel.id,
      total: count,
      rate,
      started: performance.now(),
      done: 0,
      timer: undefined,
    }
    jobs.add(job)
    schedule(job)
    return json({ scheduled: count, rate })
  })

  app.get("/channels/:id/publishing", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    let pending = 0
    for (const job of jobs) if (job.channelId === channel.id) pending += job.total - job.done
    return json({ pending })
  })

  app.post("/channels/:id/posts/:msgId/edit", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const post = findPost(channel, c.req.param("msgId"))
    const body = await readBody(c.req.raw, true)
    onlyFields(body, ["text"])
    const newText = optional(body, "text", text)
    return json(newText === undefined ? world.edit(channel.id, post.id) : world.edit(channel.id, post.id, newText))
  })

  app.post("/channels/:id/delete", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["ids"])
    return json({ deleted: world.delete(channel.id, required(body, "ids", ids)) })
  })

  app.post("/channels/:id/views", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["delta", "ids"])
    const delta = required(body, "delta", nonNegativeInt)
    const only = optional(body, "ids", ids)
    const changed = only === undefined ? world.bumpViews(channel.id, delta) : world.bumpViews(channel.id, delta, only)
    return json({ changed })
  })

  app.post("/channels/:id/forwards", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["delta", "ids"])
    const delta = required(body, "delta", nonNegativeInt)
    const only = optional(body, "ids", ids)
    const changed = only === undefined
      ? world.bumpForwards(channel.id, delta)
      : world.bumpForwards(channel.id, delta, only)
    return json({ changed })
  })

  app.post("/channels/:id/posts/:msgId/reactions", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const post = findPost(channel, c.req.param("msgId"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["emoji", "delta"])
    const emoji = required(body, "emoji", name)
    const delta = optional(body, "delta", integer) ?? 1
    return json({ reactions: world.react(channel.id, post.id, emoji, delta) })
  })

  // --- activity: mixed changes in the background ------------------------------------------------------------------

  app.post("/channels/:id/activity", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count", "rate", "mix"])
    const count = atMost("count", required(body, "count", positiveInt), MAX_PUBLISH)
    const rate = optional(body, "rate", positiveNumber)
    if (rate !== undefined) atMost("rate", rate, MAX_RATE)
    const rawMix = optional(body, "mix", record)
    let mix
    try {
      mix = rawMix === undefined ? undefined : parseMix(rawMix)
    } catch (error) {
      throw badRequest(`Field "mix": ${(error as Error).message}`)
    }
    return json(
      activity.start(channel.id, {
        count,
        ...(rate === undefined ? {} : { rate }),
        ...(mix === undefined ? {} : { mix }),
      }),
    )
  })

  app.get("/channels/:id/activity", (c) => json(activity.status(findChannel(world, c.req.param("id")).id)))

  app.delete("/channels/:id/activity", (c) => json(activity.stop(findChannel(world, c.req.param("id")).id)))

  // --- statistics: what the sandbox serves, for the collector's tests to compare with -----------------------------

  /** The channel's statistics as the account `?account=` (an index, default 0) sees them; undefined when not admin. */
  const statsFor = (channel: ChannelInfo, rawAccount: string | undefined): ChannelStats | undefined => {
    const index = queryInt(rawAccount, "account", nonNegativeInt) ?? 0
    if (rawAccount !== undefined && rawAccount !== "" && index >= world.accounts.length) {
      throw badRequest(`Query parameter "account" must be below ${world.accounts.length}`)
    }
    const account = world.accounts[index]
    if (account === undefined || !channel.adminUserIds.includes(account.userId)) return undefined
    return new ChannelStats(world, channel)
  }
  const malformedOf = (channel: ChannelInfo) => (graph: string) => stats.isMalformed(channel.id, graph)

  app.get("/channels/:id/stats/daily", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const view = statsFor(channel, c.req.query("account"))
    return json(view === undefined ? [] : view.rows("daily", world.now(), malformedOf(channel)))
  })

  app.get("/channels/:id/stats/hourly", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const view = statsFor(channel, c.req.query("account"))
    return json(view === undefined ? [] : view.rows("hourly", world.now(), malformedOf(channel)))
  })

  app.get("/channels/:id/stats/values", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const view = statsFor(channel, c.req.query("account"))
    if (view === undefined) return json([])
    const now = world.now()
    return json(
      ChannelStats.valueRows(channel.kind === "broadcast" ? view.broadcastValues(now) : view.megagroupValues(now)),
    )
  })

  app.put("/channels/:id/stats/graphs/:graph", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const raw = c.req.param("graph")
    const name = raw.endsWith("_graph") ? raw : `${raw}_graph`
    const graphs = graphsOf(channel).filter((g) => g.served !== "error").map((g) => g.name)
    if (!graphs.includes(name)) {
      throw badRequest(
        `Unknown graph "${raw}" of ${channel.kind} channel "${channel.username}"; expected one of ${
          graphs.map((g) => `"${g}"`).join(", ")
        }`,
      )
    }
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["malformed"])
    const malformed = required(body, "malformed", boolean)
    stats.setMalformed(channel.id, name, malformed)
    return json({
      channelId: channel.id,
      graph: name,
      malformed,
      malformedGraphs: stats.malformed().filter((m) => m.channelId === channel.id).map((m) => m.graph),
    })
  })

  app.put("/channels/:id/stats/dc", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["advertise"])
    const advertise = required(body, "advertise", boolean)
    stats.setStatsDcAdvertised(channel.id, advertise)
    return json({ channelId: channel.id, statsDc: channel.statsDc, advertise })
  })

  app.get("/channels/:id/posts/:msgId/forwards", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const post = findPost(channel, c.req.param("msgId"))
    if (channel.kind !== "broadcast") return json([])
    return json(
      new ChannelStats(world, channel).publicForwards(post, world.now()).map((f) => ({
        channelId: f.channelId,
        msgId: f.msgId,
        date: f.date,
        views: f.views,
      })),
    )
  })

  app.get("/stats", () =>
    json({
      expireNext: stats.pendingExpired,
      malformed: stats.malformed(),
      unadvertisedStatsDcs: stats.unadvertisedStatsDcs(),
    }))
  app.post("/stats/expire-next", async (c) => {
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count"])
    stats.expireNext(atMost("count", required(body, "count", nonNegativeInt), MAX_PUBLISH))
    return json({ expireNext: stats.pendingExpired })
  })

  app.get("/clock", () => json({ now: world.now() }))
  app.post("/clock", async (c) => {
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["advance"])
    world.advance(required(body, "advance", nonNegativeInt))
    return json({ now: world.now() })
  })

  app.get("/flood", () => json(control.flood.list()))
  app.put("/flood", async (c) => {
    control.flood.set(parseFloodBudget(await readBody(c.req.raw, false)))
    return json({ ok: true, budgets: control.flood.list() })
  })
  app.delete("/flood", () => {
    control.flood.clear()
    return json({ ok: true })
  })

  app.get("/faults", () => json(control.faults.list()))
  app.post("/faults", async (c) => {
    control.faults.add(parseFault(await readBody(c.req.raw, false)))
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

  // --- pushed updates ---------------------------------------------------------------------------------------------

  const channelParam = (raw: string | undefined): number | undefined => {
    const id = queryInt(raw, "channelId", positiveInt)
    if (id !== undefined && !world.channel(id)) throw badRequest(`Unknown channel ${id}`)
    return id
  }

  app.get("/pushes", (c) => {
    const since = queryInt(c.req.query("since"), "since", nonNegativeInt) ?? 0
    const limit = queryInt(c.req.query("limit"), "limit", positiveInt)
    const entries = pushes.since(since, channelParam(c.req.query("channelId")))
    return json({ lastSeq: pushes.lastSeq, entries: limit === undefined ? entries : entries.slice(0, limit) })
  })

  app.get("/pushes/withhold", () => json(withholdState(pushes)))
  app.post("/pushes/withhold", async (c) => {
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count", "channelId", "kinds", "all"])
    const all = optional(body, "all", boolean) ?? false
    const count = optional(body, "count", positiveInt)
    if (all && count !== undefined) throw badRequest(`Give either "count" or "all": true, not both`)
    const channelId = optional(body, "channelId", positiveInt)
    if (channelId !== undefined && !world.channel(channelId)) throw badRequest(`Unknown channel ${channelId}`)
    const only = optional(body, "kinds", kinds)
    pushes.withhold({
      ...(channelId === undefined ? {} : { channelId }),
      ...(only === undefined ? {} : { kinds: only }),
      ...(all ? {} : { remaining: count ?? 1 }),
    })
    return json(withholdState(pushes))
  })
  app.delete("/pushes/withhold", (c) => {
    pushes.release(channelParam(c.req.query("channelId")))
    return json(withholdState(pushes))
  })

  return { app, close, activity }
}
