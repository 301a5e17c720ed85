/**
 * The sandbox's HTTP JSON admin API: channels and posts, activity, statistics truth and switches, clock, flood budgets,
 * faults, connections, request log, pushed updates and their withholding. The routes live in one module per concern.
 */
import { Hono } from "hono"
import type { SandboxControl } from "../control/Control.ts"
import { Pushes } from "../session/Pushes.ts"
import { StatsSwitches } from "../stats/StatsSwitches.ts"
import { Activity } from "../world/Activity.ts"
import type { WorldApi } from "../world/Model.ts"
import { activityRoutes, pushRoutes } from "./ActivityRoutes.ts"
import type { AdminContext } from "./AdminContext.ts"
import { channelRoutes } from "./ChannelRoutes.ts"
import { commentRoutes } from "./CommentRoutes.ts"
import { dialogRoutes } from "./DialogRoutes.ts"
import { HttpError, json } from "./Http.ts"
import { operatorRoutes } from "./OperatorRoutes.ts"
import { Publisher } from "./Publisher.ts"
import { statsRoutes } from "./StatsRoutes.ts"

export interface AdminOptions {
  readonly world: WorldApi
  readonly control: SandboxControl
  /** The sandbox descriptor (served as is by `GET /descriptor`). */
  readonly descriptor: () => unknown
}

export interface AdminApp {
  readonly app: Hono
  /** Cancels the background publishing still pending. */
  close(): void
  /** The background changes `/channels/<id>/activity` starts. */
  readonly activity: Activity
}

const ROUTES: ReadonlyArray<string> = [
  "GET /descriptor",
  "GET /channels",
  "GET /channels/:id/truth",
  "GET /channels/:id/posts/:msgId",
  "POST /channels/:id/posts {count, rate?}",
  "GET /channels/:id/publishing",
  "POST /channels/:id/posts/:msgId/edit {text?}",
  "POST /channels/:id/delete {ids}",
  "POST /channels/:id/views {delta, ids?}",
  "POST /channels/:id/forwards {delta, ids?}",
  "POST /channels/:id/posts/:msgId/reactions {emoji, delta?}",
  "POST /channels/:id/activity {count, rate?, mix?}",
  "GET /channels/:id/activity",
  "DELETE /channels/:id/activity",
  "GET /channels/:id/stats/daily?account=",
  "GET /channels/:id/stats/hourly?account=",
  "GET /channels/:id/stats/values?account=",
  "PUT /channels/:id/stats/graphs/:graph {malformed}",
  "PUT /channels/:id/stats/dc {advertise}",
  "GET /channels/:id/posts/:msgId/forwards",
  "GET /channels/:id/comments/truth",
  "GET /channels/:id/posts/:msgId/comments",
  "POST /channels/:id/posts/:msgId/comments {count?, text?, fromUserId?}",
  "GET /accounts/:userId/dialogs",
  "POST /accounts/:userId/join {channelIds}",
  "GET /stats",
  "POST /stats/expire-next {count}",
  "GET /clock",
  "POST /clock {advance}",
  "GET /flood",
  "PUT /flood {method, userId?, rate, burst, maxWaitS?, premium?}",
  "DELETE /flood",
  "GET /faults",
  "POST /faults {_tag, ...}",
  "DELETE /faults",
  "POST /connections/drop {userId?, dcId?}",
  "GET /log?since=&method=&limit=",
  "DELETE /log",
  "GET /pushes?since=&channelId=&limit=",
  "GET /pushes/withhold",
  "POST /pushes/withhold {count?, channelId?, kinds?, all?}",
  "DELETE /pushes/withhold?channelId=",
]

/** Builds the admin app; the caller serves `app.fetch` (on loopback) and calls `close` when stopping. */
export function makeAdminApp(options: AdminOptions): AdminApp {
  const { world, control } = options
  const ctx: AdminContext = {
    world,
    control,
    stats: control.stats ?? new StatsSwitches(),
    pushes: control.pushes ?? new Pushes({ world, targets: [], nowMs: Date.now }),
    activity: new Activity(world),
    publisher: new Publisher(world),
    descriptor: options.descriptor,
  }
  const app = new Hono()
  const close = () => {
    ctx.publisher.close()
    ctx.activity.close()
  }

  app.onError((error) =>
    error instanceof HttpError
      ? json({ error: error.message }, error.status)
      : json({ error: `Internal error: ${error instanceof Error ? error.message : String(error)}` }, 500)
  )
  app.notFound((c) => json({ error: `No route ${c.req.method} ${c.req.path}` }, 404))

  app.get("/", () => json({ ok: true, routes: ROUTES }))
  channelRoutes(app, ctx)
  commentRoutes(app, ctx)
  dialogRoutes(app, ctx)
  activityRoutes(app, ctx)
  statsRoutes(app, ctx)
  operatorRoutes(app, ctx)
  pushRoutes(app, ctx)

  return { app, close, activity: ctx.activity }
}
