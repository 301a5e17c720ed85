/** What tgpulse changes in GramJS's bookkeeping: one entity row per id in a session, whatever it sees again. */
import { Api } from "telegram"
import bigInt from "big-integer"
import { StringSession } from "telegram/sessions/index.js"
import { boundEntities } from "../../src/telegram/GramClient.ts"
import { assertEquals } from "../support/assert.ts"

const user = (id: number, name: string) =>
  new Api.User({ id: bigInt(id), accessHash: bigInt(id * 7), firstName: name, username: `user${id}` })
const channel = (id: number, title: string) =>
  new Api.Channel({ id: bigInt(id), accessHash: bigInt(id * 11), title, photo: new Api.ChatPhotoEmpty(), date: 0 })

const rowsOf = (session: StringSession) => (session as unknown as { _entities: Set<Array<unknown>> })._entities

Deno.test("GramClient: a session keeps one row per entity id, the latest, however often it is seen", async () => {
  const bound = new StringSession("")
  const plain = new StringSession("")
  boundEntities(bound)
  for (let round = 0; round < 50; round++) {
    const answer = { users: [user(1, `one ${round}`), user(2, "two")], chats: [channel(3, `three ${round}`)] }
    bound.processEntities(answer)
    plain.processEntities(answer)
  }
  assertEquals(rowsOf(plain).size, 150) // GramJS as it ships: every row of every answer
  assertEquals(rowsOf(bound).size, 3)
  assertEquals([...rowsOf(bound)].map((r) => r[4]).sort(), ["one 49", "three 49", "two"])
  // GramJS's own lookups still find them.
  const input = await bound.getInputEntity("user1")
  assertEquals(input instanceof Api.InputPeerUser ? input.accessHash.toString() : "", "7")
})
