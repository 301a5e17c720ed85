/** The admin API of channels and posts, through `app.request` (no socket): listings, truth, publishing, edits. */
import { makeAdminApp } from "../admin/Admin.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { DESCRIPTOR, existingIds, harness, patched } from "./support/admin.ts"
import { nextPosts } from "./support/world.ts"

Deno.test("Admin: GET / and GET /descriptor", async () => {
  const h = harness()
  const root = await h.call("GET", "/")
  assertEquals(root.status, 200)
  assertEquals(root.json.ok, true)
  assert(Array.isArray(root.json.routes) && root.json.routes.includes("GET /channels"))
  assertEquals(await h.call("GET", "/descriptor"), { status: 200, json: DESCRIPTOR })
})

Deno.test("Admin: GET /channels lists every channel with its counts", async () => {
  const h = harness()
  const { status, json } = await h.call("GET", "/channels")
  assertEquals(status, 200)
  assertEquals(
    json,
    h.world.channels.map((c) => ({
      id: c.id,
      username: c.username,
      title: c.title,
      kind: c.kind,
      isPrivate: c.isPrivate,
      posts: h.world.truth(c.id).count,
      maxId: h.world.truth(c.id).maxId,
      pts: h.world.pts(c.id),
    })),
  )
})

Deno.test("Admin: GET /channels/:id/truth by id or username; unknown channel is 404", async () => {
  const h = harness()
  const truth = h.world.truth(h.channel.id)
  const byId = await h.call("GET", `/channels/${h.channel.id}/truth`)
  assertEquals(byId.status, 200)
  assertEquals(Object.keys(byId.json), [
    "count",
    "minId",
    "maxId",
    "views",
    "forwards",
    "replies",
    "reactions",
    "deletedIds",
  ])
  assertEquals(byId.json, { ...truth, deletedIds: [...truth.deletedIds] })
  assertEquals((await h.call("GET", `/channels/${h.channel.username}/truth`)).json, byId.json)
  assertEquals((await h.call("GET", `/channels/@${h.channel.username}/truth`)).json, byId.json)
  assertEquals(await h.call("GET", "/channels/nosuchchannel/truth"), {
    status: 404,
    json: { error: 'Unknown channel "nosuchchannel"' },
  })
  assertEquals((await h.call("GET", "/channels/999999999/truth")).status, 404)
})

Deno.test("Admin: GET a post as JSON (bigints as strings); unknown post 404, bad id 400", async () => {
  const h = harness()
  const [id] = existingIds(h.world, h.channel.id, 1)
  const post = h.world.posts(h.channel.id, [id!])[0]!
  const { status, json } = await h.call("GET", `/channels/${h.channel.id}/posts/${id}`)
  assertEquals(status, 200)
  assertEquals(json.id, post.id)
  assertEquals(json.channelId, h.channel.id)
  assertEquals(json.text, post.text)
  assertEquals(json.views, post.views)
  assertEquals(json.date, post.date)
  assertEquals(json.groupedId, post.groupedId === undefined ? null : post.groupedId.toString())
  const missing = await h.call("GET", `/channels/${h.channel.id}/posts/${h.world.truth(h.channel.id).maxId + 100}`)
  assertEquals(missing.status, 404)
  assert(typeof missing.json.error === "string" && missing.json.error.includes("Unknown post"))
  // A grouped post: its 64-bit grouped id must survive as an exact decimal string.
  const big = patched(h.world, { posts: (_channelId, ids) => ids.map(() => ({ ...post, groupedId: 2n ** 63n - 1n })) })
  const res = await makeAdminApp({ world: big, control: h.control, descriptor: () => null }).app.request(
    `/channels/${h.channel.id}/posts/${id}`,
  )
  assertEquals((await res.json()).groupedId, "9223372036854775807")
  const bad = await h.call("GET", `/channels/${h.channel.id}/posts/abc`)
  assertEquals(bad, { status: 400, json: { error: 'Post id "abc" must be a positive integer' } })
})

Deno.test("Admin: POST posts publishes at once", async () => {
  const h = harness()
  const before = h.world.truth(h.channel.id)
  const { status, json } = await h.call("POST", `/channels/${h.channel.username}/posts`, { count: 3 })
  assertEquals(status, 200)
  assertEquals(json, { ids: [before.maxId + 1, before.maxId + 2, before.maxId + 3] })
  const after = h.world.truth(h.channel.id)
  assertEquals(after.count, before.count + 3)
  assertEquals(after.maxId, before.maxId + 3)
})

Deno.test("Admin: POST posts validates the body", async () => {
  const h = harness()
  const path = `/channels/${h.channel.id}/posts`
  const countError = { error: 'Field "count" must be a positive integer' }
  for (const body of [{ count: 0 }, { count: -1 }, { count: 1.5 }, { count: "3" }, {}]) {
    assertEquals(await h.call("POST", path, body), { status: 400, json: countError }, JSON.stringify(body))
  }
  assertEquals(await h.call("POST", path, { count: 1_000_001 }), {
    status: 400,
    json: { error: 'Field "count" must be at most 1000000' },
  })
  assertEquals(await h.call("POST", path, { count: 1, rate: 0 }), {
    status: 400,
    json: { error: 'Field "rate" must be a positive number' },
  })
  assertEquals(await h.call("POST", path, "{not json"), {
    status: 400,
    json: { error: "Request body is not valid JSON" },
  })
  assertEquals(await h.call("POST", path, [1, 2]), {
    status: 400,
    json: { error: "Request body must be a JSON object" },
  })
  assertEquals((await h.call("POST", path)).status, 400, "empty body")
  const unknown = await h.call("POST", path, { count: 1, cuont: 2 })
  assertEquals(unknown.status, 400)
  assert(unknown.json.error.startsWith('Unknown field "cuont"'))
  assertEquals((await h.call("POST", "/channels/nope/posts", { count: 1 })).status, 404)
  assertEquals(h.world.truth(h.channel.id).count, harness().world.truth(h.channel.id).count, "nothing published")
})

Deno.test("Admin: POST posts with a rate publishes in the background", async () => {
  const h = harness()
  try {
    const before = h.world.truth(h.channel.id)
    const path = `/channels/${h.channel.id}/posts`
    const published = nextPosts(h.world, 50)
    assertEquals(await h.call("POST", path, { count: 50, rate: 500 }), {
      status: 200,
      json: { scheduled: 50, rate: 500 },
    })
    // The request publishes nothing itself: the posts come afterwards, in the background (the pace is benchmarked).
    assertEquals(h.world.truth(h.channel.id).count, before.count, "nothing published by the request")
    assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 50 })
    const events = await published
    assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 0 })
    assertEquals(events, Array.from({ length: 50 }, (_, i) => before.maxId + 1 + i), "new ids, in order")
    const after = h.world.truth(h.channel.id)
    assertEquals(after.count, before.count + 50)
    assertEquals(after.maxId, before.maxId + 50)
    assertEquals(events.length, 50)
    assert(new Set(events).size === 50)
  } finally {
    h.admin.close()
  }
})

Deno.test("Admin: close cancels background publishing", async () => {
  const h = harness()
  const before = h.world.truth(h.channel.id).count
  await h.call("POST", `/channels/${h.channel.id}/posts`, { count: 1000, rate: 50 })
  await h.call("POST", `/channels/${h.channel.id}/posts`, { count: 5, rate: 1 })
  assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 1005 })
  await nextPosts(h.world, 1)
  h.admin.close()
  const published = h.world.truth(h.channel.id).count - before
  assert(published > 0 && published < 1005, `published ${published}`)
  assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 0 })
  // Nothing can come after close: no timer is left (Deno.test's op sanitizer fails a test that leaves one behind).
  assertEquals(h.world.truth(h.channel.id).count - before, published, "nothing after close")
})

Deno.test("Admin: edit a post", async () => {
  const h = harness()
  const [id] = existingIds(h.world, h.channel.id, 1)
  const path = `/channels/${h.channel.id}/posts/${id}/edit`
  const edited = await h.call("POST", path, { text: "hello there" })
  assertEquals(edited.status, 200)
  assertEquals(edited.json.id, id)
  assertEquals(edited.json.text, "hello there")
  assertEquals(typeof edited.json.editDate, "number")
  assertEquals(h.world.posts(h.channel.id, [id!])[0]!.text, "hello there")
  const again = await h.call("POST", path)
  assertEquals(again.status, 200, "the body is optional")
  assertEquals(again.json.id, id)
  assertEquals(await h.call("POST", path, { text: 5 }), {
    status: 400,
    json: { error: 'Field "text" must be a string' },
  })
  const missing = `/channels/${h.channel.id}/posts/${h.world.truth(h.channel.id).maxId + 1}/edit`
  assertEquals((await h.call("POST", missing, { text: "x" })).status, 404)
})

Deno.test("Admin: delete posts", async () => {
  const h = harness()
  const ids = existingIds(h.world, h.channel.id, 2)
  const before = h.world.truth(h.channel.id)
  const { status, json } = await h.call("POST", `/channels/${h.channel.id}/delete`, {
    ids: [...ids, before.maxId + 50],
  })
  assertEquals(status, 200)
  assertEquals(json, { deleted: ids })
  const after = h.world.truth(h.channel.id)
  assertEquals(after.count, before.count - 2)
  for (const id of ids) assert(after.deletedIds.includes(id))
  assertEquals(await h.call("POST", `/channels/${h.channel.id}/delete`, { ids: [1, 0] }), {
    status: 400,
    json: { error: 'Field "ids" must be an array of positive integers (at most 1000000)' },
  })
  assertEquals((await h.call("POST", `/channels/${h.channel.id}/delete`, {})).status, 400)
})

Deno.test("Admin: bump views", async () => {
  const h = harness()
  const [id] = existingIds(h.world, h.channel.id, 1)
  const views = h.world.posts(h.channel.id, [id!])[0]!.views
  const path = `/channels/${h.channel.id}/views`
  assertEquals(await h.call("POST", path, { delta: 5, ids: [id] }), { status: 200, json: { changed: 1 } })
  assertEquals(h.world.posts(h.channel.id, [id!])[0]!.views, views + 5)
  const all = await h.call("POST", path, { delta: 1 })
  assertEquals(all, { status: 200, json: { changed: h.world.truth(h.channel.id).count } })
  assertEquals((await h.call("POST", path, { delta: "5" })).json, {
    error: 'Field "delta" must be a non-negative integer',
  })
})
