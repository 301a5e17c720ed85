/** The admin API of operator controls, through `app.request` (no socket): clock, flood, faults, connections, log. */
import { makeAdminApp } from "../admin/Admin.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { harness, patched } from "./support/admin.ts"

Deno.test("Admin: clock: now is the wall clock plus the moves, asOf the start plus the moves; never backward", async () => {
  let wallMs = 1_900_000_000_250
  const h = harness(() => wallMs)
  const start = 1_900_000_000
  assertEquals(await h.call("GET", "/clock"), { status: 200, json: { now: start, asOf: start, start, moved: 0 } })
  wallMs += 90_000
  assertEquals((await h.call("GET", "/clock")).json, { now: start + 90, asOf: start, start, moved: 0 })
  assertEquals(await h.call("POST", "/clock", { advance: 3600 }), {
    status: 200,
    json: { now: start + 90 + 3600, asOf: start + 3600, start, moved: 3600 },
  })
  assertEquals([h.world.now(), h.world.asOf()], [start + 90 + 3600, start + 3600])
  assertEquals(await h.call("POST", "/clock", { advance: -1 }), {
    status: 400,
    json: { error: 'Field "advance" must be a non-negative integer' },
  })
  assertEquals((await h.call("GET", "/clock")).json.moved, 3600, "a refused move moves nothing")
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
      [{ method: "help.getConfig", rate: 0, burst: 1 }, 'Field "rate" must be a positive number'],
      [{ method: "help.getConfig", rate: 1, burst: 0.5 }, 'Field "burst" must be a positive integer'],
      [{ method: "help.getConfig", rate: 1, burst: 1, userId: "3" }, 'Field "userId" must be a positive integer'],
      [{ method: "messages.getHistry", rate: 1, burst: 1 }, NO_METHOD("messages.getHistry")],
      [{ method: "help.getConfig", rate: 1, burst: 1, maxWaitS: 0 }, 'Field "maxWaitS" must be a positive integer'],
      [{ method: "messages.Messages", rate: 1, burst: 1 }, NO_METHOD("messages.Messages")],
    ] as const
  ) assertEquals(await h.call("PUT", "/flood", body), { status: 400, json: { error: error } })
  assertEquals((await h.call("DELETE", "/flood")).status, 200)
  assertEquals(h.control.flood.list(), [])
})

/** The 400 of a "method" that is no API method. */
const NO_METHOD = (name: string) =>
  `Field "method": "${name}" is no API method (expected a method as the TL schema or GramJS names it: ` +
  `messages.getHistory or messages.GetHistory)`

Deno.test("Admin: faults and flood budgets name methods as the TL schema or GramJS does; both match calls", async () => {
  const h = harness()
  assertEquals((await h.call("POST", "/faults", { _tag: "Latency", ms: 7, method: "messages.getHistory" })).status, 200)
  assertEquals(h.control.faults.latency("messages.GetHistory"), 7)
  assertEquals((await h.call("GET", "/faults")).json, [{ _tag: "Latency", ms: 7, method: "messages.GetHistory" }])
  const tl = { _tag: "RpcError", method: "help.getConfig", code: 420, message: "FLOOD_WAIT_3", times: 1 }
  assertEquals((await h.call("POST", "/faults", tl)).status, 200)
  assertEquals(h.control.faults.takeError("help.GetConfig", 1), { code: 420, message: "FLOOD_WAIT_3" })
  assertEquals((await h.call("PUT", "/flood", { method: "channels.getFullChannel", rate: 1, burst: 1 })).status, 200)
  assertEquals(h.control.flood.list().map((b) => b.method), ["channels.GetFullChannel"])
  assertEquals(h.control.flood.check(1, "channels.GetFullChannel"), 0)
  assert(h.control.flood.check(1, "channels.GetFullChannel") > 0, "the second call waits: the budget matched")
  const escalating = { method: "contacts.resolveUsername", rate: 1, burst: 1, maxWaitS: 60 }
  assertEquals((await h.call("PUT", "/flood", escalating)).status, 200)
  assertEquals(h.control.flood.list().at(-1), {
    method: "contacts.ResolveUsername",
    rate: 1,
    burst: 1,
    escalate: { maxWaitS: 60 },
  })
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
      [
        { _tag: "RpcError", method: "help.getConfig", code: 400, message: "X" },
        'Field "times" must be a positive integer',
      ],
      [
        { _tag: "RpcError", method: "help.getConfig", code: 4.5, message: "X", times: 1 },
        'Field "code" must be an integer',
      ],
      [
        { _tag: "RpcError", method: "help.getConfig", code: 400, message: "", times: 1 },
        'Field "message" must be a non-empty string',
      ],
      [{ _tag: "RevokeKey" }, 'Field "userId" must be a positive integer'],
      [{ _tag: "Latency", ms: 5, method: "help.getConfg" }, NO_METHOD("help.getConfg")],
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
