/**
 * The edit and deletion log (migration 10) on both backends: one version per distinct content whatever writes the
 * posts, one deletion entry, the chain verified in TypeScript, a tampered or removed entry caught, and concurrent
 * writers of one channel giving one gap-free chain.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { ChainRepo, verifyStoredChain } from "../../src/store/ChainRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"
import { makePost, T0 } from "../support/posts.ts"

const at = (minute: number) => new Date((T0 + 86_400 + minute * 60) * 1000)

const addChannel = (id: number) =>
  ChannelRepo.use((r) =>
    r.upsert({ id, accessHash: "1", username: `v${id}`, title: `Channel ${id}`, kind: "broadcast" })
  )

const withChain = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, ChainRepo.layer)

/** The chain of a channel as (msg id, kind, text) in seq order. */
const entries = (channelId: number) =>
  withChain(ChainRepo.use((r) => r.entries(channelId, 0, 10_000))).pipe(
    Effect.map((es) => es.map((e) => [e.msgId, e.kind, e.text] as const)),
  )

const verify = (channelId: number) => withChain(verifyStoredChain(channelId))

storeSuite("Versions", {
  "one version per distinct content, whatever writes it; one deletion entry": Effect.gen(function* () {
    const posts = yield* PostRepo
    yield* addChannel(2001)
    const first = [1, 2, 3].map((id) => makePost(2001, id))
    yield* posts.upsertPage(2001, first, at(0))
    assertEquals(yield* entries(2001), [[1, "version", "post 1"], [2, "version", "post 2"], [3, "version", "post 3"]])
    // The same content again, new views and reactions (a page and a live change): nothing.
    yield* posts.upsertPage(2001, first, at(1))
    yield* posts.upsertPage(
      2001,
      first.map((p) => ({ ...p, views: 9999, reactions: { "👍": 3 }, reactionsTotal: 3 })),
      at(2),
    )
    yield* posts.applyMetrics(2001, [{ msgId: 2, views: 12345, forwards: 7 }], at(3))
    yield* posts.recordRefresh(2001, [{ msgId: 3, views: 22222 }], at(4))
    assertEquals((yield* entries(2001)).length, 3)
    // An edit: one version, however often it is read again.
    const edited = makePost(2001, 2, { text: "edited", contentHash: "edited", editDate: T0 + 10_000 })
    yield* posts.upsertPage(2001, [edited], at(5))
    yield* posts.upsertPage(2001, [edited], at(6))
    yield* posts.upsertPage(2001, [{ ...edited, views: 1 }], at(7))
    // An older read of the post (before the edit) neither undoes it nor adds a version.
    yield* posts.upsertPage(2001, [first[1]!], at(8), { fetchedAt: at(4) })
    assertEquals((yield* entries(2001)).slice(3), [[2, "version", "edited"]])
    // A deletion, recorded twice, and settled: one entry.
    yield* posts.markDeleted(2001, [3], at(9))
    yield* posts.markDeleted(2001, [3], at(10))
    yield* posts.settleDeletions(2001, [3])
    assertEquals((yield* entries(2001)).slice(4), [[3, "deleted", ""]])
    // A post first stored already deleted (a page read before a deletion recorded for a post not stored yet).
    yield* posts.markDeleted(2001, [4], at(11))
    yield* posts.upsertPage(2001, [makePost(2001, 4)], at(12), { fetchedAt: at(10) })
    assertEquals((yield* entries(2001)).slice(5), [[4, "version", "post 4"], [4, "deleted", ""]])
    const result = yield* verify(2001)
    assertEquals(result, { count: 7, broken: undefined })
  }),

  "the stored entities and media identity are in the version": Effect.gen(function* () {
    const posts = yield* PostRepo
    yield* addChannel(2002)
    const post = makePost(2002, 1, { entities: '[["MessageEntityBold",0,4,null]]', mediaIdentity: '["photo","77"]' })
    yield* posts.upsertPage(2002, [post], at(0))
    const [entry] = yield* withChain(ChainRepo.use((r) => r.entries(2002, 0, 10)))
    assertEquals([entry?.entities, entry?.mediaIdentity, entry?.contentHash], [
      post.entities,
      post.mediaIdentity,
      post.contentHash,
    ])
    assertEquals((yield* verify(2002)).broken, undefined)
  }),

  "a tampered entry, a removed one and a cut-off tail break the chain": Effect.gen(function* () {
    const posts = yield* PostRepo
    const sql = yield* SqlClient.SqlClient
    for (const ch of [2003, 2004, 2005]) {
      yield* addChannel(ch)
      yield* posts.upsertPage(ch, [1, 2, 3, 4].map((id) => makePost(ch, id)), at(0))
    }
    yield* sql`UPDATE post_versions SET text = 'forged' WHERE channel_id = 2003 AND seq = 2`
    const tampered = (yield* verify(2003)).broken
    assertEquals([tampered?.seq, tampered?.msgId, tampered?.reason], [2, 2, "content"])
    assertEquals(tampered?.message, "content does not match its hash")

    yield* sql`DELETE FROM post_versions WHERE channel_id = 2004 AND seq = 3`
    const gap = (yield* verify(2004)).broken
    assertEquals([gap?.seq, gap?.reason, gap?.message], [3, "gap", "gap: seq 3 missing (next is seq 4)"])

    yield* sql`DELETE FROM post_versions WHERE channel_id = 2005 AND seq = 4`
    const tail = (yield* verify(2005)).broken
    assertEquals([tail?.seq, tail?.reason], [4, "tail"])
  }),

  "writers of one channel at once give one gap-free chain": Effect.gen(function* () {
    const posts = yield* PostRepo
    const sql = yield* SqlClient.SqlClient
    yield* addChannel(2006)
    yield* posts.upsertPage(2006, Array.from({ length: 8 }, (_, i) => makePost(2006, i + 1)), at(0))
    // 8 writers side by side, each a transaction of a page, an edit and a deletion, on rows of their own (no row
    // lock orders them): their commits meet on the chain alone. Three rounds.
    const writer = (round: number, w: number) =>
      sql.withTransaction(Effect.gen(function* () {
        const base = round * 1000 + w * 100
        yield* posts.upsertPage(2006, Array.from({ length: 20 }, (_, i) => makePost(2006, base + i + 1)), at(round))
        const edit = `edit ${round}.${w}`
        yield* posts.upsertPage(2006, [makePost(2006, w, { text: edit, contentHash: edit })], at(round))
        yield* posts.markDeleted(2006, [base + 5], at(round))
      }))
    for (const round of [1, 2, 3]) {
      yield* Effect.all(Array.from({ length: 8 }, (_, w) => writer(round, w + 1)), { concurrency: "unbounded" })
    }
    const result = yield* verify(2006)
    assertEquals(result.broken, undefined)
    // 8 first versions, then per writer and round: 20 posts, an edit, a deletion.
    assertEquals(result.count, 8 + 3 * 8 * (20 + 1 + 1))
  }),
})
