/**
 * The read API over a database synced from the sandbox: every route's figures against the sandbox's own truth (counted
 * here from its world, not by the same queries), CSV, bad parameters (400 naming them), the bearer token, and an
 * OpenAPI document listing every route.
 */
import { Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { apiApp } from "../../src/api/Api.ts"
import { ROUTES } from "../../src/api/Routes.ts"
import { Analytics } from "../../src/store/Analytics.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { sandboxTest } from "../support/sandbox.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const ALL_TIME = "from=1970-01-01&to=2100-01-01"
const TOKEN = "s3cret-token-of-the-api-test"

sandboxTest("api: every route answers from the synced database as the sandbox's truth has it", async () => {
  await using h = await syncHarness(backend, { channels: 2, posts: 300 })
  await h.sync(["sandbox_chan_0", "sandbox_chan_1"])
  const ids = [1_000_000, 1_000_001]
  const appWith = (token?: string) =>
    apiApp({
      token: token === undefined ? Option.none() : Option.some(Redacted.make(token)),
      version: "test",
      run: (effect) => h.run(Effect.provide(effect, Analytics.layer)),
      now: () => new Date(),
      dashboard: Option.none(),
    })
  const app = appWith()
  const get = async (path: string, init?: RequestInit) => {
    const res = await app.request(path, init)
    const type = res.headers.get("content-type") ?? ""
    return { status: res.status, type, body: type.includes("json") ? await res.json() : await res.text() }
  }

  // The world's posts of a channel, as they are now.
  const worldPosts = (id: number) => {
    const truth = h.sandbox.world.truth(id)
    const msgIds = Array.from({ length: truth.maxId }, (_, i) => i + 1)
    return h.sandbox.world.posts(id, msgIds).flatMap((p) => (p ? [p] : []))
  }

  const channels = await get("/api/v1/channels")
  assertEquals(channels.status, 200)
  for (const id of ids) {
    const truth = h.sandbox.world.truth(id)
    const row = channels.body.find((c: { id: number }) => c.id === id)
    assertEquals([row?.posts, row?.views], [truth.count, truth.views], `channel ${id} in the list`)
    const summary = await get(`/api/v1/channels/${id}/summary?${ALL_TIME}`)
    assertEquals(summary.status, 200)
    assertEquals([summary.body.posts, summary.body.views], [truth.count, truth.views], `channel ${id} summary`)
    assertEquals([summary.body.forwards, summary.body.reactions], [truth.forwards, truth.reactions])
    // The ratios, from the world's counts and its subscriber count (within float rounding).
    const subscribers = h.sandbox.world.channel(id)!.participantsCount
    assertEquals([row?.subscribers, summary.body.subscribers], [subscribers, subscribers])
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
    assert(close(summary.body.avgViews, truth.views / truth.count), `avgViews ${summary.body.avgViews}`)
    // Every post is older than 24 h at the sync, whose snapshot is then its reach after 24 h.
    assert(close(summary.body.avgReach24h, truth.views / truth.count), `avgReach24h ${summary.body.avgReach24h}`)
    assert(close(summary.body.err, truth.views / truth.count / subscribers), `ERR ${summary.body.err}`)
    assert(
      close(summary.body.er, (truth.forwards + truth.reactions + truth.replies) / truth.views),
      `ER ${summary.body.er}`,
    )

    // The heatmap and the daily series count every post once, where the world dates it.
    const posts = worldPosts(id)
    const heat = new Map<string, number>()
    const daily = new Map<string, number>()
    for (const p of posts) {
      const d = new Date(p.date * 1000)
      heat.set(`${d.getUTCDay()}:${d.getUTCHours()}`, (heat.get(`${d.getUTCDay()}:${d.getUTCHours()}`) ?? 0) + 1)
      daily.set(d.toISOString().slice(0, 10), (daily.get(d.toISOString().slice(0, 10)) ?? 0) + 1)
    }
    const heatmap = await get(`/api/v1/channels/${id}/heatmap?${ALL_TIME}`)
    assertEquals(
      new Map(
        heatmap.body.map((c: { weekday: number; hour: number; posts: number }) => [`${c.weekday}:${c.hour}`, c.posts]),
      ),
      heat,
    )
    const days = await get(`/api/v1/channels/${id}/daily?${ALL_TIME}`)
    assertEquals(new Map(days.body.map((d: { day: string; posts: number }) => [d.day, d.posts])), daily)

    // The hashtags carried by the most posts: counted from the world's entities.
    const tags = new Map<string, number>()
    for (const p of posts) {
      const own = new Set(
        p.entities.filter((e) => e.kind === "hashtag").map((e) => p.text.slice(e.offset, e.offset + e.length)),
      )
      for (const t of own) tags.set(t, (tags.get(t) ?? 0) + 1)
    }
    const top = await get(`/api/v1/channels/${id}/top/hashtags?${ALL_TIME}&limit=1000`)
    assertEquals(new Map(top.body.map((e: { value: string; posts: number }) => [e.value, e.posts])), tags)

    // A post's series: the snapshot the sync stored with it.
    const series = await get(`/api/v1/posts/${id}/5/series`)
    assertEquals(series.body.map((s: { views: number }) => s.views), [posts.find((p) => p.id === 5)?.views])
  }
  // Trending needs snapshots in the window: none yet, so none trends (growth, not totals).
  assertEquals((await get("/api/v1/trending?hours=24&minAgeHours=0")).body, [])
  // Snapshots of 5 posts of each channel an hour apart, growing by id: page by page (X-Next-Cursor) gives the same
  // ranking as one request.
  await h.run(SqlClient.SqlClient.use((sql) =>
    sql`INSERT INTO post_metrics (channel_id, msg_id, taken_at, views)
        SELECT c, m, now() - make_interval(hours => h), 1000 + m * (10 - h) * (c - 999990)
        FROM unnest(${`{${ids.join(",")}}`}::int8[]) c, generate_series(1, 5) m, generate_series(2, 3) h
        ON CONFLICT DO NOTHING`
  ))
  const whole = (await get("/api/v1/trending?hours=6&minAgeHours=0")).body as Array<{ msgId: number }>
  assertEquals(whole.length, 10)
  const paged: Array<{ msgId: number }> = []
  let cursor: string | null = ""
  for (let pages = 0; cursor !== null && pages < 20; pages++) {
    const res = await app.request(`/api/v1/trending?hours=6&minAgeHours=0&limit=3${cursor ? `&cursor=${cursor}` : ""}`)
    paged.push(...await res.json())
    cursor = res.headers.get("x-next-cursor")
  }
  assertEquals(paged, whole, "pages follow each other without a gap or a repeat")

  // CSV where the answer is a table.
  const csv = await get(`/api/v1/channels/${ids[0]}/heatmap?${ALL_TIME}&format=csv`)
  assertEquals([csv.status, csv.type.startsWith("text/csv")], [200, true])
  const lines = (csv.body as string).trimEnd().split("\r\n")
  assertEquals(lines[0], "weekday,hour,posts,avgViews")
  const json = (await get(`/api/v1/channels/${ids[0]}/heatmap?${ALL_TIME}`)).body
  assertEquals(lines.length - 1, json.length, "a line per cell")
  assertEquals(lines[1], [json[0].weekday, json[0].hour, json[0].posts, json[0].avgViews].join(","))

  // Bad parameters: 400 naming them, never a 500.
  for (
    const [path, param] of [
      [`/api/v1/channels/${ids[0]}/summary?from=yesterday`, "from"],
      [`/api/v1/channels/${ids[0]}/summary?from=2030-01-01&to=2020-01-01`, "from"],
      ["/api/v1/channels/abc/summary", "channelId"],
      [`/api/v1/channels/${ids[0]}/top/emojis`, "kind"],
      ["/api/v1/trending?limit=0", "limit"],
      ["/api/v1/trending?hours=9999", "hours"],
      ["/api/v1/trending?cursor=not-a-cursor", "cursor"],
      ["/api/v1/channels?format=xml", "format"],
      [`/api/v1/channels/${ids[0]}/summary?format=csv`, "format"],
    ] as const
  ) {
    const res = await get(path)
    assertEquals([res.status, res.body.param], [400, param], path)
    assert(res.body.error.includes(param), `${path}: ${res.body.error}`)
  }
  assertEquals((await get("/api/v1/nothing")).status, 404)
  assertEquals((await get("/api/v1/channels", { method: "POST" })).status, 405)

  // The OpenAPI document lists every route with its parameters.
  const doc = (await get("/api/v1/openapi.json")).body
  assertEquals(doc.openapi, "3.1.0")
  assertEquals(Object.keys(doc.paths).sort(), ROUTES.map((r) => `/api/v1${r.path}`).sort())
  for (const r of ROUTES) {
    const names = doc.paths[`/api/v1${r.path}`].get.parameters.map((p: { name: string }) => p.name)
    for (const p of r.params) assert(names.includes(p.name), `${r.path} documents ${p.name}`)
  }

  // With a token: none or a wrong one is 401 (and the token is not echoed); the right one passes.
  const guarded = appWith(TOKEN)
  for (const header of [undefined, "Bearer wrong-token-of-the-test", `Basic ${TOKEN}`]) {
    const res = await guarded.request("/api/v1/channels", header ? { headers: { authorization: header } } : {})
    assertEquals(res.status, 401, String(header))
    assert(!(await res.text()).includes(TOKEN), "the token is never echoed")
  }
  const ok = await guarded.request("/api/v1/channels", { headers: { authorization: `Bearer ${TOKEN}` } })
  assertEquals(ok.status, 200)
  assert(
    "security" in await (await guarded.request("/api/v1/openapi.json", {
      headers: { authorization: `Bearer ${TOKEN}` },
    })).json(),
    "the document says a bearer token is needed",
  )
})
