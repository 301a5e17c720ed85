/**
 * Every channel an account can see, end to end against the sandbox: channels named by id only (nothing cached), the
 * private channel, invite links (member, not a member, joined with the flag), `all`, and the dialog walk's flood care
 * (the same page asked again after a FLOOD_WAIT; a walk cut off resumes from its stored offset in the next run).
 */
import { Effect, Exit, Layer, ManagedRuntime, References, Scope } from "effect"
import { SqlClient } from "effect/sql"
import type { Sandbox } from "@tgpulse/sandbox"
import { CollectorsLive } from "../../src/App.ts"
import { AppConfig, channelsFor } from "../../src/Config.ts"
import { DialogPageSize, Dialogs } from "../../src/collect/Dialogs.ts"
import { type ChannelProgress, HistorySync } from "../../src/collect/HistorySync.ts"
import { ALL_PEERS, parsePeerRef, type PeerRef } from "../../src/domain/Refs.ts"
import { assert, assertEquals } from "../support/assert.ts"
import { type BackendName, BACKENDS, databaseEnv, descriptorFile, UNLIMITED } from "../support/collect.ts"
import { admin, sandboxTest, startSandbox } from "../support/sandbox.ts"

type Channel = Sandbox["descriptor"]["channels"][number]

/** A sandbox and a database; `open` starts a run of tgpulse on them (a new process, as far as tgpulse knows). */
async function world(backend: BackendName, options: { readonly channels: number; readonly posts: number }) {
  const sandbox = await startSandbox(options)
  const scope = Effect.runSync(Scope.make())
  const env = await Effect.runPromise(
    Effect.gen(function* () {
      const database: Record<string, string> = yield* databaseEnv(backend)
      return { ...database, ...UNLIMITED, TG_SANDBOX_FILE: yield* descriptorFile(sandbox) }
    }).pipe(Scope.provide(scope)),
  )
  const open = (extra: Record<string, string> = {}, pageSize = 100) => {
    const runtime = ManagedRuntime.make(
      CollectorsLive.pipe(
        Layer.provide(AppConfig.layerFrom({ ...env, ...extra })),
        Layer.provide(Layer.succeed(DialogPageSize)(pageSize)),
        Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error")),
      ),
    )
    return {
      /** As sync-history: `all` becomes the dialogs' channels (failing as a whole when they cannot be read). */
      sync: (refs: ReadonlyArray<string | PeerRef>, joinInvites = false) =>
        runtime.runPromise(
          Effect.gen(function* () {
            const named = yield* Dialogs.use((d) =>
              d.expand(refs.map((r) => (typeof r === "string" ? parsePeerRef(r)! : r)))
            )
            return yield* HistorySync.use((s) => s.syncAll(named, { limitPerRun: 0, concurrency: 2, joinInvites }))
          }),
        ),
      query: <A extends object>(text: string) =>
        runtime.runPromise(SqlClient.SqlClient.use((sql) => sql.unsafe<A>(text))),
      /** What `all` names for load-stats (poll-updates and serve: `expand` without adminOnly, as sync-history). */
      statsPeers: () => runtime.runPromise(Dialogs.use((d) => d.expand([ALL_PEERS], { adminOnly: true }))),
      [Symbol.asyncDispose]: () => runtime.dispose(),
    }
  }
  const d = sandbox.descriptor
  const account = d.accounts[0]!
  const [inviteOnly, members] = d.channels.filter((c) => c.private) as [Channel, Channel]
  return {
    sandbox,
    open,
    account,
    inviteOnly,
    members,
    /** The channel ids of the first account's dialogs, as the sandbox has them now. */
    dialogIds: async () =>
      ((await admin(sandbox, `/accounts/${account.userId}/dialogs`)).dialogs as Array<{ id: number }>).map((x) => x.id),
    /** getDialogs requests the sandbox answered (or refused) since the start. */
    dialogRequests: () =>
      sandbox.control.log.since(0, "messages.GetDialogs").map((e) => ({ params: e.params, outcome: e.outcome })),
    posts: (channelId: number) => sandbox.world.postCount(channelId),
    async [Symbol.asyncDispose]() {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await sandbox.stop()
    },
  }
}

const stored = async (run: { query: <A extends object>(t: string) => Promise<ReadonlyArray<A>> }, id: number) =>
  Number((await run.query<{ n: string }>(`SELECT count(*) AS n FROM posts WHERE channel_id = ${id}`))[0]!.n)

const statuses = (results: ReadonlyArray<ChannelProgress>) => results.map((r) => [r.channel, r.status, r.error])

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    sandboxTest(`Dialogs (${backend.name}): ${name}`, fn, { ignore: backend.ignore })

  test("channels named by id only (bare and -100), nothing cached, and the private channel", async () => {
    await using w = await world(backend.name, { channels: 3, posts: 120 })
    const [a, b] = w.sandbox.descriptor.channels as [Channel, Channel]
    await using run = w.open()
    const results = await run.sync([String(a.id), `-100${b.id}`, String(w.members.id), String(w.inviteOnly.id)])
    // Named by username once resolved (the private one has none: by id).
    assertEquals(statuses(results).slice(0, 3), [
      [`@${a.username}`, "ok", undefined],
      [`@${b.username}`, "ok", undefined],
      [String(w.members.id), "ok", undefined],
    ])
    // Not in any account's dialogs: a clear line that says what to do.
    assertEquals(results[3]!.status, "failed")
    assert(results[3]!.error!.includes(`Channel ${w.inviteOnly.id} is in no account's dialogs`), results[3]!.error!)
    for (const c of [a, b, w.members]) assertEquals(await stored(run, c.id), w.posts(c.id))
    assertEquals(await stored(run, w.inviteOnly.id), 0)
    // One walk of the dialogs for the whole run, and its rows.
    assertEquals(w.dialogRequests().length, 1)
    const rows = await run.query<{ channel_id: string }>("SELECT channel_id FROM dialogs ORDER BY channel_id")
    assertEquals(rows.map((r) => Number(r.channel_id)), [...await w.dialogIds()].sort((x, y) => x - y))
  })

  test("a private channel in a pool runs only on the accounts whose dialogs have it", async () => {
    await using w = await world(backend.name, { channels: 1, posts: 20 })
    // Six pages of history: a pool of three would spread them over its accounts.
    await admin(w.sandbox, `/channels/${w.members.id}/posts`, { body: { count: 500 } })
    await using run = w.open({ MTPROTO_POOL_ENABLED: "true" })
    const [r] = await run.sync([String(w.members.id)])
    assertEquals([r!.status, r!.error], ["ok", undefined])
    assertEquals(await stored(run, w.members.id), w.posts(w.members.id))
    const callers = w.sandbox.control.log.since(0, "messages.GetHistory").map((e) => e.userId)
    assert(callers.length >= 6, `${callers.length} pages`)
    assertEquals([...new Set(callers)], [w.account.userId])
  })

  test("invite links: a member's is synced; not a member: refused without the flag, joined with it", async () => {
    await using w = await world(backend.name, { channels: 1, posts: 50 })
    await using run = w.open()
    const [member, stranger] = [w.members.inviteLink!, w.inviteOnly.inviteLink!.replace("https://", "")]
    const first = await run.sync([member, stranger])
    assertEquals(first.map((r) => r.status), ["ok", "failed"])
    assertEquals(first[0]!.channelId, w.members.id)
    assertEquals(await stored(run, w.members.id), w.posts(w.members.id))
    const refused = first[1]!.error!
    assert(refused.includes('No account is a member of "Sandbox Private"'), refused)
    assert(refused.includes("MTPROTO_JOIN_INVITES=true") && refused.includes("--join-invites"), refused)
    assert(!refused.includes(w.inviteOnly.inviteLink!.slice(-8)), "the invite link is not written whole")
    // Nothing written for it, and no account joined.
    assertEquals(await stored(run, w.inviteOnly.id), 0)
    assertEquals((await run.query(`SELECT 1 FROM channels WHERE id = ${w.inviteOnly.id}`)).length, 0)
    assert(!(await w.dialogIds()).includes(w.inviteOnly.id), "not joined")

    const joined = await run.sync([`t.me/joinchat/${w.inviteOnly.inviteLink!.split("+")[1]}`], true)
    assertEquals(statuses(joined), [[String(w.inviteOnly.id), "ok", undefined]])
    assert((await w.dialogIds()).includes(w.inviteOnly.id), "joined")
    assertEquals(await stored(run, w.inviteOnly.id), w.posts(w.inviteOnly.id))
    assertEquals(w.sandbox.control.log.since(0, "messages.ImportChatInvite").length, 1)
  })

  test("all, and no channels named, sync exactly the channels of the dialogs", async () => {
    await using w = await world(backend.name, { channels: 3, posts: 40 })
    // Another account's channel that the first account joins: all follows the dialogs, not the world.
    await admin(w.sandbox, `/accounts/${w.account.userId}/join`, { body: { channelIds: [w.inviteOnly.id] } })
    const expected = [...await w.dialogIds()].sort((x, y) => x - y)
    assertEquals(expected.length, 5)
    const config = await Effect.runPromise(AppConfig.pipe(Effect.provide(AppConfig.layerFrom({ ...UNLIMITED }))))
    assertEquals(await Effect.runPromise(channelsFor(config, "sync-history")), [ALL_PEERS])
    await using run = w.open({ MTPROTO_PEERS: "all" })
    const results = await run.sync(["all"])
    assertEquals(results.map((r) => r.channelId).sort((x, y) => x! - y!), expected)
    assert(results.every((r) => r.status === "ok"), JSON.stringify(statuses(results)))
    const rows = await run.query<{ channel_id: string; n: string }>(
      "SELECT channel_id, count(*) AS n FROM posts GROUP BY channel_id ORDER BY channel_id",
    )
    assertEquals(rows.map((r) => [Number(r.channel_id), Number(r.n)]), expected.map((id) => [id, w.posts(id)]))
    // load-stats: those of them the account administers (channel 1 of every 4 and the private ones it is not admin of).
    const administered = w.sandbox.world.channels.filter((c) => c.adminUserIds.includes(w.account.userId))
    assertEquals(administered.length, 2)
    assertEquals(
      (await run.statsPeers()).map((r) => (r._tag === "Id" ? r.id : -1)).sort((x, y) => x - y),
      administered.map((c) => c.id),
    )
  })

  test("dialog pages: a FLOOD_WAIT in the middle asks the same page again; a walk cut off resumes", async () => {
    await using w = await world(backend.name, { channels: 4, posts: 20 })
    const expected = [...await w.dialogIds()].sort((x, y) => x - y)
    assertEquals(expected.length, 5) // pages of 2: 2, 2, 1
    // Two pages back to back, then one a second: the second page waits once and is asked again.
    w.sandbox.control.flood.set({ method: "messages.GetDialogs", rate: 1, burst: 1 })
    {
      await using run = w.open({}, 2)
      const results = await run.sync(["all"])
      assertEquals(results.map((r) => r.channelId).sort((x, y) => x! - y!), expected)
    }
    const log = w.dialogRequests()
    const flooded = log.flatMap((e, i) => (e.outcome.startsWith("FLOOD_WAIT_") ? [i] : []))
    assert(flooded.length > 0 && flooded[0]! > 0, JSON.stringify(log))
    for (const i of flooded) {
      assertEquals(log[i + 1]!.params, log[i]!.params, "the same page asked again")
    }
    const pages = log.filter((e) => e.outcome === "ok").map((e) => JSON.stringify(e.params))
    assertEquals(pages.length, 3)
    assertEquals(new Set(pages).size, 3, "every page once: nothing restarted from the first")

    // A walk cut off after its first page (a wait longer than MTPROTO_MAX_FLOOD_WAIT_S) resumes in the next run.
    w.sandbox.control.log.clear()
    w.sandbox.control.flood.set({ method: "messages.GetDialogs", rate: 0.001, burst: 1 })
    {
      await using run = w.open({ MTPROTO_MAX_FLOOD_WAIT_S: "5" }, 2)
      const cut = await run.sync(["all"]).then(() => "synced", (e) => String(e))
      assert(cut.includes("longer than MTPROTO_MAX_FLOOD_WAIT_S (5 s)"), cut)
      const walk = await run.query<{ pages: number; finished: boolean }>(
        "SELECT pages, finished_at IS NOT NULL AS finished FROM dialog_walks",
      )
      assertEquals(walk.map((r) => [Number(r.pages), r.finished]), [[1, false]])
    }
    const before = w.dialogRequests()
    assertEquals(before.map((e) => e.outcome.startsWith("FLOOD_WAIT_") ? "flood" : e.outcome), ["ok", "flood"])
    w.sandbox.control.flood.clear()
    {
      await using run = w.open({}, 2)
      const results = await run.sync(["all"])
      assertEquals(results.map((r) => r.channelId).sort((x, y) => x! - y!), expected)
    }
    const after = w.dialogRequests().slice(before.length)
    // The next run starts where the cut one stopped (the page it could not get), never from the first page again.
    assertEquals(after.map((e) => e.outcome), ["ok", "ok"])
    assertEquals(after[0]!.params, before[1]!.params)
    assert(after.every((e) => e.params.offsetDate !== 0), JSON.stringify(after))
  })
}
