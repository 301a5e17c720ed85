/** Admin routes of statistics: the truth served to an account (daily, hourly, values, forwards) and the switches. */
import type { Hono } from "hono"
import { ChannelStats } from "../stats/ChannelStats.ts"
import { graphsOf } from "../stats/GraphSpecs.ts"
import type { ChannelInfo } from "../world/Model.ts"
import type { AdminContext } from "./AdminContext.ts"
import { atMost, boolean, findChannel, findPost, MAX_PUBLISH, nonNegativeInt, queryInt, required } from "./Fields.ts"
import { badRequest, json, onlyFields, readBody } from "./Http.ts"

export function statsRoutes(app: Hono, ctx: AdminContext): void {
  const { world, stats } = ctx
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
    return json(view === undefined ? [] : view.rows("daily", world.asOf(), malformedOf(channel)))
  })

  app.get("/channels/:id/stats/hourly", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const view = statsFor(channel, c.req.query("account"))
    return json(view === undefined ? [] : view.rows("hourly", world.asOf(), malformedOf(channel)))
  })

  app.get("/channels/:id/stats/values", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const view = statsFor(channel, c.req.query("account"))
    if (view === undefined) return json([])
    const asOf = world.asOf()
    return json(
      ChannelStats.valueRows(channel.kind === "broadcast" ? view.broadcastValues(asOf) : view.megagroupValues(asOf)),
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
    const post = findPost(world, channel, c.req.param("msgId"))
    if (channel.kind !== "broadcast") return json([])
    return json(
      new ChannelStats(world, channel).publicForwards(post, world.asOf()).map((f) => ({
        channelId: f.channelId,
        msgId: f.msgId,
        date: f.date,
        views: f.views,
      })),
    )
  })

  // The statistics switches, and the sessions' counters (AUTH_KEY_DUPLICATED, live connections per account).
  app.get("/stats", () =>
    json({
      expireNext: stats.pendingExpired,
      malformed: stats.malformed(),
      unadvertisedStatsDcs: stats.unadvertisedStatsDcs(),
      ...ctx.control.sessions(),
    }))
  app.post("/stats/expire-next", async (c) => {
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count"])
    stats.expireNext(atMost("count", required(body, "count", nonNegativeInt), MAX_PUBLISH))
    return json({ expireNext: stats.pendingExpired })
  })
}
