/**
 * The read API's post routes over comments and the edit log, against the sandbox's own lists: a post's comments (newest
 * first, as the sandbox lists them oldest first) and a post's versions after an edit made through the admin API (the
 * original text, then the edited one; hashes linked), in JSON and CSV.
 */
import { Effect, Option } from "effect"
import { apiApp } from "../../src/api/Api.ts"
import { Analytics } from "../../src/store/Analytics.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, syncHarness } from "../support/collect.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { committedPts } from "../support/live.ts"
import { admin, sandboxTest } from "../support/sandbox.ts"
import { until } from "../support/wait.ts"

const backend: BackendName = pgAvailable ? "PostgreSQL" : "PGlite"
const ID = 1_000_000

sandboxTest("api: a post's comments and its versions, as the sandbox has them", async () => {
  await using h = await syncHarness(backend, { channels: 1, posts: 60, env: { MTPROTO_COMMENTS_ENABLED: "true" } })
  await h.sync(["sandbox_chan_0"])
  assertEquals((await h.comments(["sandbox_chan_0"])).failed, [])
  const app = apiApp({
    token: Option.none(),
    version: "test",
    run: (effect) => h.run(Effect.provide(effect, Analytics.layer)),
    now: () => new Date(),
    dashboard: Option.none(),
  })
  const get = async (path: string) => {
    const res = await app.request(path)
    const type = res.headers.get("content-type") ?? ""
    return { status: res.status, body: type.includes("json") ? await res.json() : await res.text() }
  }

  // The post with the most comments: the API lists them newest first, limit applied.
  const truth: { posts: Record<string, number> } = await admin(h.sandbox, `/channels/${ID}/comments/truth`)
  const [postId, count] = Object.entries(truth.posts).sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))[0]!
  assert(count >= 2, `the busiest post has ${count} comments`)
  const listed: { comments: ReadonlyArray<{ id: number; text: string }> } = await admin(
    h.sandbox,
    `/channels/${ID}/posts/${postId}/comments`,
  )
  const comments = await get(`/api/v1/posts/${ID}/${postId}/comments`)
  assertEquals(comments.status, 200)
  assertEquals(
    comments.body.map((c: { commentId: number; text: string }) => [c.commentId, c.text]),
    [...listed.comments].reverse().map((c) => [c.id, c.text]),
  )
  const one = await get(`/api/v1/posts/${ID}/${postId}/comments?limit=1`)
  assertEquals(one.body.map((c: { commentId: number }) => c.commentId), [listed.comments.at(-1)!.id])
  assertEquals((await get(`/api/v1/posts/${ID}/${postId}/comments?limit=0`)).status, 400)

  // An edit made through the admin API, seen live: two versions.
  const before: { text: string } = await admin(h.sandbox, `/channels/${ID}/posts/7`)
  const live = h.follow(["sandbox_chan_0"])
  const caughtUp = () => until(async () => (await committedPts(h.query, ID)) === h.sandbox.world.pts(ID), 10_000, "pts")
  await caughtUp()
  await admin(h.sandbox, `/channels/${ID}/posts/7/edit`, { body: { text: "edited through the admin API" } })
  await caughtUp()
  await live.stop()
  const versions = await get(`/api/v1/posts/${ID}/7/versions`)
  assertEquals(versions.status, 200)
  assertEquals(versions.body.map((v: { kind: string; text: string }) => [v.kind, v.text]), [
    ["version", before.text],
    ["version", "edited through the admin API"],
  ])
  const csv = await get(`/api/v1/posts/${ID}/7/versions?format=csv`)
  assertEquals(csv.status, 200)
  assert(String(csv.body).split("\n")[0]!.startsWith("seq,kind,seenAt"), String(csv.body))
  assertEquals((await get(`/api/v1/posts/${ID}/999999/versions`)).body, [])
})
