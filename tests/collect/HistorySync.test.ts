/** HistorySync end to end: the real GramJS client against the sandbox, into PostgreSQL and into embedded PGlite. */
import type { ChannelProgress } from "../../src/collect/HistorySync.ts"
import type { Post } from "@tgpulse/sandbox"
import { assert, assertEquals } from "../support/assert.ts"
import { BACKENDS, type SyncHarness, syncHarness } from "../support/collect.ts"
import { sandboxTest } from "../support/sandbox.ts"
import { pgAvailable } from "../support/PgTest.ts"
import { until } from "../support/wait.ts"
import { TcpProxy } from "../support/TcpProxy.ts"

interface Sums {
  readonly count: number
  readonly views: number
  readonly forwards: number
  readonly replies: number
  readonly reactions: number
}

async function stored(h: SyncHarness, channelId: number): Promise<Sums> {
  const [row] = await h.query<Record<keyof Sums, string>>(`
    SELECT count(*) AS count, coalesce(sum(views), 0) AS views, coalesce(sum(forwards), 0) AS forwards,
      coalesce(sum(replies), 0) AS replies, coalesce(sum(reactions_total), 0) AS reactions
    FROM posts WHERE channel_id = ${channelId} AND deleted_at IS NULL`)
  return {
    count: Number(row!.count),
    views: Number(row!.views),
    forwards: Number(row!.forwards),
    replies: Number(row!.replies),
    reactions: Number(row!.reactions),
  }
}

function truthOf(h: SyncHarness, channelId: number): Sums {
  const t = h.sandbox.world.truth(channelId)
  return { count: t.count, views: t.views, forwards: t.forwards, replies: t.replies, reactions: t.reactions }
}

/** What Normalize must extract from a world post. */
function expectedEntities(p: Post) {
  const slice = (kind: string) =>
    p.entities.filter((e) => e.kind === kind).map((e) => p.text.substring(e.offset, e.offset + e.length))
  const links = p.entities.flatMap((e) =>
    e.kind === "url" ? [p.text.substring(e.offset, e.offset + e.length)] : e.kind === "textUrl" ? [e.url!] : []
  )
  return {
    links: [...new Set(links)],
    mentions: [...new Set(slice("mention").map((m) => m.toLowerCase()))],
    hashtags: [...new Set(slice("hashtag"))],
  }
}

const ok = (results: ReadonlyArray<ChannelProgress>) =>
  results.map((r) => [r.channel, r.status, r.error ?? ""]).filter(([, status]) => status !== "ok")

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    sandboxTest(`HistorySync (${backend.name}): ${name}`, fn, { ignore: backend.ignore })

  test("after a sync the database equals the sandbox truth; a re-run adds and rewrites nothing", async () => {
    await using h = await syncHarness(backend.name, { channels: 4, posts: 1_500 })
    const channels = h.sandbox.descriptor.channels.filter((c) => !c.private)
    assert(channels.some((c) => c.kind === "megagroup"), "a megagroup is among them")
    const first = await h.sync(channels.map((c) => c.username))
    assertEquals(ok(first), [])
    for (const c of channels) assertEquals(await stored(h, c.id), truthOf(h, c.id), `channel ${c.username}`)

    // Links, mentions and hashtags, post by post.
    for (const c of channels) {
      const rows = await h.query<{ msg_id: number; links: string[]; mentions: string[]; hashtags: string[] }>(
        `SELECT msg_id, links, mentions, hashtags FROM posts WHERE channel_id = ${c.id} ORDER BY msg_id`,
      )
      const posts = h.sandbox.world.posts(c.id, rows.map((r) => r.msg_id))
      rows.forEach((r, i) =>
        assertEquals(
          { links: r.links, mentions: r.mentions, hashtags: r.hashtags },
          expectedEntities(posts[i]!),
          `${c.username}/${r.msg_id}`,
        )
      )
      const withLinks = rows.filter((r) => r.links.length > 0).length
      assert(withLinks > rows.length / 10, `links were extracted (${withLinks} of ${rows.length})`)
    }
    const metrics = await h.query<{ n: string }>("SELECT count(*) AS n FROM post_metrics")
    const total = channels.reduce((a, c) => a + truthOf(h, c.id).count, 0)
    assertEquals(Number(metrics[0]!.n), total, "one metric snapshot per post")

    // Re-run: nothing new, nothing rewritten, one request per channel.
    const before = await h.query<{ x: string }>("SELECT sum(xmin::text::bigint) AS x FROM posts")
    const requests = h.historyRequests().length
    const again = await h.sync(channels.map((c) => c.username))
    assertEquals(ok(again), [])
    assertEquals(again.map((r) => [r.inserted, r.updated, r.requests]), channels.map(() => [0, 0, 1]))
    assertEquals(h.historyRequests().length - requests, channels.length)
    assertEquals(
      await h.query<{ x: string }>("SELECT sum(xmin::text::bigint) AS x FROM posts"),
      before,
      "no row rewritten",
    )
    assertEquals(Number((await h.query<{ n: string }>("SELECT count(*) AS n FROM post_metrics"))[0]!.n), total)
  })

  test("posts published later are picked up by the next run with no wasted request", async () => {
    await using h = await syncHarness(backend.name, { channels: 2, posts: 800 })
    const [a, b] = h.sandbox.descriptor.channels
    await h.sync([a!.username, b!.username])
    h.sandbox.world.publish(a!.id, 250)
    const log0 = h.sandbox.control.log.lastSeq
    const results = await h.sync([a!.username, b!.username])
    assertEquals(results.map((r) => [r.fetched, r.inserted]), [[250, 250], [0, 0]])
    const requests = h.sandbox.control.log.since(log0)
    // 250 new posts: 3 pages for the first channel; 1 page (empty) for the second; nothing resolved again.
    assertEquals(requests.map((e) => e.method).sort(), [...Array(4).fill("messages.GetHistory")])
    for (const c of [a!, b!]) assertEquals(await stored(h, c.id), truthOf(h, c.id))
  })

  test("the per-run limit holds; runs resume where the last one stopped until the truth is reached", async () => {
    await using h = await syncHarness(backend.name, { channels: 1, posts: 1_000 })
    const c = h.sandbox.descriptor.channels[0]!
    const counts: Array<number> = []
    for (let run = 0; run < 3; run++) {
      const [r] = await h.sync([c.username], { limitPerRun: 250 })
      assertEquals(r!.fetched, 250, `run ${run}`)
      counts.push((await stored(h, c.id)).count)
    }
    assertEquals(counts, [250, 500, 750])
    const published = h.sandbox.world.publish(c.id, 30).map((p) => p.id)
    // The next run takes the new posts first, then goes on down.
    const [r] = await h.sync([c.username], { limitPerRun: 250 })
    assertEquals(r!.fetched, 250)
    const newest = await h.query<{ n: string }>(
      `SELECT count(*) AS n FROM posts WHERE channel_id = ${c.id} AND msg_id IN (${published.join(",")})`,
    )
    assertEquals(Number(newest[0]!.n), 30, "the published posts came first")
    assertEquals((await stored(h, c.id)).count, 1_000)
    await h.sync([c.username])
    assertEquals(await stored(h, c.id), truthOf(h, c.id))
  })

  test("a channel that fails is reported and the others finish", async () => {
    await using h = await syncHarness(backend.name, { channels: 2, posts: 300 })
    const [a, b] = h.sandbox.descriptor.channels
    // A private channel no account belongs to: named by id, it is in no dialogs.
    const secret = String(h.sandbox.descriptor.channels.find((c) => c.private && c.memberUserIds?.length === 0)!.id)
    const results = await h.sync([a!.username, secret, "no_such_channel", b!.username, "12345"], {
      concurrency: 2,
    })
    assertEquals(results.map((r) => [r.channel, r.status]), [
      [`@${a!.username}`, "ok"],
      [secret, "failed"],
      ["@no_such_channel", "failed"],
      [`@${b!.username}`, "ok"],
      ["12345", "failed"],
    ])
    assert(results[1]!.error!.includes(secret), results[1]!.error!)
    assert(results[2]!.error!.includes("USERNAME_NOT_OCCUPIED"), results[2]!.error!)
    assert(results[4]!.error!.includes("is in no account's dialogs"), results[4]!.error!)
    for (const c of [a!, b!]) assertEquals(await stored(h, c.id), truthOf(h, c.id))
  })

  test("a FLOOD_WAIT in the middle retries the same page after the wait", async () => {
    await using h = await syncHarness(backend.name, { channels: 1, posts: 1_000 })
    const c = h.sandbox.descriptor.channels[0]!
    h.sandbox.control.flood.set({ method: "messages.GetHistory", rate: 4, burst: 4 })
    const [r] = await h.sync([c.username])
    assert(r!.floodWaits > 0, "flood waits happened")
    const log = h.historyRequests()
    const flooded = log.flatMap((e, i) => (e.outcome.startsWith("FLOOD_WAIT_") ? [i] : []))
    assertEquals(flooded.length, r!.floodWaits)
    for (const i of flooded) {
      const retry = log.slice(i + 1).find((e) => e.params.offsetId === log[i]!.params.offsetId)
      assert(
        retry !== undefined && retry.outcome === "ok",
        `the page at offset_id ${log[i]!.params.offsetId} was retried`,
      )
    }
    // Exactly one successful request per page: nothing restarted from the top.
    const pages = log.filter((e) => e.outcome === "ok").map((e) => e.params.offsetId)
    assertEquals(pages.length, new Set(pages).size)
    assertEquals(await stored(h, c.id), truthOf(h, c.id))
  })
}

sandboxTest(
  "HistorySync (PostgreSQL): the database going away mid-run is retried; nothing is lost or doubled",
  async () => {
    await using proxy = new TcpProxy({ hostname: "127.0.0.1", port: 5432 })
    await using h = await syncHarness("PostgreSQL", {
      channels: 1,
      posts: 6_000,
      via: (url) => Object.assign(new URL(url), { port: String(proxy.port) }),
    })
    const c = h.sandbox.descriptor.channels[0]!
    const run = h.sync([c.username])
    // Once a few pages are fetched, the database goes away until the run has tried twice to get it back.
    await until(() => h.sandbox.control.log.lastSeq >= 20, 120_000, "a few pages")
    proxy.cut()
    await proxy.refusals(2)
    proxy.restore()
    const [r] = await run
    assertEquals([r!.status, r!.error], ["ok", undefined])
    assert(proxy.forwarded > 1, `the pool reconnected (${proxy.forwarded} connections)`)
    assertEquals(await stored(h, c.id), truthOf(h, c.id))
    const snapshots = await h.query<{ n: string }>("SELECT count(*) AS n FROM post_metrics")
    assertEquals(Number(snapshots[0]!.n), truthOf(h, c.id).count, "one snapshot per post: no page stored twice")
  },
  { ignore: !pgAvailable },
)
