/** Tests of the sandbox's HTTP admin API, through `app.request` (no socket). */
import { type AdminApp, makeAdminApp } from "../../src/sandbox/Admin.ts"
import type { SandboxControl } from "../../src/sandbox/Control.ts"
import { Faults } from "../../src/sandbox/Faults.ts"
import { Flood } from "../../src/sandbox/Flood.ts"
import type { ChannelInfo, Post, WorldApi } from "../../src/sandbox/Model.ts"
import { MemoryRequestLog } from "../../src/sandbox/RequestLog.ts"
import { World } from "../../src/sandbox/World.ts"
import { assert, assertEquals } from "../support/assert.ts"

interface Harness {
  readonly world: WorldApi
  readonly admin: AdminApp
  readonly control: SandboxControl & { readonly flood: Flood; readonly faults: Faults; readonly log: MemoryRequestLog }
  readonly drops: Array<{ readonly userId?: number; readonly dcId?: number }>
  readonly channel: ChannelInfo
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>
}

const DESCRIPTOR = { mainDc: 2, admin: "http://127.0.0.1:1" }

function harness(): Harness {
  const world: WorldApi = World.create({ seed: 7, channels: 2, posts: 40 })
  const drops: Array<{ readonly userId?: number; readonly dcId?: number }> = []
  const control = {
    flood: new Flood(() => 0),
    faults: new Faults(),
    log: new MemoryRequestLog(100),
    dropConnections: (filter: { readonly userId?: number; readonly dcId?: number }) => {
      drops.push(filter)
      return 3
    },
  }
  const admin = makeAdminApp({ world, control, descriptor: () => DESCRIPTOR })
  return {
    world,
    admin,
    control,
    drops,
    channel: world.channels.find((c) => !c.isPrivate) ?? world.channels[0]!,
    async call(method, path, body) {
      const init: RequestInit = { method }
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body)
        init.headers = { "content-type": "application/json" }
      }
      const res = await admin.app.request(path, init)
      assertEquals(res.headers.get("content-type")?.startsWith("application/json"), true, `${method} ${path}`)
      return { status: res.status, json: await res.json() }
    },
  }
}

/** Ids of `n` posts that exist now, oldest first. */
function existingIds(world: WorldApi, channelId: number, n: number): Array<number> {
  const truth = world.truth(channelId)
  const all = Array.from({ length: truth.maxId }, (_, i) => i + 1)
  const posts = world.posts(channelId, all)
  return posts.filter((p): p is Post => p !== undefined).slice(0, n).map((p) => p.id)
}

/** The world with some members replaced (methods of the real world stay bound to it). */
function patched(world: WorldApi, overrides: Partial<WorldApi>): WorldApi {
  return new Proxy(world, {
    get: (target, key) => {
      if (key in overrides) return overrides[key as keyof WorldApi]
      const value: unknown = Reflect.get(target, key)
      return typeof value === "function" ? value.bind(target) : value
    },
  })
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

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
    assertEquals(await h.call("POST", path, { count: 50, rate: 500 }), {
      status: 200,
      json: { scheduled: 50, rate: 500 },
    })
    assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 50 })
    const events: Array<number> = []
    const unsubscribe = h.world.subscribe((e) => {
      if (e._tag === "NewPost") events.push(e.post.id)
    })
    const started = performance.now()
    while ((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json.pending > 0) {
      assert(performance.now() - started < 2000, "50 posts at 500/s should take about 100 ms")
      await sleep(10)
    }
    unsubscribe()
    const elapsed = performance.now() - started
    assert(elapsed >= 60, `published too fast (${elapsed} ms)`)
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
  await sleep(60)
  h.admin.close()
  const published = h.world.truth(h.channel.id).count - before
  assert(published < 20, `published ${published}`)
  assertEquals((await h.call("GET", `/channels/${h.channel.id}/publishing`)).json, { pending: 0 })
  await sleep(60)
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

Deno.test("Admin: clock", async () => {
  const h = harness()
  const now = h.world.now()
  assertEquals(await h.call("GET", "/clock"), { status: 200, json: { now } })
  assertEquals(await h.call("POST", "/clock", { advance: 3600 }), { status: 200, json: { now: now + 3600 } })
  assertEquals(h.world.now(), now + 3600)
  assertEquals(await h.call("POST", "/clock", { advance: -1 }), {
    status: 400,
    json: { error: 'Field "advance" must be a non-negative integer' },
  })
})

Deno.test("Admin: flood budgets", async () => {
  const h = harness()
  assertEquals(await h.call("GET", "/flood"), { status: 200, json: [] })
  const budget = { method: "messages.GetHistory", rate: 1, burst: 2 }
  assertEquals((await h.call("PUT", "/flood", budget)).status, 200)
  assertEquals((await h.call("PUT", "/flood", { method: "*", userId: 3, rate: 0.5, burst: 1 })).status, 200)
  assertEquals((await h.call("GET", "/flood")).json, [budget, { method: "*", userId: 3, rate: 0.5, burst: 1 }])
  assertEquals(h.control.flood.check(1, "messages.GetHistory"), 0)
  for (
    const [body, error] of [
      [{ rate: 1, burst: 1 }, 'Field "method" must be a non-empty string'],
      [{ method: "x", rate: 0, burst: 1 }, 'Field "rate" must be a positive number'],
      [{ method: "x", rate: 1, burst: 0.5 }, 'Field "burst" must be a positive integer'],
      [{ method: "x", rate: 1, burst: 1, userId: "3" }, 'Field "userId" must be a positive integer'],
    ] as const
  ) assertEquals(await h.call("PUT", "/flood", body), { status: 400, json: { error: error } })
  assertEquals((await h.call("DELETE", "/flood")).status, 200)
  assertEquals(h.control.flood.list(), [])
})

Deno.test("Admin: faults", async () => {
  const h = harness()
  const faults = [
    { _tag: "Latency", ms: 50 },
    { _tag: "Latency", ms: 20, method: "messages.GetHistory" },
    { _tag: "RpcError", method: "*", code: 500, message: "INTERNAL", times: 2, userId: 1 },
    { _tag: "RevokeKey", userId: 2 },
    { _tag: "DuplicateKey", userId: 3 },
    { _tag: "BadKeyExchange", times: 2 },
  ]
  for (const f of faults) assertEquals((await h.call("POST", "/faults", f)).status, 200, f._tag)
  assertEquals((await h.call("GET", "/faults")).json, faults)
  assertEquals(h.control.faults.latency("messages.GetHistory"), 70)
  assertEquals(h.control.faults.authFault(2), { code: 401, message: "AUTH_KEY_UNREGISTERED" })
  h.control.faults.takeError("help.GetConfig", 1)
  assertEquals((await h.call("GET", "/faults")).json[2].times, 1)
  for (
    const [body, error] of [
      [
        { _tag: "Nope" },
        'Field "_tag" must be one of "Latency", "RpcError", "RevokeKey", "DuplicateKey", "BadKeyExchange"',
      ],
      [{ ms: 5 }, 'Field "_tag" must be one of "Latency", "RpcError", "RevokeKey", "DuplicateKey", "BadKeyExchange"'],
      [{ _tag: "Latency", ms: -5 }, 'Field "ms" must be a non-negative number'],
      [{ _tag: "RpcError", method: "x", code: 400, message: "X" }, 'Field "times" must be a positive integer'],
      [{ _tag: "RpcError", method: "x", code: 4.5, message: "X", times: 1 }, 'Field "code" must be an integer'],
      [
        { _tag: "RpcError", method: "x", code: 400, message: "", times: 1 },
        'Field "message" must be a non-empty string',
      ],
      [{ _tag: "RevokeKey" }, 'Field "userId" must be a positive integer'],
      [{ _tag: "BadKeyExchange", times: 0 }, 'Field "times" must be a positive integer'],
    ] as const
  ) assertEquals(await h.call("POST", "/faults", body), { status: 400, json: { error } }, JSON.stringify(body))
  assertEquals((await h.call("DELETE", "/faults")).status, 200)
  assertEquals((await h.call("GET", "/faults")).json, [])
})

Deno.test("Admin: drop connections", async () => {
  const h = harness()
  assertEquals(await h.call("POST", "/connections/drop", { userId: 1, dcId: 2 }), {
    status: 200,
    json: { dropped: 3 },
  })
  assertEquals((await h.call("POST", "/connections/drop")).json, { dropped: 3 })
  assertEquals((await h.call("POST", "/connections/drop", { dcId: 0 })).status, 400)
  assertEquals(h.drops, [{ userId: 1, dcId: 2 }, {}])
})

Deno.test("Admin: request log", async () => {
  const h = harness()
  for (const method of ["messages.GetHistory", "help.GetConfig", "messages.GetHistory"]) {
    h.control.log.append({ at: 1, dcId: 2, userId: 1, method, params: { limit: 100 }, outcome: "ok", ms: 3 })
  }
  const all = await h.call("GET", "/log")
  assertEquals(all.status, 200)
  assertEquals(all.json.lastSeq, 3)
  assertEquals(all.json.entries.map((e: { seq: number }) => e.seq), [1, 2, 3])
  assertEquals(all.json.entries[0], {
    seq: 1,
    at: 1,
    dcId: 2,
    userId: 1,
    method: "messages.GetHistory",
    params: { limit: 100 },
    outcome: "ok",
    ms: 3,
  })
  const some = await h.call("GET", "/log?since=1&method=messages.GetHistory")
  assertEquals(some.json.lastSeq, 3)
  assertEquals(some.json.entries.map((e: { seq: number }) => e.seq), [3])
  assertEquals((await h.call("GET", "/log?limit=2")).json.entries.length, 2)
  assertEquals(await h.call("GET", "/log?since=-1"), {
    status: 400,
    json: { error: 'Query parameter "since" must be a non-negative integer' },
  })
  assertEquals((await h.call("DELETE", "/log")).status, 200)
  assertEquals((await h.call("GET", "/log")).json, { lastSeq: 3, entries: [] })
})

Deno.test("Admin: unknown routes and internal errors answer JSON without a stack", async () => {
  const h = harness()
  const missing = await h.call("GET", "/nope")
  assertEquals(missing, { status: 404, json: { error: "No route GET /nope" } })
  const broken = patched(h.world, {
    now: () => {
      throw new Error("boom")
    },
  })
  const admin = makeAdminApp({ world: broken, control: h.control, descriptor: () => null })
  const res = await admin.app.request("/clock")
  assertEquals(res.status, 500)
  assertEquals(await res.json(), { error: "Internal error: boom" })
})
