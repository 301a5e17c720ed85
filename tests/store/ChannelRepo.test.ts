/** ChannelRepo contract: upsert, lookups by id and (case-insensitive) username, partial updates, listing. */
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { ChannelRepo, type ChannelRow } from "../../src/store/ChannelRepo.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"

const news: ChannelRow = {
  id: 1_987_654_321_012,
  accessHash: "-9123456789012345678",
  username: "DailyNews",
  title: "Daily News",
  kind: "broadcast",
  about: "All the news",
  participantsCount: 12_345,
  statsDc: 2,
  canViewStats: true,
}

storeSuite("ChannelRepo", {
  "ChannelRepo.upsert then byId, byUsername (any case, with @) and list": Effect.gen(function* () {
    const channels = yield* ChannelRepo
    assertEquals(yield* channels.byId(news.id), Option.none())
    yield* channels.upsert(news)
    assertEquals(yield* channels.byId(news.id), Option.some(news))
    assertEquals(yield* channels.byUsername("dailynews"), Option.some(news))
    assertEquals(yield* channels.byUsername("@DAILYNEWS"), Option.some(news))
    assertEquals(yield* channels.byUsername("nobody"), Option.none())
    const group: ChannelRow = { id: 77, accessHash: null, username: null, title: "", kind: "megagroup" }
    yield* channels.upsert(group)
    assertEquals(yield* channels.list(), [
      { ...group, about: null, participantsCount: null, statsDc: null, canViewStats: null },
      news,
    ])
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ resolved_at: Date | null }>`SELECT resolved_at FROM channels WHERE id = 77`
    assert(row?.resolved_at instanceof Date, "resolved_at is stamped")
  }),

  "ChannelRepo.upsert updates given fields, keeps absent ones and never erases an access hash": Effect.gen(
    function* () {
      const channels = yield* ChannelRepo
      const id = 5_000_000_001
      yield* channels.upsert({ ...news, id, username: "keep" })
      yield* channels.upsert({ id, accessHash: null, username: "Renamed", title: "New title", kind: "megagroup" })
      assertEquals(
        yield* channels.byId(id),
        Option.some({
          ...news,
          id,
          username: "Renamed",
          title: "New title",
          kind: "megagroup" as const,
        }),
      )
      yield* channels.upsert({ id, accessHash: "5", username: null, title: "T", kind: "broadcast", about: null })
      const updated = Option.getOrThrow(yield* channels.byId(id))
      assertEquals([updated.accessHash, updated.username, updated.about, updated.statsDc], ["5", null, null, 2])
    },
  ),

  "ChannelRepo.upsert moves a username from a stale channel to its new owner": Effect.gen(function* () {
    const channels = yield* ChannelRepo
    yield* channels.upsert({ id: 601, accessHash: "1", username: "Moving", title: "old", kind: "broadcast" })
    yield* channels.upsert({ id: 602, accessHash: "2", username: "moving", title: "new", kind: "broadcast" })
    assertEquals(Option.map(yield* channels.byUsername("MOVING"), (c) => c.id), Option.some(602))
    assertEquals(Option.map(yield* channels.byId(601), (c) => c.username), Option.some(null))
  }),

  "ChannelRepo.upsert of the same new channel by many fibers at once stores it once, none fails": Effect.gen(
    function* () {
      const channels = yield* ChannelRepo
      const row: ChannelRow = { id: 4242, accessHash: "7", username: "RaceNews", title: "Race", kind: "broadcast" }
      yield* Effect.forEach(Array.from({ length: 12 }, () => row), (r) => channels.upsert(r), {
        concurrency: "unbounded",
        discard: true,
      })
      assertEquals(
        yield* channels.byUsername("racenews"),
        Option.some({ ...row, about: null, participantsCount: null, statsDc: null, canViewStats: null }),
      )
    },
  ),
})
