/** messages.getHistory through the real GramJS client: every pagination the collector uses returns exactly the world. */
import { Api } from "telegram"
import { assert, assertEquals } from "./support/assert.ts"
import type { HistoryQuery } from "../world/Model.ts"
import { gramClient, historyRequest, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { historyHash } from "../world/History.ts"
import { existingIds } from "./support/world.ts"

sandboxTest("Sandbox getHistory over a 4,000-post channel: every walk returns exactly the world's posts", async () => {
  await using sandbox = await startSandbox({ channels: 1, posts: 4_000 })
  const channel = sandbox.descriptor.channels[0]!
  const expected = existingIds(sandbox.world, channel.id)
  assertEquals(expected.length, 4_000)
  assert(sandbox.world.truth(channel.id).deletedIds.length > 0, "the channel has deleted ranges")

  const client = gramClient(sandbox, { account: 0 })
  await client.connect()
  const page = async (args: Partial<HistoryQuery>) => {
    const r = await client.invoke(historyRequest(channel, args)) as Api.messages.ChannelMessages
    assertEquals(r.count, 4_000, "count is the channel's total")
    return r.messages.map((m) => m as Api.Message)
  }
  try {
    // 1. Backfill: newest to oldest, offset_id = the lowest id reached.
    const backfill: Array<number> = []
    for (let offsetId = 0;;) {
      const msgs = await page({ offsetId })
      if (msgs.length === 0) break
      backfill.push(...msgs.map((m) => m.id))
      offsetId = msgs.at(-1)!.id
    }
    assertEquals(backfill, expected, "backfill by offset_id")

    // 2. Forward catch-up above a high-water mark: offset_id = hwm + 1, add_offset = -100, min_id = hwm.
    const hwm = expected[2_931]!
    const forward: Array<number> = []
    for (let mark = hwm;;) {
      const msgs = await page({ offsetId: mark + 1, addOffset: -100, minId: mark })
      if (msgs.length === 0) break
      const ids = msgs.map((m) => m.id)
      assert(ids.every((id) => id > mark), "nothing at or below the mark")
      forward.push(...ids.reverse())
      mark = forward.at(-1)!
    }
    assertEquals(forward, expected.filter((id) => id > hwm).reverse(), "forward catch-up")

    // 3. Newest first bounded below by min_id (incremental run), paging by the lowest id seen.
    const bounded: Array<number> = []
    for (let offsetId = 0;;) {
      const msgs = await page({ offsetId, minId: hwm })
      if (msgs.length === 0) break
      bounded.push(...msgs.map((m) => m.id))
      offsetId = msgs.at(-1)!.id
    }
    assertEquals(bounded, expected.filter((id) => id > hwm), "newest first with min_id")

    // 4. A window between max_id and min_id (resuming a backfill inside a range).
    const lo = expected[3_600]!
    const hi = expected[800]!
    const windowed: Array<number> = []
    for (let offsetId = hi;;) {
      const msgs = await page({ offsetId, minId: lo, maxId: hi })
      if (msgs.length === 0) break
      windowed.push(...msgs.map((m) => m.id))
      offsetId = msgs.at(-1)!.id
    }
    assertEquals(windowed, expected.filter((id) => id > lo && id < hi), "window by max_id / min_id")

    // 5. By date: offset_date = the date of the oldest post reached (posts share dates, so dedupe by id).
    const byDate = new Set<number>()
    const firstPage = await page({})
    firstPage.forEach((m) => byDate.add(m.id))
    let offsetDate = firstPage.at(-1)!.date
    for (let guard = 0; guard < 200; guard++) {
      const msgs = await page({ offsetDate })
      if (msgs.length === 0) break
      msgs.forEach((m) => byDate.add(m.id))
      const next = msgs.at(-1)!.date
      if (next === offsetDate) break
      offsetDate = next
    }
    const dates = [...byDate].sort((a, b) => b - a)
    assertEquals(dates, expected, "walk by offset_date")

    // 6. Hash: the same page with its hash is not modified.
    const first = await page({})
    const hash = historyHash(first.map((m) => m.id))
    const notModified = await client.invoke(historyRequest(channel, { hash }))
    assert(
      notModified instanceof Api.messages.MessagesNotModified,
      `expected messagesNotModified, got ${notModified.className}`,
    )
  } finally {
    await client.destroy()
  }
})
