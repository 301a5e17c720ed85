/** Admin routes of background changes (the activity generator) and of pushed updates (the push log, withholding). */
import type { Hono } from "hono"
import type { PushControl } from "../control/Control.ts"
import { parseMix } from "../world/Activity.ts"
import type { AdminContext } from "./AdminContext.ts"
import {
  atMost,
  boolean,
  findChannel,
  kinds,
  MAX_PUBLISH,
  MAX_RATE,
  nonNegativeInt,
  optional,
  positiveInt,
  positiveNumber,
  queryInt,
  record,
  required,
} from "./Fields.ts"
import { badRequest, json, onlyFields, readBody } from "./Http.ts"

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

export function activityRoutes(app: Hono, ctx: AdminContext): void {
  const { world, activity } = ctx
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
}

export function pushRoutes(app: Hono, ctx: AdminContext): void {
  const { world, pushes } = ctx
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
}
