/** Admin routes of channels and posts: the descriptor, listings, ground truth, publishing, edits, deletions. */
import type { Hono } from "hono"
import type { AdminContext } from "./AdminContext.ts"
import {
  atMost,
  findChannel,
  findPost,
  ids,
  integer,
  MAX_PUBLISH,
  MAX_RATE,
  name,
  nonNegativeInt,
  optional,
  positiveInt,
  positiveNumber,
  required,
  text,
} from "./Fields.ts"
import { json, onlyFields, readBody } from "./Http.ts"

export function channelRoutes(app: Hono, ctx: AdminContext): void {
  const { world, publisher } = ctx
  app.get("/descriptor", () => json(ctx.descriptor() ?? null))

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

  app.get("/channels/:id/posts/:msgId", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    return json(findPost(world, channel, c.req.param("msgId")))
  })

  app.post("/channels/:id/posts", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["count", "rate"])
    const count = atMost("count", required(body, "count", positiveInt), MAX_PUBLISH)
    const rate = optional(body, "rate", positiveNumber)
    if (rate !== undefined) atMost("rate", rate, MAX_RATE)
    if (rate === undefined) return json({ ids: world.publish(channel.id, count).map((p) => p.id) })
    publisher.start(channel.id, { total: count, rate })
    return json({ scheduled: count, rate })
  })

  app.get("/channels/:id/publishing", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    return json({ pending: publisher.pending(channel.id) })
  })

  app.post("/channels/:id/posts/:msgId/edit", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const post = findPost(world, channel, c.req.param("msgId"))
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
    const post = findPost(world, channel, c.req.param("msgId"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["emoji", "delta"])
    const emoji = required(body, "emoji", name)
    const delta = optional(body, "delta", integer) ?? 1
    return json({ reactions: world.react(channel.id, post.id, emoji, delta) })
  })
}
