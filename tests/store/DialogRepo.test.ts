/** DialogRepo contract: a walk's pages and offset stored together, resumed, finished, and each account's own hashes. */
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { ChannelInfo, DialogsPage } from "../../src/domain/Telegram.ts"
import { DialogRepo } from "../../src/store/DialogRepo.ts"
import { assertEquals } from "../support/assert.ts"
import { storeSuite } from "../support/PgTest.ts"

const channel = (id: number, accessHash = String(id * 3)): ChannelInfo => ({
  id,
  accessHash,
  username: null,
  title: `c${id}`,
  kind: "broadcast",
  participantsCount: 10,
})

const page = (ids: ReadonlyArray<number>, next: DialogsPage["next"], hash?: string): DialogsPage => ({
  channels: ids.map((id) => ({ channel: channel(id, hash), admin: id % 2 === 0 })),
  size: ids.length,
  next,
})

const offset = { date: 1_700_000_000, id: 42, peer: { kind: "channel" as const, id: 3002, accessHash: "9006" } }

const rows = (sql: SqlClient.SqlClient, table: string, where: string) =>
  sql.unsafe<Record<string, unknown>>(`SELECT * FROM ${table} WHERE ${where} ORDER BY 1, 2`)

storeSuite("DialogRepo", {
  "a walk stores each page with the next offset; a cut walk reads back its offset; the last page finishes it": Effect
    .gen(function* () {
      const repo = yield* DialogRepo
      assertEquals(yield* repo.walkOf("a"), Option.none())
      const walk = yield* repo.startWalk("a")
      assertEquals(walk, 1)
      yield* repo.savePage("a", walk, page([3001, 3002], offset))
      assertEquals(yield* repo.walkOf("a"), Option.some({ walk: 1, offset, pages: 1, finished: false }))
      yield* repo.savePage("a", walk, page([3003], undefined))
      const done = Option.getOrThrow(yield* repo.walkOf("a"))
      assertEquals([done.walk, done.pages, done.finished], [1, 2, true])
      assertEquals((yield* repo.channelsOf(["a"])).map((r) => [r.channel.id, r.admin]), [
        [3001, false],
        [3002, true],
        [3003, false],
      ])
    }).pipe(Effect.provide(DialogRepo.layer)),

  "the next walk starts from the first page and, finished, forgets the channels the account left": Effect.gen(
    function* () {
      const repo = yield* DialogRepo
      const first = yield* repo.startWalk("b")
      yield* repo.savePage("b", first, page([3101, 3102], undefined))
      const second = yield* repo.startWalk("b")
      assertEquals(second, first + 1)
      assertEquals(
        Option.map(yield* repo.walkOf("b"), (w) => [w.offset, w.pages, w.finished]),
        Option.some([{ date: 0, id: 0, peer: null }, 0, false]),
      )
      yield* repo.savePage("b", second, page([3102], offset))
      // Cut off here: both channels are still the account's (the walk has not seen all of its list yet).
      assertEquals((yield* repo.channelsOf(["b"])).map((r) => r.channel.id), [3101, 3102])
      yield* repo.savePage("b", second, page([3103], undefined))
      assertEquals((yield* repo.channelsOf(["b"])).map((r) => r.channel.id), [3102, 3103])
    },
  ).pipe(Effect.provide(DialogRepo.layer)),

  "each account's own access hash is kept beside the channel's": Effect.gen(function* () {
    const repo = yield* DialogRepo
    const sql = yield* SqlClient.SqlClient
    yield* repo.savePage("c", yield* repo.startWalk("c"), page([3201], undefined, "111"))
    yield* repo.savePage("d", yield* repo.startWalk("d"), page([3201], undefined, "222"))
    const peers = yield* rows(sql, "account_peers", "channel_id = 3201")
    assertEquals(peers.map((r) => [r.account, String(r.access_hash)]), [["c", "111"], ["d", "222"]])
    assertEquals((yield* repo.channelsOf()).filter((r) => r.channel.id === 3201).map((r) => r.account), ["c", "d"])
  }).pipe(Effect.provide(DialogRepo.layer)),
})
