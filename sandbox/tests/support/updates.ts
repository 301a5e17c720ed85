/** Test support for pushed updates with the real GramJS client: collecting them, channel difference, the pts rule. */
import bigInt from "big-integer"
import { Api, type TelegramClient } from "telegram"
import { Raw } from "telegram/events/index.js"
import type { Sandbox } from "../../Sandbox.ts"
import { assertEquals } from "./assert.ts"
import { unlessHung } from "./sandbox.ts"

export type Channel = Sandbox["descriptor"]["channels"][number]

export const num = (v: unknown) => Number(String(v))

/** Connects and learns the account's own user (GramJS fetches it before it dispatches the first update). */
export async function connected(client: TelegramClient): Promise<void> {
  await client.connect()
  await client.getMe()
}

/**
 * A Raw event builder resolved up front: GramJS resolves a builder on the first update it dispatches to it, and would
 * hand the next updates out ahead of that one.
 */
export async function rawBuilder(client: TelegramClient): Promise<Raw> {
  const builder = new Raw({})
  await builder.resolve(client)
  return builder
}

/** Every raw update a client receives from now on, in order (connection state changes left out). */
export interface Seen extends Array<any> {
  /** Resolves once `check` holds: at once, or on the update that makes it hold. */
  until(what: string, check: () => boolean): Promise<void>
}

/** Starts collecting the updates the client receives. */
export async function collect(client: TelegramClient): Promise<Seen> {
  const seen: Array<any> = []
  const waiters = new Set<() => void>()
  client.addEventHandler((update: any) => {
    if (typeof update?.className !== "string") return
    seen.push(update)
    for (const wake of [...waiters]) wake()
  }, await rawBuilder(client))
  const until = (what: string, check: () => boolean): Promise<void> => {
    if (check()) return Promise.resolve()
    let wake = () => {}
    const done = new Promise<void>((resolve) => {
      wake = () => {
        if (check()) resolve()
      }
    })
    waiters.add(wake)
    return unlessHung(what, done).finally(() => waiters.delete(wake))
  }
  return Object.assign(seen, { until })
}

export const inputChannel = (c: Channel) =>
  new Api.InputChannel({ channelId: bigInt(c.id), accessHash: bigInt(c.accessHash) })

export const channelDifference = (client: TelegramClient, c: Channel, pts: number, limit = 100): Promise<any> =>
  client.invoke(
    new Api.updates.GetChannelDifference({
      channel: inputChannel(c),
      filter: new Api.ChannelMessagesFilterEmpty(),
      pts,
      limit,
    }),
  )

/** A pts-bearing update as [className, pts, ptsCount, ids]. */
export function ptsOf(u: any): [string, number, number, Array<number>] {
  const ids = u.className === "UpdateDeleteChannelMessages" ? u.messages.map(num) : [num(u.message.id)]
  return [u.className, u.pts, u.ptsCount, ids]
}

/** A post `n` places below the newest, as an id (the world answers cheaply). */
export const recent = (sandbox: Sandbox, c: Channel, n: number) => sandbox.world.nthNewest(c.id, n)!

/** Checks the pts rule over a channel's pts updates: each applies exactly on top of the one before. */
export function assertContiguous(from: number, updates: ReadonlyArray<{ pts: number; ptsCount: number }>): number {
  let local = from
  for (const u of updates) {
    assertEquals(local + u.ptsCount, u.pts, `pts rule at pts ${u.pts}`)
    local = u.pts
  }
  return local
}
