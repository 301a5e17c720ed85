/** Admin routes of comments: their ground truth per channel, a post's comments, adding comments (pushed to members). */
import type { Hono } from "hono"
import { historyQuery } from "../world/History.ts"
import type { ChannelInfo, Post, WorldApi } from "../world/Model.ts"
import type { AdminContext } from "./AdminContext.ts"
import { atMost, findChannel, findPost, optional, positiveInt, text } from "./Fields.ts"
import { badRequest, json, onlyFields, readBody } from "./Http.ts"

/** Largest number of comments one request may add. */
export const MAX_COMMENTS = 10_000

function groupOf(channel: ChannelInfo): number {
  if (channel.discussionGroupId === undefined) {
    throw badRequest(`Channel ${channel.id} has no discussion group (its posts have no comments)`)
  }
  return channel.discussionGroupId
}

/** Every comment of a post, oldest first (read through the getReplies pages, 100 at a time). */
function allComments(world: WorldApi, channelId: number, postId: number): Array<Post> {
  const out: Array<Post> = []
  let offsetId = 0
  for (;;) {
    const page = world.replies(channelId, postId, historyQuery({ offsetId }))
    out.push(...page.posts)
    const last = page.posts[page.posts.length - 1]
    if (last === undefined || page.posts.length < 100) break
    offsetId = last.id
  }
  return out.reverse()
}

export function commentRoutes(app: Hono, ctx: AdminContext): void {
  const { world } = ctx

  app.get("/channels/:id/comments/truth", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const truth = world.commentTruth(channel.id)
    return json({ count: truth.count, groupId: truth.groupId ?? null, posts: Object.fromEntries(truth.posts) })
  })

  app.get("/channels/:id/posts/:msgId/comments", (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const groupId = groupOf(channel)
    const post = findPost(world, channel, c.req.param("msgId"))
    return json({ groupId, comments: allComments(world, channel.id, post.id) })
  })

  app.post("/channels/:id/posts/:msgId/comments", async (c) => {
    const channel = findChannel(world, c.req.param("id"))
    const post = findPost(world, channel, c.req.param("msgId"))
    const groupId = groupOf(channel)
    const body = await readBody(c.req.raw, true)
    onlyFields(body, ["count", "text", "fromUserId"])
    const count = atMost("count", optional(body, "count", positiveInt) ?? 1, MAX_COMMENTS)
    const commentText = optional(body, "text", text)
    const fromUserId = optional(body, "fromUserId", positiveInt)
    const added = world.addComments(channel.id, post.id, {
      count,
      ...(commentText === undefined ? {} : { text: commentText }),
      ...(fromUserId === undefined ? {} : { fromUserId }),
    })
    return json({ ids: added.map((p) => p.id), groupId })
  })
}
