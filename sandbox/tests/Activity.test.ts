/** Changes of every kind: forwards and reactions in the world, the activity generator, and its admin routes. */
import { applyChange } from "../world/Activity.ts"
import type { WorldEvent } from "../world/Model.ts"
import { World } from "../world/World.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox, unlessHung } from "./support/sandbox.ts"
import { historyQuery } from "../world/History.ts"
import { assertContiguous, connected, rawBuilder } from "./support/updates.ts"

Deno.test("World.bumpForwards and World.react change posts as every read sees them, emit events, keep pts", () => {
  const world = World.create({ seed: 4, channels: 2, posts: 300, clock: () => 1_900_000_000_000 })
  const channel = world.channels[0]!.id
  const events: Array<WorldEvent> = []
  world.subscribe((e) => events.push(e))
  const pts = world.pts(channel)
  const [a, b] = [world.nthNewest(channel, 0)!, world.nthNewest(channel, 5)!]
  const before = world.posts(channel, [a, b])
  const t0 = world.truth(channel)
  const v0 = world.version(channel)

  assertEquals(world.bumpForwards(channel, 4, [a, a, b, t0.maxId + 9]), 2)
  assertEquals(world.posts(channel, [a])[0]!.forwards, before[0]!.forwards + 4)
  assertEquals(events, [
    { _tag: "Forwards", channelId: channel, id: a, forwards: before[0]!.forwards + 4 },
    { _tag: "Forwards", channelId: channel, id: b, forwards: before[1]!.forwards + 4 },
  ])
  assert(world.version(channel) > v0, "version moved (getHistory caches see the change)")
  assertEquals(world.truth(channel).forwards, t0.forwards + 8)
  assertEquals(world.bumpForwards(channel, 1), t0.count, "channel-wide")
  assertEquals(events.length, 2, "no events for a channel-wide bump")
  assertEquals(world.truth(channel).forwards, t0.forwards + 8 + t0.count)

  events.length = 0
  const reactionsBefore = world.posts(channel, [a])[0]!.reactions
  const total = (rs: ReadonlyArray<{ count: number }>) => rs.reduce((s, r) => s + r.count, 0)
  const after = world.react(channel, a, "🤯", 3)
  assertEquals(after.find((r) => r.emoji === "🤯")?.count, 3)
  assertEquals(total(after), total(reactionsBefore) + 3)
  assertEquals(world.posts(channel, [a])[0]!.reactions, after)
  assertEquals(events, [{ _tag: "Reactions", channelId: channel, id: a, reactions: after }])
  assertEquals(world.history(channel, historyQuery({ limit: 1 })).posts[0]!.reactions, after)
  const sorted = [...after].sort((x, y) => y.count - x.count)
  assertEquals(after.map((r) => r.count), sorted.map((r) => r.count), "sorted by count")
  // Taking more than there is drops the reaction; nothing left to take is no change (and no event).
  const dropped = world.react(channel, a, "🤯", -10)
  assertEquals(dropped.find((r) => r.emoji === "🤯"), undefined)
  assertEquals(dropped, reactionsBefore)
  events.length = 0
  assertEquals(world.react(channel, a, "🤯", -1), reactionsBefore)
  assertEquals(events, [])
  world.react(channel, a, "👍", 2)
  assertEquals(world.truth(channel).reactions, t0.reactions + 2)
  let thrown: unknown
  try {
    world.react(channel, t0.maxId + 9, "👍", 1)
  } catch (error) {
    thrown = error
  }
  assertEquals((thrown as Error).message, "MESSAGE_ID_INVALID")

  assertEquals(world.pts(channel), pts, "views, forwards and reactions do not move pts")
  assertEquals(world.changesSince(channel, pts), [])
  assertEquals(world.lastChangeDate(channel), undefined)
  world.delete(channel, [a])
  assertEquals(world.lastChangeDate(channel), 1_900_000_000)
  assertEquals(world.truth(channel).count, t0.count - 1)
  assertEquals(world.postCount(channel), t0.count - 1)
  assertEquals(world.nthNewest(channel, 0), world.history(channel, historyQuery({ limit: 1 })).posts[0]!.id)
  assertEquals(world.nthNewest(channel, t0.count - 2), t0.minId)
  assertEquals(world.nthNewest(channel, t0.count - 1), undefined)
})

Deno.test("applyChange is deterministic: the same seed, channel and sequence give the same world", () => {
  const run = (seed: number) => {
    const world = World.create({ seed, channels: 2, posts: 500 })
    const kinds = new Map<string, number>()
    for (let seq = 0; seq < 600; seq++) {
      const kind = applyChange(world, world.channels[1]!.id, seq)
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    }
    return { truth: world.truth(world.channels[1]!.id), pts: world.pts(world.channels[1]!.id), kinds }
  }
  const a = run(9)
  assertEquals(run(9), a)
  assert(JSON.stringify(run(10).truth) !== JSON.stringify(a.truth), "another seed, other changes")
  for (const kind of ["new", "edit", "delete", "views", "forwards", "reactions"]) {
    assert((a.kinds.get(kind) ?? 0) > 10, `some ${kind}: ${[...a.kinds]}`)
  }
  assert(a.kinds.get("new")! > a.kinds.get("delete")!, "mostly new posts")
})

// How close the runs keep to their rate, and how fast the client gets the updates, is measured by
// `deno task bench sandbox`; here the runs must make every change, in the world and pushed.
sandboxTest("Activity: 5 channels × 500 changes/s, every change in the world and pushed", async () => {
  const options = { seed: 3, channels: 5, posts: 2_000 }
  await using sandbox = await startSandbox(options)
  const channels = sandbox.descriptor.channels.filter((c) => !c.private)
  const client = gramClient(sandbox, { account: 0 })
  try {
    await connected(client)
    const COUNT = 1_500
    const RATE = 500
    const total = COUNT * channels.length
    let received = 0
    let allReceived = () => {}
    const delivered = new Promise<void>((resolve) => (allReceived = resolve))
    client.addEventHandler((update: any) => {
      if (typeof update?.className === "string" && update.className.startsWith("Update") && ++received === total) {
        allReceived()
      }
    }, await rawBuilder(client))
    const before = new Map(channels.map((c) => [c.id, { pts: sandbox.world.pts(c.id), count: c.posts }]))
    const since = (await admin(sandbox, "/pushes")).lastSeq
    const wallStart = Date.now()
    for (const c of channels) {
      const status = await admin(sandbox, `/channels/${c.id}/activity`, { body: { count: COUNT, rate: RATE } })
      assertEquals([status.total, status.running], [COUNT, true])
    }
    // A run's last change is pushed after the run has ended: once every update is in, every run is over.
    await unlessHung("every update at the client", delivered)
    const statuses = await Promise.all(channels.map((c) => admin(sandbox, `/channels/${c.id}/activity`)))
    assertEquals(received, total, "one update per change")

    // The world and the log agree: the same changes, contiguous pts, timestamps inside the run.
    const entries = (await admin(sandbox, `/pushes?since=${since}`)).entries as Array<any>
    assertEquals(entries.length, total)
    const replay = World.create({ ...options })
    for (const c of channels) {
      const status = statuses.find((_, i) => channels[i] === c)!
      assertEquals([status.total, status.done, status.running], [COUNT, COUNT, false])
      const kinds = status.kinds as Record<string, number>
      assertEquals(Object.values(kinds).reduce((a, b) => a + b, 0), COUNT)
      const mine = entries.filter((e) => e.channelId === c.id)
      assertEquals(mine.length, COUNT)
      for (const kind of Object.keys(kinds)) assertEquals(mine.filter((e) => e.kind === kind).length, kinds[kind])
      const start = before.get(c.id)!
      const withPts = mine.filter((e) => e.pts !== undefined)
      assertEquals(assertContiguous(start.pts, withPts), sandbox.world.pts(c.id))
      const removed = mine.filter((e) => e.kind === "delete").reduce((n, e) => n + e.ids.length, 0)
      assertEquals(sandbox.world.truth(c.id).count, start.count + kinds.new! - removed)
      for (let seq = 0; seq < COUNT; seq++) applyChange(replay, c.id, seq)
      assertEquals(sandbox.world.truth(c.id), replay.truth(c.id), "the same changes as a replay from the seed")
    }
    const wallEnd = Date.now()
    assert(entries.every((e) => e.at >= wallStart && e.at <= wallEnd && e.sent === 1), "pushed during the run")
  } finally {
    await client.destroy()
  }
})

sandboxTest("Admin: push, withholding and activity routes check their input and answer JSON shapes", async () => {
  await using sandbox = await startSandbox({ channels: 1, posts: 100 })
  const channel = sandbox.descriptor.channels[0]!
  const res = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${sandbox.descriptor.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    })
    return { status: r.status, json: await r.json() }
  }
  const routes = (await admin(sandbox, "/")).routes as Array<string>
  for (
    const route of ["GET /pushes", "POST /pushes/withhold", "POST /channels/:id/activity", "GET /channels/:id/activity"]
  ) {
    assert(routes.some((r) => r.startsWith(route)), route)
  }
  assertEquals(await admin(sandbox, "/pushes"), { lastSeq: 0, entries: [] })
  assertEquals(await admin(sandbox, `/channels/${channel.id}/activity`), {
    total: 0,
    done: 0,
    running: false,
    kinds: { new: 0, edit: 0, delete: 0, views: 0, forwards: 0, reactions: 0 },
  })
  const now = await admin(sandbox, `/channels/${channel.id}/activity`, {
    body: { count: 20, mix: { new: 1, views: 1 } },
  })
  assertEquals([now.total, now.done, now.running, now.kinds.edit], [20, 20, false, 0])
  assertEquals(now.kinds.new + now.kinds.views, 20)
  // Changes made at once are pushed before the answer leaves (in a microtask of the same task).
  const pushed = await admin(sandbox, "/pushes?since=0")
  assertEquals(pushed.lastSeq, 20)
  const entry = pushed.entries.find((e: any) => e.kind === "new")
  assertEquals(Object.keys(entry).sort(), ["at", "channelId", "ids", "kind", "pts", "ptsCount", "sent", "seq"])
  const running = await admin(sandbox, `/channels/${channel.id}/activity`, { body: { count: 1000, rate: 10 } })
  assertEquals([running.total, running.running], [1020, true])
  const stopped = await admin(sandbox, `/channels/${channel.id}/activity`, { method: "DELETE" })
  assertEquals([stopped.total, stopped.running], [stopped.done, false])

  const bad: ReadonlyArray<[string, string, unknown, string]> = [
    ["POST", `/channels/${channel.id}/activity`, {}, `Field "count" must be a positive integer`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, rate: 0 }, `Field "rate" must be a positive number`],
    [
      "POST",
      `/channels/${channel.id}/activity`,
      { count: 1, mix: { new: 1, likes: 2 } },
      `Field "mix": Unknown kind "likes"`,
    ],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, mix: { new: 0 } }, `Field "mix": At least one weight`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, mix: { new: -1 } }, `Field "mix": Weight of "new"`],
    ["POST", `/channels/${channel.id}/activity`, { count: 1, speed: 3 }, `Unknown field "speed"`],
    ["POST", "/pushes/withhold", { count: 0 }, `Field "count" must be a positive integer`],
    ["POST", "/pushes/withhold", { count: 2, all: true }, `Give either "count" or "all": true`],
    ["POST", "/pushes/withhold", { channelId: 5 }, "Unknown channel 5"],
    ["POST", "/pushes/withhold", { kinds: ["likes"] }, `Field "kinds" must be a non-empty array`],
    ["POST", "/pushes/withhold", "[1]", "Request body must be a JSON object"],
    ["GET", "/pushes?since=-1", undefined, `Query parameter "since" must be a non-negative integer`],
    ["GET", "/pushes?channelId=7", undefined, "Unknown channel 7"],
    ["POST", `/channels/${channel.id}/forwards`, { delta: -1 }, `Field "delta" must be a non-negative integer`],
    ["POST", `/channels/${channel.id}/posts/1/reactions`, { emoji: "" }, `Field "emoji" must be a non-empty string`],
  ]
  for (const [method, path, body, message] of bad) {
    const r = await res(method, path, typeof body === "string" ? JSON.parse(body) : body)
    assertEquals(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`)
    assert(String(r.json.error).startsWith(message), `${r.json.error} should start with ${message}`)
  }
  assertEquals((await res("GET", "/channels/nope/activity")).status, 404)
  assertEquals(await admin(sandbox, "/pushes/withhold", { body: { channelId: channel.id, kinds: ["new"] } }), {
    rules: [{ channelId: channel.id, kinds: ["new"], remaining: 1, all: false }],
    withheld: 0,
  })
  assertEquals(await admin(sandbox, `/pushes/withhold?channelId=${channel.id}`, { method: "DELETE" }), {
    rules: [],
    withheld: 0,
  })
})
