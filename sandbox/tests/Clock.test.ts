/**
 * One clock (issue 19): what the sandbox says (msg_ids, updates.getState, pushed updates, new posts, help.getConfig)
 * is dated by the wall clock plus the admin's moves, the history lies behind the start, and the truth (views,
 * statistics) stands still between moves. Dates are checked against the test's own Date.now() readings taken before
 * and after: a bound on dates, never on elapsed time.
 */
import bigInt from "big-integer"
import { Api } from "telegram"
import type { RawClient, ServerMessage } from "../session/RawClient.ts"
import { SERVICE as ID } from "../session/Service.ts"
import { Reader } from "../transport/Bytes.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { admin, gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"
import { answerTo, badMsgCode, connected, decode, ping, refersTo, rpcResult } from "./support/session.ts"

const DAY = 86_400
const seconds = () => Math.floor(Date.now() / 1000)

/** A request's answer and the second its server msg_id names. */
async function request(client: RawClient, body: { getBytes(): Uint8Array }): Promise<{ result: any; at: number }> {
  const m = await client.next(answerTo(client.send(body.getBytes())))
  return { result: decode(rpcResult(m).result), at: Number(m.msgId >> 32n) }
}

/** Learns the current salt from bad_server_salt, if the server answers one. */
async function learnSalt(client: RawClient): Promise<void> {
  const probe = client.send(ping(99n))
  const m = await client.next((m) => refersTo(m) === probe)
  // bad_server_salt#edab447b bad_msg_id:long bad_msg_seqno:int error_code:int new_server_salt:long
  if (m.ctor === ID.badServerSalt) client.salt = new Reader(m.body.subarray(20)).int64()
}

/** What the sandbox says at one moment: its state, config, a pushed update and the post it carries. */
async function said(sandbox: Awaited<ReturnType<typeof startSandbox>>, client: RawClient) {
  const channel = sandbox.descriptor.channels[0]!
  const state = await request(client, new Api.updates.GetState())
  const config = await request(client, new Api.help.GetConfig())
  await admin(sandbox, `/channels/${channel.id}/posts`, { body: { count: 1 } })
  const pushed: ServerMessage = await client.next((m) => m.ctor === Api.Updates.CONSTRUCTOR_ID)
  const updates = decode(pushed.body)
  return {
    msgIds: [state.at, config.at, Number(pushed.msgId >> 32n)],
    dates: [state.result.date, config.result.date, updates.date, updates.updates[0].message.date],
    expires: config.result.expires - config.result.date,
  }
}

sandboxTest(
  "Clock: msg_ids, updates.getState, a pushed update, a new post and help.getConfig say the wall clock; the history " +
    "lies behind it; an admin move shifts them all forward",
  async () => {
    // The wall clock as the sandbox reads it: the real one, run on by `skewMs` when the test says so.
    let skewMs = 0
    const started = seconds()
    await using sandbox = await startSandbox({ channels: 2, posts: 500, clock: () => Date.now() + skewMs })
    const channel = sandbox.descriptor.channels[0]!
    const { start } = sandbox.world
    assert(started <= start && start <= seconds(), `the world starts now: ${start}`)
    const client = await connected(sandbox)
    const gram = gramClient(sandbox, { account: 0 })
    /** Everything said is dated within the test's readings of the wall clock (plus `ahead`) around the saying. */
    const saysNow = async (ahead: number, also: () => Promise<ReadonlyArray<number>> = () => Promise.resolve([])) => {
      const before = seconds() + ahead
      const now = await said(sandbox, client)
      const more = await also()
      const after = seconds() + ahead
      for (const t of [...now.msgIds, ...now.dates, ...more]) {
        assert(before <= t && t <= after, `${t} in [${before}, ${after}]`)
      }
      assertEquals(now.expires, 3600)
    }
    try {
      await saysNow(0)

      // The history: right behind the start (the newest a day before it), not months back.
      const history = await request(
        client,
        new Api.messages.GetHistory({
          peer: new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) }),
          offsetId: 0,
          offsetDate: 0,
          addOffset: 1,
          limit: 100,
          maxId: 0,
          minId: 0,
          hash: bigInt.zero,
        }),
      )
      const dates: Array<number> = history.result.messages.map((m: { date: number }) => m.date)
      assertEquals(dates.length, 100)
      assert(dates.every((d) => d < start), "history behind the start")
      assert(Math.max(...dates) > start - 2 * DAY, `history ends near the start: ${Math.max(...dates)}`)

      // Three hours of wall clock later, nobody having moved time: what the sandbox says follows the wall clock.
      skewMs = 3 * 3600 * 1000
      await learnSalt(client)
      client.clockOffsetMs = skewMs
      await saysNow(3 * 3600)
      assertEquals((await admin(sandbox, "/clock")).asOf, start, "the truth's instant stands")

      await gram.connect()
      await admin(sandbox, "/clock", { body: { advance: 2 * DAY } })
      // The hourly salt moved with the clock (bad_server_salt names the new one), and the client's msg_ids are now two
      // days behind the server's: too old (16), as for a client whose clock is wrong; it corrects its clock by the
      // server's msg_ids, as GramJS does (the GramJS client below does it by itself).
      await learnSalt(client)
      assertEquals(await badMsgCode(client, client.send(ping(7n))), 16)
      client.clockOffsetMs = skewMs + 2 * DAY * 1000
      await saysNow(3 * 3600 + 2 * DAY, async () => [(await gram.invoke(new Api.updates.GetState())).date])
      const ahead = 3 * 3600 + 2 * DAY
      const [before, clock, after] = [seconds() + ahead, await admin(sandbox, "/clock"), seconds() + ahead]
      assert(before <= clock.now && clock.now <= after, `now ${clock.now}`)
      assertEquals(clock, { now: clock.now, asOf: start + 2 * DAY, start, moved: 2 * DAY })
    } finally {
      await gram.destroy()
      await client.close()
    }
  },
)

sandboxTest(
  "Clock: the truth (views, forwards, statistics) stands still while only the wall clock runs, and moves with a move",
  async () => {
    let wallMs = Date.now()
    await using sandbox = await startSandbox({ channels: 1, posts: 300, clock: () => wallMs })
    const id = sandbox.descriptor.channels[0]!.id
    const truth = () =>
      Promise.all([
        admin(sandbox, `/channels/${id}/truth`),
        admin(sandbox, `/channels/${id}/stats/daily`),
        admin(sandbox, `/channels/${id}/stats/values`),
      ])
    const t0 = await truth()
    const lastDay = (daily: ReadonlyArray<{ day: string }>) => daily.map((r) => r.day).sort().at(-1)
    const day = (n: number) => new Date(n * DAY * 1000).toISOString().slice(0, 10)
    // Graphs end today: at the last complete UTC day of the wall clock.
    const today = Math.floor(wallMs / 1000 / DAY)
    assertEquals(lastDay(t0[1]), day(today - 1))
    wallMs += 3 * DAY * 1000
    assertEquals((await admin(sandbox, "/clock")).now, Math.floor(wallMs / 1000))
    assertEquals(await truth(), t0, "three days of wall clock change nothing of the truth")
    await admin(sandbox, "/clock", { body: { advance: DAY } })
    const [views, daily] = await truth()
    assert(views.views > t0[0].views, "views grew with the move")
    assertEquals(lastDay(daily), day(today), "a day more")
  },
)
