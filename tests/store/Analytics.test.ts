/** The analytics read models on a known dataset; every expected figure is computed here from the dataset itself. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Post } from "../../src/domain/Post.ts"
import { Analytics, type EntityKind, type GrowingPost } from "../../src/store/Analytics.ts"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"
import { makePost } from "../support/posts.ts"

const CH = 3001
const OTHER = 3002
/** Far from the other store tests' dates (they share the database). */
const BASE = Date.UTC(2031, 0, 6, 0, 0, 0) / 1000
const HOUR = 3600

const addChannel = (id: number) =>
  ChannelRepo.use((r) =>
    r.upsert({ id, accessHash: "1", username: `a${id}`, title: `A ${id}`, kind: "broadcast", participantsCount: 500 })
  )

/** Posts of one channel, each hour apart from BASE, with entities chosen by id. */
const posts: ReadonlyArray<Post> = Array.from({ length: 30 }, (_, i) => {
  const msgId = i + 1
  return makePost(CH, msgId, {
    date: BASE + i * 7 * HOUR,
    views: 1000 + 37 * msgId,
    hashtags: msgId % 3 === 0 ? ["#three", "#all"] : ["#all"],
    mentions: msgId % 4 === 0 ? ["@four"] : [],
    links: msgId % 5 === 0 ? ["https://five.example"] : [],
    isService: msgId === 29,
  })
})
const deleted = new Set([7])

/** Snapshots: post `msgId` grows by `msgId * k` views an hour for 6 hours from `start`. */
const snapshots = (channelId: number, msgId: number, start: number, k: number) =>
  Array.from({ length: 7 }, (_, h) => ({ channelId, msgId, at: start + h * HOUR, views: 500 + msgId * k * h }))

const insertSnapshots = (rows: ReadonlyArray<{ channelId: number; msgId: number; at: number; views: number }>) =>
  SqlClient.SqlClient.use((sql) =>
    Effect.forEach(rows, (r) =>
      sql`INSERT INTO post_metrics (channel_id, msg_id, taken_at, views)
          VALUES (${r.channelId}::int8, ${r.msgId}::int4, to_timestamp(${r.at}), ${r.views}::int4)
          ON CONFLICT DO NOTHING`, { discard: true })
  )

/** The snapshots of the first case (kept for the summary's reach after 24 h). */
const START = BASE + 300 * HOUR
const SERIES = [
  ...[1, 2, 3, 4, 5, 6, 7, 20, 29].flatMap((id) => snapshots(CH, id, START, id === 3 ? 50 : 2)),
  ...snapshots(OTHER, 1, START, 9),
]

const period = { channelId: CH, since: new Date(BASE * 1000), until: new Date((BASE + 30 * 7 * HOUR) * 1000) }

/** The channel list's figures of `channelId` read from posts, as the list read them before the rollup. */
const totalsOf = (channelId: number) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ posts: number; last_post_at: number | null; views: number }>`
      SELECT count(*)::int4 AS posts, date_part('epoch', max(date))::float8 AS last_post_at,
        coalesce(sum(views), 0)::float8 AS views
      FROM posts WHERE channel_id = ${channelId}::int8 AND deleted_at IS NULL AND NOT is_service`
  ).pipe(Effect.map(([r]) => ({ posts: r!.posts, lastPostAt: r!.last_post_at, views: r!.views })))

storeSuite("Analytics", {
  "Analytics.channels keeps up with inserts, upserts, counters, deletions, service posts": Effect.gen(function* () {
    const [A, B] = [3003, 3004]
    yield* addChannel(A)
    yield* addChannel(B)
    const repo = yield* PostRepo
    const analytics = yield* Analytics
    const at = (hours: number) => new Date((BASE + hours * HOUR) * 1000)
    const post = (id: number, overrides: Partial<Post> = {}) =>
      makePost(A, id, { date: BASE + id * HOUR, ...overrides })
    const check = (step: string) =>
      Effect.gen(function* () {
        const listed = (yield* analytics.channels).filter((c) => c.id === A || c.id === B)
        const want = [{ id: A, ...yield* totalsOf(A) }, { id: B, ...yield* totalsOf(B) }]
        assertEquals(
          listed.map((c) => ({ id: c.id, posts: c.posts, lastPostAt: c.lastPostAt, views: c.views })),
          want,
          step,
        )
      })
    yield* check("no posts")
    yield* repo.upsertPage(A, [1, 2, 3, 4].map((id) => post(id, { isService: id === 4 })), at(0))
    yield* repo.upsertPage(B, [makePost(B, 1, { views: null })], at(0))
    yield* check("inserted")
    assertEquals((yield* totalsOf(A)).lastPostAt, BASE + 3 * HOUR, "a service post is not the newest")
    // One page: an insert, a post whose views changed and one unchanged (INSERT ... ON CONFLICT DO UPDATE).
    yield* repo.upsertPage(A, [post(1), post(2, { views: 5000 }), post(5)], at(1))
    yield* check("upserted")
    yield* repo.applyMetrics(A, [{ msgId: 1, views: 7000 }, { msgId: 5, forwards: 9 }], at(2))
    yield* repo.recordRefresh(A, [{ msgId: 3, views: 1 }, { msgId: 99, views: 1 }], at(3))
    yield* check("counters")
    yield* repo.markDeleted(A, [5], at(4))
    yield* check("the newest deleted")
    assertEquals((yield* totalsOf(A)).lastPostAt, BASE + 3 * HOUR, "the next newest")
    yield* repo.upsertPage(A, [post(5, { views: 10 })], at(5), { fetchedAt: at(5) })
    yield* check("seen again after the deletion")
    yield* repo.upsertPage(A, [post(5, { isService: true }), post(4, { isService: false })], at(6))
    yield* check("service flags changed")
    // Many writes: a channel's rows are folded into one now and then.
    for (let i = 1; i <= 40; i++) yield* repo.applyMetrics(A, [{ msgId: 1 + (i % 4), views: 100 * i }], at(6))
    yield* check("folded")
    const rows = yield* SqlClient.SqlClient.use((sql) =>
      sql<{ n: number }>`SELECT count(*)::int4 AS n FROM channel_totals WHERE channel_id = ${A}::int8`
    )
    assertEquals(rows[0]!.n < 40, true, `${rows[0]!.n} rows`)
    yield* repo.markDeleted(A, [1, 2, 3, 4], at(7))
    yield* check("every post deleted")
    assertEquals((yield* totalsOf(A)).posts, 0)
    yield* SqlClient.SqlClient.use((sql) => sql`DELETE FROM posts WHERE channel_id = ${B}::int8`)
    yield* check("rows deleted")
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.trendingByGrowth ranks by views gained per hour in the window, not by totals": Effect.gen(function* () {
    yield* addChannel(CH)
    yield* addChannel(OTHER)
    const repo = yield* PostRepo
    yield* repo.upsertPage(CH, posts, new Date(BASE * 1000))
    yield* repo.upsertPage(OTHER, [makePost(OTHER, 1, { date: BASE })], new Date(BASE * 1000))
    yield* repo.markDeleted(CH, [...deleted], new Date(BASE * 1000))
    const start = START
    // Post 3 grows fastest of all (its total is not the largest); OTHER's post in between.
    const series = SERIES
    yield* insertSnapshots(series)
    const window = { since: new Date((start + HOUR) * 1000), until: new Date((start + 5 * HOUR) * 1000) }

    // Expected, from the series alone: the window's first and last snapshot of each live, non-service post.
    const expected = (channelIds: ReadonlyArray<number>, minAgeSeconds: number): ReadonlyArray<GrowingPost> => {
      const byPost = new Map<string, Array<{ at: number; views: number; channelId: number; msgId: number }>>()
      for (const s of series) {
        if (s.at < start + HOUR || s.at > start + 5 * HOUR) continue
        if (channelIds.length > 0 && !channelIds.includes(s.channelId)) continue
        const key = `${s.channelId}:${s.msgId}`
        byPost.set(key, [...(byPost.get(key) ?? []), s])
      }
      const out: Array<GrowingPost> = []
      for (const list of byPost.values()) {
        const first = list[0]!, last = list.at(-1)!
        const post = first.channelId === CH ? posts[first.msgId - 1]! : makePost(OTHER, 1, { date: BASE })
        if ((first.channelId === CH && deleted.has(first.msgId)) || post.isService) continue
        if (post.date > start + 5 * HOUR - minAgeSeconds) continue
        const gained = last.views - first.views
        out.push({
          channelId: first.channelId,
          msgId: first.msgId,
          date: post.date,
          text: post.text,
          views: last.views,
          gained,
          perHour: gained * HOUR / (last.at - first.at),
        })
      }
      return out.sort((a, b) =>
        b.perHour - a.perHour || b.date - a.date || b.channelId - a.channelId || b.msgId - a.msgId
      )
    }
    const analytics = yield* Analytics
    const all = yield* analytics.trendingByGrowth({ ...window, minAgeSeconds: 0, channelIds: [], limit: 50 })
    assertEquals(all, expected([], 0))
    assertEquals(all.slice(0, 2).map((p) => [p.channelId, p.msgId]), [[CH, 3], [CH, 20]], "growth, not totals")
    // Page by page (two a page, each after the last of the one before): the same posts in the same order.
    const paged: Array<GrowingPost> = []
    for (;;) {
      const last = paged.at(-1)
      const page = yield* analytics.trendingByGrowth({
        ...window,
        minAgeSeconds: 0,
        channelIds: [],
        limit: 2,
        after: last && [last.perHour, last.date, last.channelId, last.msgId],
      })
      paged.push(...page)
      if (page.length < 2) break
    }
    assertEquals(paged, all)
    const one = yield* analytics.trendingByGrowth({ ...window, minAgeSeconds: 0, channelIds: [CH], limit: 3 })
    assertEquals(one, expected([CH], 0).slice(0, 3))
    // Posts younger than 200 hours at the window's end are left out.
    const old = yield* analytics.trendingByGrowth({ ...window, minAgeSeconds: 200 * HOUR, channelIds: [], limit: 50 })
    assertEquals(old, expected([], 200 * HOUR))
    assertEquals(old.some((p) => p.msgId === 20 && p.channelId === CH), false)
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.heatmap counts posts and averages views by weekday and hour (UTC)": Effect.gen(function* () {
    const cells = yield* (yield* Analytics).heatmap(period)
    const expected = new Map<string, { weekday: number; hour: number; posts: number; views: number }>()
    for (const p of posts) {
      if (deleted.has(p.msgId) || p.isService) continue
      const d = new Date(p.date * 1000)
      const key = `${d.getUTCDay()}:${d.getUTCHours()}`
      const cell = expected.get(key) ?? { weekday: d.getUTCDay(), hour: d.getUTCHours(), posts: 0, views: 0 }
      expected.set(key, { ...cell, posts: cell.posts + 1, views: cell.views + p.views! })
    }
    const want = [...expected.values()]
      .sort((a, b) => a.weekday - b.weekday || a.hour - b.hour)
      .map((c) => ({ weekday: c.weekday, hour: c.hour, posts: c.posts, avgViews: c.views / c.posts }))
    assertEquals(cells, want)
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.topEntities counts the posts carrying each hashtag, mention and link": Effect.gen(function* () {
    const analytics = yield* Analytics
    const live = posts.filter((p) => !deleted.has(p.msgId) && !p.isService)
    for (const kind of ["hashtags", "mentions", "links"] as const satisfies ReadonlyArray<EntityKind>) {
      const counts = new Map<string, { posts: number; views: number }>()
      for (const p of live) {
        for (const value of new Set(p[kind])) {
          const c = counts.get(value) ?? { posts: 0, views: 0 }
          counts.set(value, { posts: c.posts + 1, views: c.views + p.views! })
        }
      }
      const want = [...counts.entries()]
        .map(([value, c]) => ({ value, ...c }))
        .sort((a, b) => b.posts - a.posts || b.views - a.views || (a.value < b.value ? -1 : 1))
      assertEquals(yield* analytics.topEntities(period, kind, 10), want, kind)
    }
    assertEquals((yield* analytics.topEntities(period, "hashtags", 1)).map((e) => e.value), ["#all"])
    // A period with no posts has no entities.
    const empty = { ...period, since: new Date(0), until: new Date(1000) }
    assertEquals(yield* analytics.topEntities(empty, "hashtags", 10), [])
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.channels lists every channel with its latest figures": Effect.gen(function* () {
    const rows = (yield* (yield* Analytics).channels).filter((c) => c.id === CH || c.id === OTHER)
    const live = posts.filter((p) => !deleted.has(p.msgId) && !p.isService)
    assertEquals(rows, [
      {
        id: CH,
        username: `a${CH}`,
        title: `A ${CH}`,
        kind: "broadcast",
        subscribers: 500,
        posts: live.length,
        lastPostAt: Math.max(...live.map((p) => p.date)),
        views: live.reduce((n, p) => n + p.views!, 0),
      },
      {
        id: OTHER,
        username: `a${OTHER}`,
        title: `A ${OTHER}`,
        kind: "broadcast",
        subscribers: 500,
        posts: 1,
        lastPostAt: BASE,
        views: makePost(OTHER, 1).views!,
      },
    ])
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.summary: posts, views, reach after 24 h, ERR, ER and the official followers": Effect.gen(function* () {
    const analytics = yield* Analytics
    const half = { ...period, until: new Date((BASE + 15 * 7 * HOUR) * 1000) }
    const live = posts.filter((p) => !deleted.has(p.msgId) && !p.isService && p.date < BASE + 15 * 7 * HOUR)
    const views = live.reduce((n, p) => n + p.views!, 0)
    const reach = live.flatMap((p) => {
      const first = SERIES.filter((s) => s.channelId === CH && s.msgId === p.msgId && s.at >= p.date + 24 * HOUR)
        .sort((a, b) => a.at - b.at)[0]
      return first ? [first.views] : []
    })
    const actions = live.reduce((n, p) => n + (p.forwards ?? 0) + p.reactionsTotal + (p.replies ?? 0), 0)
    const expected = {
      posts: live.length,
      views,
      avgViews: views / live.length,
      avgReach24h: reach.reduce((a, b) => a + b, 0) / reach.length,
      err: views / live.length / 500,
      er: actions / views,
      reactions: live.reduce((n, p) => n + p.reactionsTotal, 0),
      forwards: live.reduce((n, p) => n + (p.forwards ?? 0), 0),
      subscribers: 500,
      followers: null,
    }
    assertEquals(yield* analytics.summary(half), expected)
    yield* SqlClient.SqlClient.use((sql) =>
      sql`INSERT INTO channel_stats_values (channel_id, day, name, period_start, current, previous)
          VALUES (${CH}::int8, '2031-02-01', 'followers', '2031-01-25', 480, 450),
                 (${CH}::int8, '2031-01-25', 'followers', '2031-01-18', 450, 400)`
    )
    assertEquals((yield* analytics.summary(half)).followers, { current: 480, previous: 450 }, "the latest period")
    const none = yield* analytics.summary({ ...period, since: new Date(0), until: new Date(1000) })
    assertEquals([none.posts, none.views, none.avgViews, none.avgReach24h, none.err, none.er], [
      0,
      0,
      null,
      null,
      null,
      null,
    ])
  }).pipe(Effect.provide(Analytics.layer)),

  "Analytics.postSeries and dailySeries: a post's snapshots; each day's posts, views and official metrics": Effect.gen(
    function* () {
      const analytics = yield* Analytics
      // The snapshot the page wrote when it stored the post, then the series.
      const stored = posts[2]!
      const want = [
        { at: BASE, views: stored.views, forwards: stored.forwards, replies: stored.replies, reactions: 0 },
        ...SERIES.filter((s) => s.channelId === CH && s.msgId === 3)
          .map((s) => ({ at: s.at, views: s.views, forwards: null, replies: null, reactions: 0 })),
      ]
      assertEquals(yield* analytics.postSeries(CH, 3), want)
      assertEquals(yield* analytics.postSeries(CH, 999), [])
      yield* SqlClient.SqlClient.use((sql) =>
        sql`INSERT INTO channel_daily (channel_id, day, metric, value)
            VALUES (${CH}::int8, '2031-01-06', 'followers.joined', 12), (${CH}::int8, '2031-01-06', 'views.views', 900),
                   (${CH}::int8, '2031-03-01', 'followers.joined', 3)`
      )
      const days = new Map<string, { posts: number; views: number }>()
      for (const p of posts) {
        if (deleted.has(p.msgId) || p.isService) continue
        const day = new Date(p.date * 1000).toISOString().slice(0, 10)
        const d = days.get(day) ?? { posts: 0, views: 0 }
        days.set(day, { posts: d.posts + 1, views: d.views + p.views! })
      }
      const expected = [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, d]) => ({
        day,
        ...d,
        official: day === "2031-01-06" ? { "followers.joined": 12, "views.views": 900 } : {},
      }))
      // 2031-03-01 is after the period: left out.
      assertEquals(yield* analytics.dailySeries(period), expected)
    },
  ).pipe(Effect.provide(Analytics.layer)),
})
