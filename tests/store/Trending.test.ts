/**
 * Trending over the `post_growth` rollup: after every kind of snapshot write, each window's ranking equals the one
 * computed here from the stored snapshots, page by page too, and the rollup equals its rebuild from post_metrics.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { Analytics, type GrowingPost } from "../../src/store/Analytics.ts"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"
import { makePost } from "../support/posts.ts"

const [A, B] = [3101, 3102]
/** Far from the other store tests' dates. */
const T = Date.UTC(2032, 0, 5) / 1000
const HOUR = 3600
const at = (seconds: number) => new Date((T + seconds) * 1000)

const addChannel = (id: number) =>
  ChannelRepo.use((r) =>
    r.upsert({ id, accessHash: "1", username: `t${id}`, title: `T ${id}`, kind: "broadcast", participantsCount: 9 })
  )

/** Trending of channels A and B computed from the stored snapshots and posts: the window from the top of the hour. */
const expected = (since: number, until: number) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ channel_id: string; msg_id: number; at: number; views: number; date: number; text: string }>`
      SELECT m.channel_id::text AS channel_id, m.msg_id, date_part('epoch', m.taken_at)::float8 AS at, m.views,
        date_part('epoch', p.date)::float8 AS date, p.text
      FROM post_metrics m JOIN posts p ON p.channel_id = m.channel_id AND p.msg_id = m.msg_id
      WHERE m.channel_id IN (${A}::int8, ${B}::int8) AND m.views IS NOT NULL AND p.deleted_at IS NULL
        AND NOT p.is_service
      ORDER BY m.taken_at`
  ).pipe(Effect.map((rows) => {
    const start = Math.floor(since / HOUR) * HOUR
    const inWindow = rows.filter((r) => r.at >= start && r.at <= until)
    return [...Map.groupBy(inWindow, (r) => `${r.channel_id}:${r.msg_id}`).values()]
      .flatMap((list): Array<GrowingPost> => {
        const first = list[0]!, last = list.at(-1)!
        if (last.at - first.at < 60) return []
        const gained = last.views - first.views
        return [{
          channelId: Number(first.channel_id),
          msgId: first.msg_id,
          date: first.date,
          text: first.text,
          views: last.views,
          gained,
          perHour: gained * HOUR / (last.at - first.at),
        }]
      })
      .sort((a, b) => b.perHour - a.perHour || b.date - a.date || b.channelId - a.channelId || b.msgId - a.msgId)
  }))

/** Snapshots inserted directly, as [channel, post, seconds after T, views]. */
const insert = (rows: ReadonlyArray<readonly [number, number, number, number | null]>) =>
  SqlClient.SqlClient.use((sql) =>
    sql`INSERT INTO post_metrics (channel_id, msg_id, taken_at, views)
        SELECT * FROM unnest(${`{${rows.map((r) => r[0])}}`}::int8[], ${`{${rows.map((r) => r[1])}}`}::int4[],
          ${`{${rows.map((r) => `"${at(r[2]).toISOString()}"`)}}`}::timestamptz[],
          ${`{${rows.map((r) => r[3] ?? "NULL")}}`}::int4[])`
  )

/**
 * Windows from before the first snapshot, from inside an hour and from later hours; open-ended (read from the rollup)
 * or ending between snapshots (those read from post_metrics): each equals the expected ranking, one request or page
 * by page; then the rollup's rows equal their rebuild.
 */
const check = (step: string) =>
  Effect.gen(function* () {
    const analytics = yield* Analytics
    for (const since of [-HOUR, 1200, HOUR + 1800, 2 * HOUR + 1800]) {
      for (const until of [400 * HOUR, HOUR + 200, 3 * HOUR + 100]) {
        const window = { since: at(since), until: at(until), minAgeSeconds: 0 }
        const want = yield* expected(T + since, T + until)
        const all = yield* analytics.trendingByGrowth({ ...window, channelIds: [], limit: 1000 })
        assertEquals(all.filter((p) => p.channelId === A || p.channelId === B), want, `${step}: ${since}..${until}`)
        const paged: Array<GrowingPost> = []
        for (;;) {
          const last = paged.at(-1)
          const page = yield* analytics.trendingByGrowth({
            ...window,
            channelIds: [A, B],
            limit: 2,
            after: last && [last.perHour, last.date, last.channelId, last.msgId],
          })
          paged.push(...page)
          if (page.length < 2) break
        }
        assertEquals(paged, want, `${step}: ${since}..${until}, page by page`)
      }
    }
    const sql = yield* SqlClient.SqlClient
    const rows = sql`SELECT * FROM post_growth WHERE channel_id IN (${A}::int8, ${B}::int8) ORDER BY 1, 2`
    const kept = yield* rows
    yield* sql`SELECT post_growth_rebuild(array_agg(channel_id), array_agg(msg_id)) FROM posts
               WHERE channel_id IN (${A}::int8, ${B}::int8)`
    assertEquals(kept, yield* rows, `${step}: as rebuilt from post_metrics`)
  })

storeSuite("Trending", {
  "Analytics.trendingByGrowth follows snapshots written in order, late, several at once, edited and deleted": Effect
    .gen(function* () {
      yield* addChannel(A)
      yield* addChannel(B)
      const repo = yield* PostRepo
      const sql = yield* SqlClient.SqlClient
      const posts = [1, 2, 3, 4].map((id) => makePost(A, id, { date: T - id * HOUR, views: 100 * id }))
      yield* repo.upsertPage(A, posts, at(0))
      yield* repo.upsertPage(B, [makePost(B, 1, { date: T - HOUR, views: 50 })], at(30))
      yield* check("stored")
      // Later in the same hour, then in the next one.
      yield* repo.applyMetrics(A, [{ msgId: 1, views: 150 }, { msgId: 2, views: 260 }], at(600))
      yield* repo.recordRefresh(A, [1, 2, 3, 4].map((id) => ({ msgId: id, views: 100 * id + 90 })), at(HOUR + 120))
      yield* insert([[B, 1, HOUR + 100, 400]])
      yield* check("in order")
      // Older than the latest, several of a post in one statement, one without views.
      yield* insert([[A, 1, 1800, 170], [A, 3, 2 * HOUR, 500], [A, 3, 2 * HOUR + 60, 520], [A, 3, 3 * HOUR, 560]])
      yield* insert([[A, 4, 3 * HOUR + 10, null]])
      yield* check("late and several at once")
      // The same time twice (the second one updates the snapshot), and a snapshot edited.
      yield* repo.applyMetrics(A, [{ msgId: 2, views: 900 }], at(4 * HOUR))
      yield* repo.applyMetrics(A, [{ msgId: 2, views: 950 }], at(4 * HOUR))
      yield* sql`UPDATE post_metrics SET views = 20 WHERE channel_id = ${B}::int8 AND taken_at = ${at(30)}`
      yield* check("edited")
      yield* sql`DELETE FROM post_metrics WHERE channel_id = ${A}::int8 AND msg_id = 3 AND taken_at = ${at(3 * HOUR)}`
      yield* repo.markDeleted(A, [1], at(5 * HOUR))
      yield* repo.upsertPage(A, [{ ...posts[3]!, isService: true, views: 490 }], at(5 * HOUR))
      yield* check("a snapshot deleted, a post deleted, a post turned service")
      yield* repo.upsertPage(A, [{ ...posts[3]!, views: 495 }], at(6 * HOUR))
      yield* sql`DELETE FROM posts WHERE channel_id = ${B}::int8`
      yield* check("a service post turned back, rows deleted")
    }).pipe(Effect.provide(Analytics.layer)),
})
