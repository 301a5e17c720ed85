/** Tests of the sandbox's flood budgets (token buckets on an injected millisecond clock). */
import { Flood, parseFloodSpec, TELEGRAM_LIKE_BUDGETS } from "../control/Flood.ts"
import { assert, assertEquals, assertThrows } from "./support/assert.ts"

const GH = "messages.GetHistory"

function clocked(): { flood: Flood; advance: (ms: number) => void } {
  let now = 1_000_000
  return { flood: new Flood(() => now), advance: (ms) => void (now += ms) }
}

Deno.test("Flood: no budgets means every call is allowed", () => {
  const { flood } = clocked()
  for (let i = 0; i < 1000; i++) assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.list(), [])
})

Deno.test("Flood: a full bucket allows `burst` calls, then answers the wait without consuming", () => {
  const { flood, advance } = clocked()
  flood.set({ method: GH, rate: 0.5, burst: 3 })
  assertEquals([flood.check(1, GH), flood.check(1, GH), flood.check(1, GH)], [0, 0, 0])
  // Empty bucket: (1 - 0) / 0.5 = 2 s.
  assertEquals(flood.check(1, GH), 2)
  assertEquals(flood.check(1, GH), 2, "a refused call does not consume")
  advance(1000) // 0.5 token → ceil(0.5 / 0.5) = 1
  assertEquals(flood.check(1, GH), 1)
  advance(1000) // one whole token
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 2)
})

Deno.test("Flood: the wait is at least one second and rounds up", () => {
  const { flood, advance } = clocked()
  flood.set({ method: GH, rate: 10, burst: 1 })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1, "0.1 s rounds up to 1")
  advance(100)
  assertEquals(flood.check(1, GH), 0)
  flood.set({ method: GH, rate: 0.1, burst: 1 })
  assertEquals(flood.check(1, GH), 0)
  advance(2500) // 0.25 token → ceil(0.75 / 0.1) = 8
  assertEquals(flood.check(1, GH), 8)
})

Deno.test("Flood: buckets refill up to burst only", () => {
  const { flood, advance } = clocked()
  flood.set({ method: GH, rate: 1, burst: 2 })
  advance(3_600_000)
  assertEquals([flood.check(1, GH), flood.check(1, GH)], [0, 0])
  assertEquals(flood.check(1, GH), 1)
})

Deno.test("Flood: buckets are per account and per method; other methods are free", () => {
  const { flood } = clocked()
  flood.set({ method: GH, rate: 1, burst: 1 })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
  assertEquals(flood.check(2, GH), 0, "another account has its own bucket")
  assertEquals(flood.check(1, "channels.GetFullChannel"), 0, "no budget for this method")
  assertEquals(flood.check(1, "channels.GetFullChannel"), 0)
})

Deno.test('Flood: a "*" budget applies to every method, with a bucket per method', () => {
  const { flood } = clocked()
  flood.set({ method: "*", rate: 1, burst: 1 })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
  assertEquals(flood.check(1, "channels.GetMessages"), 0)
  assertEquals(flood.check(1, "channels.GetMessages"), 1)
})

Deno.test("Flood: a budget with userId limits only that account", () => {
  const { flood } = clocked()
  flood.set({ method: GH, userId: 7, rate: 1, burst: 1 })
  assertEquals(flood.check(7, GH), 0)
  assertEquals(flood.check(7, GH), 1)
  for (let i = 0; i < 10; i++) assertEquals(flood.check(8, GH), 0)
})

Deno.test("Flood: several matching budgets must all allow; the wait is the largest", () => {
  const { flood, advance } = clocked()
  flood.set({ method: GH, rate: 1, burst: 5 })
  flood.set({ method: "*", rate: 0.25, burst: 2 })
  assertEquals([flood.check(1, GH), flood.check(1, GH)], [0, 0])
  // The "*" bucket is empty (wait 4 s); the GetHistory one still has 3 tokens.
  assertEquals(flood.check(1, GH), 4)
  advance(4000)
  assertEquals(flood.check(1, GH), 0)
  // The narrower budget can be the one that refuses.
  flood.clear()
  flood.set({ method: GH, rate: 1, burst: 1 })
  flood.set({ method: "*", rate: 1, burst: 3 })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
  assertEquals(flood.check(1, GH), 1)
  flood.clear()
  flood.set({ method: GH, rate: 1, burst: 1 })
  flood.set({ method: GH, userId: 1, rate: 0.5, burst: 1 })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 2, "max(1 s, 2 s)")
})

Deno.test("Flood: a refusal by one budget leaves the other budgets' tokens alone", () => {
  const { flood, advance } = clocked()
  flood.set({ method: "*", rate: 1, burst: 2 })
  flood.set({ method: GH, rate: 0.001, burst: 1 })
  assertEquals(flood.check(1, GH), 0) // "*": 1 left, GH: 0 left
  for (let i = 0; i < 5; i++) assertEquals(flood.check(1, GH), 1000)
  flood.set({ method: GH, rate: 1000, burst: 1000 }) // replaces GH's budget, fresh full bucket
  advance(0)
  // "*" must still hold its one token: one more call passes, the next one waits.
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
})

Deno.test("Flood: set replaces the budget with the same (method, userId) and list shows the budgets", () => {
  const { flood } = clocked()
  flood.set({ method: GH, rate: 1, burst: 1 })
  flood.set({ method: GH, userId: 3, rate: 2, burst: 2 })
  flood.set({ method: GH, rate: 5, burst: 10 })
  assertEquals(flood.list(), [
    { method: GH, rate: 5, burst: 10 },
    { method: GH, userId: 3, rate: 2, burst: 2 },
  ])
  for (let i = 0; i < 10; i++) assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
})

Deno.test("Flood: clear removes budgets and buckets", () => {
  const { flood } = clocked()
  flood.set({ method: GH, rate: 1, burst: 1 })
  flood.check(1, GH)
  assertEquals(flood.check(1, GH), 1)
  flood.clear()
  assertEquals(flood.list(), [])
  assertEquals(flood.check(1, GH), 0)
  flood.set({ method: GH, rate: 1, burst: 1 })
  assertEquals(flood.check(1, GH), 0, "the bucket starts full again")
})

Deno.test("Flood: set rejects impossible budgets", () => {
  const { flood } = clocked()
  assertThrows(() => flood.set({ method: GH, rate: 0, burst: 1 }))
  assertThrows(() => flood.set({ method: GH, rate: 1, burst: 0 }))
  assertThrows(() => flood.set({ method: "", rate: 1, burst: 1 }))
  assertEquals(flood.list(), [])
})

Deno.test("Flood: parseFloodSpec reads METHOD:RATE:BURST[:USER_ID] and the telegram preset; bad specs say why", () => {
  assertEquals(parseFloodSpec("messages.GetHistory:0.5:20"), [{ method: "messages.GetHistory", rate: 0.5, burst: 20 }])
  assertEquals(parseFloodSpec("*:2:5:777000001"), [{ method: "*", rate: 2, burst: 5, userId: 777000001 }])
  assertEquals(parseFloodSpec("telegram"), TELEGRAM_LIKE_BUDGETS)
  const flood = new Flood(() => 0)
  for (const budget of TELEGRAM_LIKE_BUDGETS) flood.set(budget)
  assertEquals(flood.list().length, TELEGRAM_LIKE_BUDGETS.length, "the preset is a valid set of budgets")
  for (
    const [spec, says] of [
      ["nope", "expected"],
      [":1:1", "expected"],
      ["m:0:1", "RATE"],
      ["m:x:1", "RATE"],
      ["m:1:0", "BURST"],
      ["m:1:1.5", "BURST"],
      ["m:1:1:-3", "USER_ID"],
      ["m:1:1:2:3", "expected"],
    ] as const
  ) assertThrows(() => parseFloodSpec(spec), (e) => assert((e as Error).message.startsWith(says), `${spec}: ${e}`))
})

Deno.test("Flood: an escalating budget doubles its wait with each violation within an hour, up to its cap", () => {
  const { flood, advance } = clocked()
  flood.set({ method: GH, rate: 1, burst: 1, escalate: { maxWaitS: 10 } })
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1, "the first violation: the refill time")
  advance(500)
  assertEquals(flood.check(1, GH), 1, "asked again during the wait: what is left of it (and a violation)")
  advance(600)
  assertEquals(flood.check(1, GH), 0, "the wait is over")
  assertEquals(flood.check(1, GH), 4, "the third violation: 1 s doubled twice")
  advance(4_000)
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 8)
  advance(8_000)
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 10, "capped")
  assertEquals(flood.check(2, GH), 0, "another account has a record of its own")
  // An hour after the last wait ended, without a violation: the record starts again.
  advance(10_000 + 3_600_001)
  assertEquals(flood.check(1, GH), 0)
  assertEquals(flood.check(1, GH), 1)
})

Deno.test("Flood: the telegram preset escalates, username resolution up to a day", () => {
  const { flood, advance } = clocked()
  for (const budget of TELEGRAM_LIKE_BUDGETS) flood.set(budget)
  const RU = "contacts.ResolveUsername"
  const waits: Array<number> = []
  for (let i = 0; i < 150; i++) {
    const wait = flood.check(1, RU)
    waits.push(wait)
    advance(wait * 1000)
  }
  assertEquals(waits.slice(0, 5), [0, 0, 0, 0, 0], "a burst of 5")
  assert(waits.some((w) => w >= 3_600), `hours at the end of a long burst: ${waits.join(", ")}`)
  assertEquals(Math.max(...waits), 86_400)
})
