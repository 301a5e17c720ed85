/**
 * One session per auth key, as Telegram enforces it: two GramJS clients with the same session string on the same DC
 * at once are counted (`GET /stats`), and refused with 406 AUTH_KEY_DUPLICATED when the sandbox is told to; using
 * the key again after the other client is gone is not duplication.
 */
import { Api } from "telegram"
import type { RPCError } from "telegram/errors/index.js"
import { assertEquals, assertRejects } from "./support/assert.ts"
import { admin, eventually, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"

type Stats = {
  authKeyDuplicated: number
  authKeyDuplicatedRefused: number
  refuseDuplicateKeys: boolean
  connections: Record<string, number>
}

const duplicated = (e: unknown) => assertEquals((e as RPCError).errorMessage, "AUTH_KEY_DUPLICATED")

sandboxTest("Sandbox counts an auth key used by two sessions at once; one after the other is not counted", async () => {
  await using sandbox = await startSandbox()
  const user = String(sandbox.descriptor.accounts[0]!.userId)
  const first = gramClient(sandbox, { account: 0 })
  const second = gramClient(sandbox, { account: 0 })
  const third = gramClient(sandbox, { account: 0 })
  try {
    await first.connect()
    await first.invoke(new Api.updates.GetState())
    let stats = await admin(sandbox, "/stats") as Stats
    assertEquals([stats.authKeyDuplicated, stats.refuseDuplicateKeys, stats.connections[user]], [0, false, 1])

    // The same key from a second client while the first is connected: counted, and (not refused) answered.
    await second.connect()
    await second.invoke(new Api.updates.GetState())
    stats = await admin(sandbox, "/stats") as Stats
    assertEquals([stats.authKeyDuplicated, stats.authKeyDuplicatedRefused, stats.connections[user]], [1, 0, 2])
    await first.invoke(new Api.updates.GetState())
    assertEquals((await admin(sandbox, "/stats") as Stats).authKeyDuplicated, 2, "each session counted once")
    await first.invoke(new Api.updates.GetState())
    assertEquals((await admin(sandbox, "/stats") as Stats).authKeyDuplicated, 2)

    // Both gone, then the key again: one session at a time is how it should be used.
    await first.destroy()
    await second.destroy()
    // A close reaches the server a moment after `destroy()`.
    await eventually(
      "both connections closed",
      async () => (await admin(sandbox, "/stats") as Stats).connections[user] === undefined,
    )
    await third.connect()
    await third.invoke(new Api.updates.GetState())
    stats = await admin(sandbox, "/stats") as Stats
    assertEquals([stats.authKeyDuplicated, stats.connections[user]], [2, 1])
  } finally {
    await Promise.all([first.destroy(), second.destroy(), third.destroy()])
  }
})

sandboxTest(
  "Sandbox with duplicated keys refused: 406 AUTH_KEY_DUPLICATED to both sessions; other keys go on",
  async () => {
    await using sandbox = await startSandbox({ refuseDuplicateKeys: true })
    const first = gramClient(sandbox, { account: 0 })
    const second = gramClient(sandbox, { account: 0 })
    const other = gramClient(sandbox, { account: 1 })
    try {
      await first.connect()
      await first.invoke(new Api.updates.GetState())
      // GramJS's connect sends its first request (initConnection with help.getConfig): refused.
      await assertRejects(() => second.connect(), duplicated)
      // Telegram invalidates the key: the first session is refused from now on too.
      await assertRejects(() => first.invoke(new Api.updates.GetState()), duplicated)
      await other.connect()
      await other.invoke(new Api.updates.GetState())
      const stats = await admin(sandbox, "/stats") as Stats
      assertEquals([stats.authKeyDuplicated, stats.refuseDuplicateKeys], [1, true])
      assertEquals(stats.authKeyDuplicatedRefused >= 2, true, `refused calls: ${stats.authKeyDuplicatedRefused}`)
    } finally {
      await Promise.all([first.destroy(), second.destroy(), other.destroy()])
    }
  },
)
