/**
 * Conformance with mtcute (`@mtcute/node` 0.28.2, layer 223, its default intermediate TCP transport), an MTProto client
 * independent of GramJS, driven through its own high-level API: handshake and login (code, 2FA, PHONE_MIGRATE), full
 * history paging against the admin API's truth, pushed updates, and statistics on the stats DC.
 */
import { assert, assertEquals } from "./support/assert.ts"
import { loggedIn, login, mtcuteClient, next, rpcFailure, startMtcuteSandbox, updatesReady } from "./support/mtcute.ts"
import { admin, sandboxTest } from "./support/sandbox.ts"
import { SANDBOX_CODE } from "../methods/auth.ts"
import { SANDBOX_PASSWORD } from "../world/Genesis.ts"

/** The channel's marked id as clients see it (-100 followed by the bare id). */
const marked = (id: number) => -1_000_000_000_000 - id

sandboxTest(
  "mtcute: handshake and login with the code; a wrong code is asked again; PHONE_MIGRATE followed",
  async () => {
    await using sandbox = await startMtcuteSandbox()
    const plain = sandbox.world.accounts[0]!
    assertEquals(plain.password, undefined)
    const client = mtcuteClient(sandbox)
    try {
      const [, done] = await Promise.all([
        updatesReady(client),
        login(client, plain.phone, { codes: ["11111", SANDBOX_CODE] }),
      ])
      assertEquals(done, { userId: plain.userId, sentCodeType: "app", refused: ["code"] })
      const me = await client.getMe()
      assertEquals([me.id, me.isSelf], [plain.userId, true])
    } finally {
      await client.destroy()
    }
    const outcomes = (method: string) => sandbox.control.log.since(0, method).map((e) => [e.dcId, e.outcome])
    // Before login mtcute asks who it is (users.getUsers): 401, as for any key that has not signed in.
    assertEquals(outcomes("users.GetUsers")[0], [2, "AUTH_KEY_UNREGISTERED"])
    assertEquals(outcomes("auth.SignIn"), [[2, "PHONE_CODE_INVALID"], [2, "ok"]])

    // An account homed on DC 4: mtcute starts on DC 2 and moves to DC 4 on PHONE_MIGRATE_4 (dc_options of the config).
    const far = sandbox.world.accounts.find((a) => a.phone.startsWith("999664"))!
    const moved = mtcuteClient(sandbox)
    try {
      const done = await login(moved, far.phone, { codes: [SANDBOX_CODE] })
      assertEquals(done.userId, far.userId)
      assertEquals(await moved.getPrimaryDcId(), 4)
      assertEquals((await moved.getMe()).id, far.userId)
    } finally {
      await moved.destroy()
    }
    const sendCodes = sandbox.control.log.since(0, "auth.SendCode").filter((e) => e.params.phoneNumber === far.phone)
    assertEquals(sendCodes.map((e) => [e.dcId, e.outcome]), [[2, "PHONE_MIGRATE_4"], [4, "ok"]])
    assertEquals(sandbox.logs.filter((l) => l.level !== "info"), [], "no warnings for mtcute")
  },
)

sandboxTest("mtcute: login with the code and the 2FA password (SRP); a wrong password is asked again", async () => {
  await using sandbox = await startMtcuteSandbox()
  const secured = sandbox.world.accounts[1]!
  assertEquals(secured.password, SANDBOX_PASSWORD)
  const client = mtcuteClient(sandbox)
  try {
    const done = await login(client, secured.phone, {
      codes: [SANDBOX_CODE],
      passwords: ["not-the-password", SANDBOX_PASSWORD],
    })
    assertEquals(done, { userId: secured.userId, sentCodeType: "app", refused: ["password"] })
    assertEquals((await client.getMe()).id, secured.userId)
  } finally {
    await client.destroy()
  }
  const log = sandbox.control.log.since(0).filter((e) => /^(auth\.|account\.)/.test(e.method))
  assertEquals(log.map((e) => [e.method, e.outcome]), [
    ["auth.SendCode", "ok"],
    ["auth.SignIn", "SESSION_PASSWORD_NEEDED"],
    ["account.GetPassword", "ok"],
    ["auth.CheckPassword", "PASSWORD_HASH_INVALID"],
    ["account.GetPassword", "ok"],
    ["auth.CheckPassword", "ok"],
  ])
})

sandboxTest("mtcute: iterHistory pages a 3,000-post channel end to end, exactly the admin API's truth", async () => {
  await using sandbox = await startMtcuteSandbox({ channels: 1, posts: 3_000 })
  const channel = sandbox.descriptor.channels[0]!
  const truth = await admin(sandbox, `/channels/${channel.id}/truth`)
  const deleted = new Set<number>(truth.deletedIds)
  assert(deleted.size > 0, "the channel has deleted posts (gaps in the ids)")
  const expected: Array<number> = []
  for (let id = truth.maxId; id >= truth.minId; id--) if (!deleted.has(id)) expected.push(id)
  assertEquals(expected.length, truth.count)

  const client = await loggedIn(sandbox, 0)
  const seen: Array<{ id: number; text: string; views: number | null; chat: number }> = []
  try {
    for await (const m of client.iterHistory(channel.username)) {
      seen.push({ id: m.id, text: m.text, views: m.views, chat: m.chat.id })
    }
  } finally {
    await client.destroy()
  }
  assertEquals(seen.map((m) => m.id), expected, "ids, newest first, none missing or repeated")
  const posts = sandbox.world.posts(channel.id, expected)
  assertEquals(seen.map((m) => m.text), posts.map((p) => p!.text), "texts")
  assertEquals(seen.map((m) => m.views), posts.map((p) => p!.views), "views")
  assertEquals(seen.reduce((sum, m) => sum + (m.views ?? 0), 0), truth.views, "views add up to the truth's total")
  assert(seen.every((m) => m.chat === marked(channel.id)), "every message is the channel's")
  for (const id of [expected[0]!, expected[1_500]!, expected.at(-1)!]) {
    const post = await admin(sandbox, `/channels/${channel.id}/posts/${id}`)
    const got = seen.find((m) => m.id === id)!
    assertEquals([got.text, got.views], [post.text, post.views], `post ${id} as the admin API reports it`)
  }
  // 100 a page (mtcute's chunk), then one empty page that ends the walk.
  assertEquals(sandbox.control.log.since(0, "messages.GetHistory").length, Math.ceil(truth.count / 100) + 1)
})

sandboxTest("mtcute: an admin publish, edit and delete reach its update handlers", async () => {
  await using sandbox = await startMtcuteSandbox({ channels: 1, posts: 50 })
  const channel = sandbox.descriptor.channels[0]!
  const client = await loggedIn(sandbox, 0)
  try {
    const published = next("the published post", client.onNewMessage, (m) => m.chat.id === marked(channel.id))
    const { ids } = await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
    const id: number = ids[0]
    const message = await published
    assertEquals([message.id, message.text], [id, sandbox.world.posts(channel.id, [id])[0]!.text])

    const edited = next("the edit", client.onEditMessage, (m) => m.id === id)
    await admin(sandbox, `/channels/${channel.id}/posts/${id}/edit`, { body: { text: "Edited by the admin API" } })
    assertEquals((await edited).text, "Edited by the admin API")

    const deleted = next("the deletion", client.onDeleteMessage, (u) => u.messageIds.includes(id))
    await admin(sandbox, `/channels/${channel.id}/delete`, { body: { ids: [id] } })
    const deletion = await deleted
    assertEquals([deletion.channelId, deletion.messageIds], [marked(channel.id), [id]])
  } finally {
    await client.destroy()
  }
  // Each change went out as one push (pts one apart, so mtcute saw no gap and asked for no difference).
  const { entries } = await admin(sandbox, `/pushes?channelId=${channel.id}`)
  const pushed = entries.map((
    e: { kind: string; pts: number; sent: number },
  ) => [e.kind, e.pts - entries[0].pts, e.sent])
  assertEquals(pushed, [["new", 0, 1], ["edit", 1, 1], ["delete", 2, 1]])
  assertEquals(sandbox.control.log.since(0, "updates.GetChannelDifference").length, 0, "no gap: pushes sufficed")
  assertEquals(sandbox.logs.filter((l) => l.level !== "info"), [], "every push was expressible in layer 223")
})

sandboxTest("mtcute: stats.getBroadcastStats on the channel's stats DC (STATS_MIGRATE_4 on the main DC)", async () => {
  await using sandbox = await startMtcuteSandbox()
  const channel = sandbox.descriptor.channels[1]!
  const client = await loggedIn(sandbox, 1)
  try {
    const input = await client.resolveChannel(channel.username)
    const full = await client.call({ _: "channels.getFullChannel", channel: input })
    assert(full.fullChat._ === "channelFull" && full.fullChat.canViewStats, "the account may view the statistics")
    const statsDc = full.fullChat.statsDc!
    assertEquals(statsDc, 4)
    const request = { _: "stats.getBroadcastStats", channel: input, dark: false } as const
    const migrate = await rpcFailure(client.call(request))
    assert(migrate.is("STATS_MIGRATE_%d"), `STATS_MIGRATE expected: ${migrate.code} ${migrate.text}`)
    assertEquals([migrate.code, migrate.dc], [303, statsDc])

    const stats = await client.call(request, { dcId: migrate.dc })
    assertEquals(await client.getPrimaryDcId(), 2, "the main connection stays on DC 2")
    const values = await admin(sandbox, `/channels/${channel.id}/stats/values?account=1`)
    const value = (name: string) => values.find((v: { name: string }) => v.name === name)
    assertEquals(
      [stats.followers, stats.viewsPerPost, stats.sharesPerPost, stats.reactionsPerPost].map((v) => [
        v.current,
        v.previous,
      ]),
      ["followers", "views_per_post", "shares_per_post", "reactions_per_post"].map((n) => [
        value(n).current,
        value(n).previous,
      ]),
    )
    assertEquals([stats.enabledNotifications.part, stats.enabledNotifications.total], [
      value("enabled_notifications").part,
      value("enabled_notifications").total,
    ])
    const graph = stats.growthGraph
    assert(graph._ === "statsGraph", `growth graph served inline (${graph._})`)
    assertEquals(JSON.parse(graph.json.data).columns[0][0], "x", "graph JSON as Telegram sends it")
  } finally {
    await client.destroy()
  }
  const outcomes = (method: string) => sandbox.control.log.since(0, method).map((e) => [e.dcId, e.outcome])
  // mtcute sends on a new DC's key first and exports its authorization on the 401 that key gets, then sends again.
  assertEquals(outcomes("stats.GetBroadcastStats"), [[2, "STATS_MIGRATE_4"], [4, "AUTH_KEY_UNREGISTERED"], [4, "ok"]])
  assertEquals(outcomes("auth.ExportAuthorization"), [[2, "ok"]])
  assertEquals(outcomes("auth.ImportAuthorization"), [[4, "ok"]])
})
