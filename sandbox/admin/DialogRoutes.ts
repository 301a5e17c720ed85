/** Admin routes of an account's dialogs: what getDialogs answers it (the truth), and joining channels. */
import type { Hono } from "hono"
import { dialogsOf } from "../world/Dialogs.ts"
import type { Account, WorldApi } from "../world/Model.ts"
import type { AdminContext } from "./AdminContext.ts"
import { findChannel, ids, required } from "./Fields.ts"
import { HttpError, json, onlyFields, readBody } from "./Http.ts"

function findAccount(world: WorldApi, raw: string): Account {
  const account = /^\d+$/.test(raw) ? world.account(Number(raw)) : undefined
  if (!account) throw new HttpError(404, `Unknown account "${raw}"`)
  return account
}

export function dialogRoutes(app: Hono, ctx: AdminContext): void {
  const { world } = ctx

  // The account's dialogs in getDialogs's order (newest top message first).
  app.get("/accounts/:userId/dialogs", (c) => {
    const account = findAccount(world, c.req.param("userId"))
    return json({
      dialogs: dialogsOf(world, account.userId).map((d) => ({
        id: d.info.id,
        title: d.info.title,
        kind: d.info.kind,
        isPrivate: d.info.isPrivate,
        topMessage: d.top?.id ?? 0,
        date: d.date,
      })),
    })
  })

  // Makes the account a member of channels (as joining them would): more dialogs, for pagination.
  app.post("/accounts/:userId/join", async (c) => {
    const account = findAccount(world, c.req.param("userId"))
    const body = await readBody(c.req.raw, false)
    onlyFields(body, ["channelIds"])
    const channels = required(body, "channelIds", ids).map((id) => findChannel(world, String(id)))
    const joined = channels.filter((info) => world.join(info.id, account.userId)).map((info) => info.id)
    return json({ joined })
  })
}
