/** messages.getHistory as the world answers it: offsets, bounds, hashes, dates, deep pages of a large channel. */
import { assert, assertEquals } from "./support/assert.ts"
import { historyHash, historyQuery } from "../world/History.ts"
import { World } from "../world/World.ts"
import type { Post } from "../world/Model.ts"
import { existingIds } from "./support/world.ts"

const ids = (posts: ReadonlyArray<Post>) => posts.map((p) => p.id)

const big = World.create({ seed: 9, channels: 1, posts: 10_000 })

const bigChannel = big.channels[0]!.id

const bigExpected = existingIds(big, bigChannel)

Deno.test("World: getHistory backfill by offset_id returns every existing id once, newest first", () => {
  assertEquals(bigExpected.length, 10_000)
  const walked: Array<number> = []
  for (let offsetId = 0;;) {
    const page = big.history(bigChannel, historyQuery({ offsetId }))
    assertEquals(page.count, 10_000)
    if (page.posts.length === 0) break
    assertEquals(page.offsetIdOffset, walked.length)
    walked.push(...ids(page.posts))
    offsetId = page.posts.at(-1)!.id
  }
  assertEquals(walked, bigExpected)
})

Deno.test("World: forward catch-up with negative add_offset returns everything above the mark, no gap", () => {
  const hwm = bigExpected[7_321]!
  // offset_id = mark + 1, add_offset = -100, min_id = mark (what the collector sends).
  const forward: Array<number> = []
  for (let mark = hwm;;) {
    const page = big.history(bigChannel, historyQuery({ offsetId: mark + 1, addOffset: -100, minId: mark }))
    const posts = page.posts
    if (posts.length === 0) break
    assertEquals(page.offsetIdOffset, bigExpected.indexOf(posts[0]!.id), "offset_id_offset: posts newer than the page")
    assert(posts.every((p) => p.id > mark), "nothing at or below the mark")
    forward.push(...ids(posts).reverse())
    mark = forward.at(-1)!
  }
  const above = bigExpected.filter((id) => id > hwm).reverse()
  assertEquals(forward, above)
  // offset_id = X, add_offset = -100 without min_id: the 100 ids >= X (X included when it exists).
  const x = bigExpected[5_000]!
  const page = big.history(bigChannel, historyQuery({ offsetId: x, addOffset: -100 }))
  assertEquals(ids(page.posts), bigExpected.slice(4_901, 5_001))
  assertEquals(page.offsetIdOffset, 4_901, "the position of messages[0]")
  // Clamped at the newest end: fewer posts rather than shifted ones.
  assertEquals(ids(big.history(bigChannel, historyQuery({ offsetId: bigExpected[30]!, addOffset: -100 })).posts), [
    ...bigExpected.slice(0, 31),
  ])
  assertEquals(ids(big.history(bigChannel, historyQuery({ addOffset: -5, limit: 20 })).posts), bigExpected.slice(0, 15))
  assertEquals(big.history(bigChannel, historyQuery({ addOffset: -100, limit: 100 })).posts, [])
  // Positive add_offset skips older.
  assertEquals(ids(big.history(bigChannel, historyQuery({ offsetId: x, addOffset: 10, limit: 5 })).posts), [
    ...bigExpected.slice(5_011, 5_016),
  ])
})

Deno.test("World: getHistory with min_id pages newest first down to the bound", () => {
  const hwm = bigExpected[2_345]!
  const bounded: Array<number> = []
  for (let offsetId = 0;;) {
    const posts = big.history(bigChannel, historyQuery({ offsetId, minId: hwm })).posts
    if (posts.length === 0) break
    bounded.push(...ids(posts))
    offsetId = posts.at(-1)!.id
  }
  assertEquals(bounded, bigExpected.slice(0, 2_345))
})

Deno.test("World: getHistory by offset_date", () => {
  const ref = big.posts(bigChannel, [bigExpected[1_234]!])[0]!
  const page = big.history(bigChannel, historyQuery({ offsetDate: ref.date, limit: 10 }))
  assertEquals(page.offsetIdOffset, 1_235, "posts dated at or after offset_date come before the offset")
  assertEquals(ids(page.posts), bigExpected.slice(1_235, 1_245))
  assert(page.posts.every((p) => p.date < ref.date), "strictly older than offset_date")
  // A date after everything starts at the newest; before everything gives nothing.
  assertEquals(ids(big.history(bigChannel, historyQuery({ offsetDate: big.now() + 10, limit: 3 })).posts), [
    ...bigExpected.slice(0, 3),
  ])
  assertEquals(big.history(bigChannel, historyQuery({ offsetDate: 1 })).posts, [])
  // Walking by offset_date (dates are distinct here) also visits every post.
  const walked: Array<number> = []
  for (let offsetDate = 0;;) {
    const posts = big.history(bigChannel, historyQuery({ offsetDate })).posts
    if (posts.length === 0) break
    walked.push(...ids(posts))
    offsetDate = posts.at(-1)!.date
  }
  assertEquals(walked, bigExpected)
})

Deno.test("World: max_id and min_id filter strictly after slicing; limit clamps", () => {
  const hi = bigExpected[50]!
  assertEquals(ids(big.history(bigChannel, historyQuery({ maxId: hi })).posts), bigExpected.slice(51, 100))
  const lo = bigExpected[30]!
  assertEquals(ids(big.history(bigChannel, historyQuery({ minId: lo })).posts), bigExpected.slice(0, 30))
  const window = big.history(
    bigChannel,
    historyQuery({ offsetId: bigExpected[100]!, maxId: bigExpected[110]!, minId: bigExpected[150]! }),
  )
  assertEquals(ids(window.posts), bigExpected.slice(111, 150))
  assertEquals(big.history(bigChannel, historyQuery({ offsetId: bigExpected[10]!, minId: bigExpected[5]! })).posts, [])
  assertEquals(big.history(bigChannel, historyQuery({ limit: 0 })).posts.length, 20)
  assertEquals(big.history(bigChannel, historyQuery({ limit: -3 })).posts.length, 20)
  assertEquals(big.history(bigChannel, historyQuery({ limit: 500 })).posts.length, 100)
  assertEquals(big.history(bigChannel, historyQuery({ limit: 7 })).posts.length, 7)
  // The oldest end.
  const tail = big.history(bigChannel, historyQuery({ offsetId: bigExpected[9_990]! }))
  assertEquals(ids(tail.posts), bigExpected.slice(9_991))
  assertEquals(big.history(bigChannel, historyQuery({ offsetId: 1 })).posts, [])
})

Deno.test("World: a matching hash answers not modified", () => {
  assertEquals(historyHash([]), 0n)
  // Reference implementation in the form the docs give it.
  const reference = (list: ReadonlyArray<number>) => {
    let h = 0n
    for (const id of list) {
      h = BigInt.asUintN(64, h ^ (h >> 21n))
      h = BigInt.asUintN(64, h ^ (h << 35n))
      h = BigInt.asUintN(64, h ^ (h >> 4n))
      h = BigInt.asUintN(64, h + BigInt(id))
    }
    return BigInt.asIntN(64, h)
  }
  const page = big.history(bigChannel, historyQuery({ offsetId: 5_000 }))
  const hash = historyHash(ids(page.posts))
  assertEquals(hash, reference(ids(page.posts)))
  assert(hash >= -(1n << 63n) && hash < 1n << 63n, "a signed long")
  assert(page.posts.length === 100 && !page.notModified, "no hash, a full page")
  const same = big.history(bigChannel, historyQuery({ offsetId: 5_000, hash }))
  assertEquals(same.notModified, true)
  assertEquals(same.count, 10_000)
  assertEquals(
    big.history(bigChannel, historyQuery({ offsetId: 5_000, hash: BigInt.asUintN(64, hash) })).notModified,
    true,
  )
  assertEquals(big.history(bigChannel, historyQuery({ offsetId: 5_001, hash })).notModified, false)
  assertEquals(big.history(bigChannel, historyQuery({ offsetId: 5_000, hash: hash + 1n })).notModified, false)
})

// How fast such a world is created and paged is measured by `deno task bench sandbox`, not asserted here.
Deno.test("World: a 1,000,000-post world is created and answers deep history pages", () => {
  const world = World.create({ seed: 3, channels: 1, posts: 1_000_000 })
  const channel = world.channels[0]!.id
  const first = world.history(channel, historyQuery({ offsetId: 600_000 }))
  assertEquals(first.count, 1_000_000)
  assertEquals(first.posts.length, 100)
  assert(first.posts.every((p, i) => p.id < 600_000 && (i === 0 || p.id < first.posts[i - 1]!.id)), "descending")
  for (let i = 0; i < 100; i++) {
    const page = world.history(channel, historyQuery({ offsetId: 900_000 - i * 7_919, addOffset: i % 2 ? -50 : 0 }))
    assertEquals(page.posts.length, 100)
  }
  const truth = world.truth(channel)
  assertEquals(truth.count, 1_000_000)
  assertEquals(truth.maxId - truth.deletedIds.length, 1_000_000)
  const oldest = world.history(channel, historyQuery({ offsetId: 0, addOffset: 999_990 }))
  assertEquals(ids(oldest.posts).at(-1), 1)
  assertEquals(oldest.posts.length, 10)
})
