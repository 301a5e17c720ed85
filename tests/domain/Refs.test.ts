/** How channels are named: usernames, ids, invite links and `all`. */
import { ALL_PEERS, listEntries, parsePeerRef } from "../../src/domain/Refs.ts"
import { assertEquals } from "../support/assert.ts"

Deno.test("parsePeerRef: usernames, ids in both forms, invite links in every form, all", () => {
  const cases: ReadonlyArray<[string, unknown]> = [
    ["@durov", { _tag: "Username", username: "durov" }],
    ["https://t.me/durov", { _tag: "Username", username: "durov" }],
    ["123", { _tag: "Id", id: 123 }],
    ["-1001234567890", { _tag: "Id", id: 1234567890 }],
    ["https://t.me/+AbCd_-12ef", { _tag: "Invite", hash: "AbCd_-12ef" }],
    ["t.me/+AbCd_-12ef", { _tag: "Invite", hash: "AbCd_-12ef" }],
    ["https://telegram.me/joinchat/AAAAAEzR0aFo1bq9", { _tag: "Invite", hash: "AAAAAEzR0aFo1bq9" }],
    ["t.me/joinchat/AAAAAEzR0aFo1bq9/", { _tag: "Invite", hash: "AAAAAEzR0aFo1bq9" }],
    ["all", ALL_PEERS],
    [" ALL ", ALL_PEERS],
    // Not links: a bare "+HASH" or "joinchat/HASH" is nothing; a hash of 2 characters, "abc" (a username has 4 or more).
    ["+AbCd_-12ef", undefined],
    ["joinchat/AAAAAEzR0aFo1bq9", undefined],
    ["t.me/+ab", undefined],
    ["abc", undefined],
  ]
  for (const [raw, expected] of cases) assertEquals(parsePeerRef(raw), expected, raw)
  assertEquals(listEntries('["all", "t.me/+AbCd_-12ef", -100123]').map(parsePeerRef), [
    ALL_PEERS,
    { _tag: "Invite", hash: "AbCd_-12ef" },
    { _tag: "Id", id: 123 },
  ])
})
