/** PostRepo contract: page upsert counts and snapshots, round trips, deletion, transactions and the analytics reads. */
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Post } from "../../src/domain/Post.ts"
import { ChannelRepo } from "../../src/store/ChannelRepo.ts"
import { CheckpointRepo } from "../../src/store/CheckpointRepo.ts"
import { PostRepo } from "../../src/store/PostRepo.ts"
import { PostReads } from "../../src/store/PostReads.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"
import { makePost, T0 } from "../support/posts.ts"

const takenAt = (minute: number) => new Date((T0 + 86_400 + minute * 60) * 1000)

const page = (channelId: number, from: number, to: number, f: (p: Post) => Post = (p) => p) =>
  Array.from({ length: to - from + 1 }, (_, i) => f(makePost(channelId, from + i)))

const addChannel = (id: number, participantsCount: number | null = null) =>
  ChannelRepo.use((r) =>
    r.upsert({ id, accessHash: "1", username: `c${id}`, title: `Channel ${id}`, kind: "broadcast", participantsCount })
  )

const metricsRows = (channelId: number) =>
  SqlClient.SqlClient.use((sql) =>
    sql<{ n: number }>`SELECT count(*)::int4 AS n FROM post_metrics WHERE channel_id = ${channelId}::int8`
  ).pipe(Effect.map((rows) => rows[0]?.n ?? 0))

storeSuite("PostRepo", {
  "PostRepo.upsertPage counts inserts, no-ops, metric changes and content changes": Effect.gen(function* () {
    const posts = yield* PostRepo
    const sql = yield* SqlClient.SqlClient
    yield* addChannel(1001)
    const first = page(1001, 1, 100)
    assertEquals(yield* posts.upsertPage(1001, first, takenAt(0)), {
      inserted: 100,
      updated: 0,
      unchanged: 0,
      contentChanged: 0,
      snapshots: 100,
    })
    const before = yield* sql<{ updated_at: Date }>`
      SELECT updated_at FROM posts WHERE channel_id = 1001 AND msg_id = 1`
    assertEquals(yield* posts.upsertPage(1001, first, takenAt(1)), {
      inserted: 0,
      updated: 0,
      unchanged: 100,
      contentChanged: 0,
      snapshots: 0,
    })
    const after = yield* sql<{ updated_at: Date }>`SELECT updated_at FROM posts WHERE channel_id = 1001 AND msg_id = 1`
    assertEquals(after[0]?.updated_at.getTime(), before[0]?.updated_at.getTime(), "an unchanged row is not rewritten")

    const viewed = first.map((p) => (p.msgId === 7 ? { ...p, views: 5000 } : p))
    assertEquals(yield* posts.upsertPage(1001, viewed, takenAt(2)), {
      inserted: 0,
      updated: 1,
      unchanged: 99,
      contentChanged: 0,
      snapshots: 1,
    })

    const reacted = viewed.map((p) => (p.msgId === 8 ? { ...p, reactions: { "👍": 3 }, reactionsTotal: 3 } : p))
    assertEquals((yield* posts.upsertPage(1001, reacted, takenAt(3))).snapshots, 1)

    const edited = reacted.map((p) => (p.msgId === 9 ? { ...p, text: "edited", contentHash: "h9-2", editDate: T0 } : p))
    assertEquals(yield* posts.upsertPage(1001, edited, takenAt(4)), {
      inserted: 0,
      updated: 1,
      unchanged: 99,
      contentChanged: 1,
      snapshots: 0,
    })
    const changedAt = yield* sql<{ msg_id: number; content_changed_at: Date | null }>`
      SELECT msg_id, content_changed_at FROM posts WHERE channel_id = 1001 AND msg_id IN (7, 9) ORDER BY msg_id`
    assertEquals(changedAt[0]?.content_changed_at, null, "a views change is not a content change")
    assert(changedAt[1]?.content_changed_at instanceof Date, "content_changed_at is set on a new content hash")

    // Only edit_date moved (Telegram bumps it for reactions): updated, but neither content nor metrics changed.
    const bumped = edited.map((p) => (p.msgId === 10 ? { ...p, editDate: T0 + 5 } : p))
    assertEquals(yield* posts.upsertPage(1001, bumped, takenAt(5)), {
      inserted: 0,
      updated: 1,
      unchanged: 99,
      contentChanged: 0,
      snapshots: 0,
    })

    const mixed = [...bumped.slice(0, 50), ...page(1001, 101, 150)]
    assertEquals(yield* posts.upsertPage(1001, mixed, takenAt(6)), {
      inserted: 50,
      updated: 0,
      unchanged: 50,
      contentChanged: 0,
      snapshots: 50,
    })
    assertEquals(yield* metricsRows(1001), 100 + 1 + 1 + 50)
    assertEquals(yield* posts.upsertPage(1001, [], takenAt(7)), {
      inserted: 0,
      updated: 0,
      unchanged: 0,
      contentChanged: 0,
      snapshots: 0,
    })
  }),

  "PostRepo.upsertPage round-trips every field, awkward values included": Effect.gen(function* () {
    const posts = yield* PostRepo
    const reads = yield* PostReads
    yield* addChannel(1002)
    const awkward: ReadonlyArray<Post> = [
      makePost(1002, 1, {
        text: 'quotes " and \\ backslashes, {braces}, commas, NULL, émoji 🚀 and\nnew lines',
        links: ["https://example.com/a?b=1&c={2}", 'x"y'],
        mentions: ["@alice", "@bob"],
        hashtags: ["#one", "#два"],
        mediaKind: "photo",
        groupedId: "13579246801357924",
        postAuthor: 'Ann "the" Author',
        fromId: "user:42",
        fwdFromChannelId: 1_234_567_890_123,
        fwdFromMsgId: 77,
        fwdDate: T0 - 3600,
        fwdFromName: "Origin",
        replyToMsgId: 1,
        replies: 4,
        views: 2_000_000_000,
        forwards: 0,
        reactions: { "❤": 5, "👍": 2, "custom:5368": 1 },
        reactionsTotal: 8,
        editDate: T0 + 10,
        isService: false,
      }),
      // Everything nullable is null; small and large ids mixed in the same columns.
      makePost(1002, 2, { views: null, forwards: null, fwdFromChannelId: 5, isService: true, mediaKind: "service" }),
      makePost(1002, 3, { text: "", links: ["", "\u001f"], hashtags: ["NULL"], mentions: ["{x}"] }),
    ]
    yield* posts.upsertPage(1002, awkward, takenAt(0))
    const stored = yield* reads.channelPosts(1002, { limit: 10 })
    assertEquals(stored.map((p) => p.msgId), [3, 2, 1])
    // Empty list items are dropped (Normalize never makes them); everything else comes back as it went in.
    const expected = awkward.map((p) => (p.msgId === 3 ? { ...p, links: [] } : p))
    assertEquals([...stored].reverse(), expected)

    // NUL cannot be stored in PostgreSQL text: it is dropped instead of failing the page.
    const nul = makePost(1002, 4, { text: "a\u0000b", links: ["l\u0000"], reactions: { "x\u0000": 1 } })
    yield* posts.upsertPage(1002, [nul], takenAt(1))
    const [back] = yield* reads.channelPosts(1002, { limit: 1 })
    assertEquals([back?.text, back?.links, back?.reactions], ["ab", ["l"], { x: 1 }])

    // A page with the same id twice: the last copy wins.
    const dup = [makePost(1002, 5, { text: "old" }), makePost(1002, 5, { text: "new", contentHash: "n" })]
    assertEquals((yield* posts.upsertPage(1002, dup, takenAt(2))).inserted, 1)
    assertEquals((yield* reads.channelPosts(1002, { limit: 1 }))[0]?.text, "new")
  }),

  "PostRepo.channelPosts pages newest first; maxMsgId and count": Effect.gen(function* () {
    const posts = yield* PostRepo
    const reads = yield* PostReads
    yield* addChannel(1003)
    assertEquals(yield* posts.maxMsgId(1003), Option.none())
    assertEquals(yield* reads.count(1003), 0)
    yield* posts.upsertPage(1003, page(1003, 1, 25), takenAt(0))
    const p1 = yield* reads.channelPosts(1003, { limit: 10 })
    assertEquals(p1.map((p) => p.msgId), [25, 24, 23, 22, 21, 20, 19, 18, 17, 16])
    const p3 = yield* reads.channelPosts(1003, { limit: 10, beforeMsgId: 6 })
    assertEquals(p3.map((p) => p.msgId), [5, 4, 3, 2, 1])
    assertEquals(yield* posts.maxMsgId(1003), Option.some(25))
    assertEquals(yield* reads.count(1003), 25)
  }),

  "PostRepo.markDeleted hides posts from reads; seeing a post again restores it": Effect.gen(function* () {
    const posts = yield* PostRepo
    const reads = yield* PostReads
    yield* addChannel(1004)
    const all = page(1004, 1, 5)
    yield* posts.upsertPage(1004, all, takenAt(0))
    assertEquals(yield* posts.markDeleted(1004, [2, 4, 99], takenAt(1)), 2)
    assertEquals(yield* posts.markDeleted(1004, [2], takenAt(2)), 0, "already deleted")
    assertEquals(yield* posts.markDeleted(1004, [], takenAt(2)), 0)
    assertEquals(yield* reads.count(1004), 3)
    assertEquals((yield* reads.channelPosts(1004, { limit: 10 })).map((p) => p.msgId), [5, 3, 1])
    assertEquals((yield* reads.totals(1004)).views, 101 + 103 + 105)
    assertEquals(yield* posts.maxMsgId(1004), Option.some(5))
    const again = yield* posts.upsertPage(1004, [all[1]!], takenAt(3))
    assertEquals([again.updated, again.snapshots], [1, 0])
    assertEquals(yield* reads.count(1004), 4)
    // A page read from Telegram before post 4 was deleted (at 1) but written after: post 4 stays deleted.
    const late = yield* posts.upsertPage(1004, [all[3]!], takenAt(5), { fetchedAt: takenAt(0) })
    assertEquals([late.inserted, late.updated], [0, 0])
    assertEquals(yield* reads.count(1004), 4)
    // Read after the deletion: Telegram still has it, so it is not deleted.
    yield* posts.upsertPage(1004, [all[3]!], takenAt(6), { fetchedAt: takenAt(2) })
    assertEquals(yield* reads.count(1004), 5)
  }),

  "PostRepo.upsertPage: a page read before a live change, written after it, undoes neither a deletion nor an edit":
    Effect.gen(function* () {
      const posts = yield* PostRepo
      const reads = yield* PostReads
      yield* addChannel(1017)
      const read = page(1017, 1, 3)
      // Post 3 is deleted live (at 1) before the page that still has it (read at 0) is stored: it stays deleted.
      assertEquals(yield* posts.markDeleted(1017, [3], takenAt(1)), 0, "not stored yet")
      yield* posts.upsertPage(1017, read, takenAt(2), { fetchedAt: takenAt(0) })
      assertEquals((yield* reads.channelPosts(1017, { limit: 10 })).map((p) => p.msgId), [2, 1])
      // Read after the deletion, the post is there after all (a deletion that was undone): it is stored.
      yield* posts.upsertPage(1017, [read[2]!], takenAt(3), { fetchedAt: takenAt(2) })
      assertEquals(yield* reads.count(1017), 3)
      // Post 2 is edited live; the older page's text does not come back, its newer counters do.
      const edited = makePost(1017, 2, { text: "edited", editDate: T0 + 500, contentHash: "edited" })
      yield* posts.upsertPage(1017, [edited], takenAt(4))
      const stale = { ...read[1]!, views: 9_999 }
      const late = yield* posts.upsertPage(1017, [stale], takenAt(5), { fetchedAt: takenAt(0) })
      assertEquals([late.updated, late.contentChanged], [1, 0])
      const [row] = yield* SqlClient.SqlClient.use((sql) =>
        sql<{ text: string; views: number; edit_date: string }>`
          SELECT text, views, extract(epoch FROM edit_date)::text AS edit_date FROM posts
          WHERE channel_id = 1017 AND msg_id = 2`
      )
      assertEquals([row?.text, row?.views, Number(row?.edit_date)], ["edited", 9_999, T0 + 500])
      // A later edit is stored as usual.
      const again = makePost(1017, 2, { text: "edited again", editDate: T0 + 600, contentHash: "again" })
      assertEquals((yield* posts.upsertPage(1017, [again], takenAt(6))).contentChanged, 1)
    }),

  "PostRepo.upsertPage: two versions with the same edit_date are ordered by when they were read": Effect.gen(
    function* () {
      const posts = yield* PostRepo
      const sql = yield* SqlClient.SqlClient
      yield* addChannel(1031)
      const text = () =>
        sql<{ text: string }>`SELECT text FROM posts WHERE channel_id = 1031 AND msg_id = 1`.pipe(
          Effect.map((rows) => rows[0]?.text),
        )
      // Two edits within one second: the same edit_date, other texts.
      const version = (name: string) => makePost(1031, 1, { text: name, editDate: T0 + 900, contentHash: name })
      yield* posts.upsertPage(1031, [version("first edit")], takenAt(1), { fetchedAt: takenAt(1) })
      // The second edit arrives live (read at 3); a page read at 2 with the first edit is written after it.
      assertEquals((yield* posts.upsertPage(1031, [version("second edit")], takenAt(3))).contentChanged, 1)
      const late = yield* posts.upsertPage(1031, [{ ...version("first edit"), views: 7 }], takenAt(4), {
        fetchedAt: takenAt(2),
      })
      assertEquals([late.updated, late.contentChanged], [1, 0], "its counters are stored, not its text")
      assertEquals(yield* text(), "second edit")
      // A version read later than the stored one wins, as does any newer edit_date.
      yield* posts.upsertPage(1031, [version("third edit")], takenAt(6), { fetchedAt: takenAt(5) })
      assertEquals(yield* text(), "third edit")
      yield* posts.upsertPage(1031, [{ ...version("fourth"), editDate: T0 + 901 }], takenAt(7), {
        fetchedAt: takenAt(0),
      })
      assertEquals(yield* text(), "fourth")
    },
  ),

  "PostRepo: a statement the server rejects fails with its words, not only the driver's": Effect.gen(function* () {
    const posts = yield* PostRepo
    // No channel 1099: the posts' foreign key rejects the page.
    const error = yield* Effect.flip(posts.upsertPage(1099, page(1099, 1, 2), takenAt(0)))
    assertEquals(error.operation, "PostRepo.upsertPage")
    assert(error.message.includes("violates foreign key constraint"), error.message)
  }),

  "PostRepo.upsertPage rolls back with the checkpoint when the transaction fails": Effect.gen(function* () {
    const posts = yield* PostRepo
    const reads = yield* PostReads
    const checkpoints = yield* CheckpointRepo
    const sql = yield* SqlClient.SqlClient
    yield* addChannel(1005)
    const failed = yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* posts.upsertPage(1005, page(1005, 1, 10), takenAt(0))
        yield* checkpoints.advanceHistory(1005, { top: 10, bottom: 1, done: false })
        return yield* Effect.fail("boom" as const)
      }),
    ).pipe(Effect.flip)
    assertEquals(failed, "boom")
    assertEquals(yield* reads.count(1005), 0)
    assertEquals(yield* metricsRows(1005), 0)
    assertEquals(yield* checkpoints.get(1005, "history"), Option.none())

    const counts = yield* sql.withTransaction(
      Effect.gen(function* () {
        const counts = yield* posts.upsertPage(1005, page(1005, 1, 10), takenAt(0))
        yield* checkpoints.advanceHistory(1005, { top: 10, bottom: 1, done: false })
        return counts
      }),
    )
    assertEquals(counts.inserted, 10)
    assertEquals(yield* reads.count(1005), 10)
    assertEquals(yield* checkpoints.get(1005, "history"), Option.some({ top: 10, bottom: 1, done: false, pts: 0 }))
  }),

  "PostRepo.upsertPage writes the page and the checkpoint it reaches in one statement, or neither": Effect.gen(
    function* () {
      const posts = yield* PostRepo
      const reads = yield* PostReads
      const checkpoints = yield* CheckpointRepo
      const sql = yield* SqlClient.SqlClient
      yield* addChannel(1008)
      const counts = yield* posts.upsertPage(
        1008,
        page(1008, 11, 20),
        takenAt(0),
        { checkpoint: checkpoints.mergeHistory(1008, { top: 20, bottom: 11, done: false }) },
      )
      assertEquals([counts.inserted, counts.snapshots], [10, 10])
      assertEquals(yield* checkpoints.get(1008, "history"), Option.some({ top: 20, bottom: 11, done: false, pts: 0 }))
      // A checkpoint statement that fails takes the page with it (21..30 are not stored, the cursor did not move).
      const failing = sql`
        INSERT INTO checkpoints (channel_id, stream, cursor) VALUES (999999, 'history', '{}')
        RETURNING cursor AS checkpoint`
      const error = yield* posts.upsertPage(1008, page(1008, 21, 30), takenAt(1), { checkpoint: failing }).pipe(
        Effect.flip,
      )
      assertEquals(error._tag, "StoreError")
      assertEquals(yield* reads.count(1008), 10)
      assertEquals(yield* metricsRows(1008), 10)
      assertEquals(yield* checkpoints.get(1008, "history"), Option.some({ top: 20, bottom: 11, done: false, pts: 0 }))
      // With no posts the checkpoint statement runs alone; the merge never moves backwards.
      yield* posts.upsertPage(1008, [], takenAt(2), {
        checkpoint: checkpoints.mergeHistory(1008, { top: 15, bottom: 1, done: true }),
      })
      assertEquals(yield* checkpoints.get(1008, "history"), Option.some({ top: 20, bottom: 1, done: true, pts: 0 }))
    },
  ),

  "PostRepo.upsertPage fails with a StoreError when the channel is unknown": Effect.gen(function* () {
    const posts = yield* PostRepo
    const error = yield* Effect.flip(posts.upsertPage(424242, page(424242, 1, 2), takenAt(0)))
    assertEquals([error._tag, error.operation], ["StoreError", "PostRepo.upsertPage"])
  }),
})
