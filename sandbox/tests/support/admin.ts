/** Test support for the admin API: an admin app over a small world, called through `app.request` (no socket). */
import { type AdminApp, makeAdminApp } from "../../admin/Admin.ts"
import { methodName } from "../../tl/MethodNames.ts"
import type { SandboxControl } from "../../control/Control.ts"
import { Faults } from "../../control/Faults.ts"
import { Flood } from "../../control/Flood.ts"
import type { ChannelInfo, Post, WorldApi } from "../../world/Model.ts"
import { MemoryRequestLog } from "../../control/RequestLog.ts"
import { World } from "../../world/World.ts"
import { assertEquals } from "./assert.ts"

export interface Harness {
  readonly world: WorldApi
  readonly admin: AdminApp
  readonly control: SandboxControl & { readonly flood: Flood; readonly faults: Faults; readonly log: MemoryRequestLog }
  readonly drops: Array<{ readonly userId?: number; readonly dcId?: number }>
  readonly channel: ChannelInfo
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>
}

export const DESCRIPTOR = { mainDc: 2, admin: "http://127.0.0.1:1" }

/** An admin app over a small world whose wall clock is `clock` (ms). */
export function harness(clock: () => number = Date.now): Harness {
  const world: WorldApi = World.create({ seed: 7, channels: 2, posts: 40, clock })
  const drops: Array<{ readonly userId?: number; readonly dcId?: number }> = []
  const control = {
    flood: new Flood(() => 0, methodName),
    faults: new Faults(methodName),
    log: new MemoryRequestLog(100),
    dropConnections: (filter: { readonly userId?: number; readonly dcId?: number }) => {
      drops.push(filter)
      return 3
    },
    sessions: () => ({
      authKeyDuplicated: 1,
      authKeyDuplicatedRefused: 0,
      refuseDuplicateKeys: false,
      connections: { "1000001": 2 },
    }),
  }
  const admin = makeAdminApp({ world, control, descriptor: () => DESCRIPTOR })
  return {
    world,
    admin,
    control,
    drops,
    channel: world.channels.find((c) => !c.isPrivate) ?? world.channels[0]!,
    async call(method, path, body) {
      const init: RequestInit = { method }
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body)
        init.headers = { "content-type": "application/json" }
      }
      const res = await admin.app.request(path, init)
      assertEquals(res.headers.get("content-type")?.startsWith("application/json"), true, `${method} ${path}`)
      return { status: res.status, json: await res.json() }
    },
  }
}

/** Ids of `n` posts that exist now, oldest first. */
export function existingIds(world: WorldApi, channelId: number, n: number): Array<number> {
  const truth = world.truth(channelId)
  const all = Array.from({ length: truth.maxId }, (_, i) => i + 1)
  const posts = world.posts(channelId, all)
  return posts.filter((p): p is Post => p !== undefined).slice(0, n).map((p) => p.id)
}

/** The world with some members replaced (methods of the real world stay bound to it). */
export function patched(world: WorldApi, overrides: Partial<WorldApi>): WorldApi {
  return new Proxy(world, {
    get: (target, key) => {
      if (key in overrides) return overrides[key as keyof WorldApi]
      const value: unknown = Reflect.get(target, key)
      return typeof value === "function" ? value.bind(target) : value
    },
  })
}
