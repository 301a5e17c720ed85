/** Live-updates test support: what a database committed and stored against the sandbox world's truth. */
import type { Sandbox } from "@tgpulse/sandbox"
import { admin } from "./sandbox.ts"

export type Query = <A extends object>(text: string) => Promise<ReadonlyArray<A>>

/** The pts tgpulse committed for a channel's updates stream (0 when none). */
export async function committedPts(query: Query, channelId: number): Promise<number> {
  const rows = await query<{ pts: string | null }>(
    `SELECT cursor ->> 'pts' AS pts FROM checkpoints WHERE channel_id = ${channelId} AND stream = 'updates'`,
  )
  return Number(rows[0]?.pts ?? 0)
}

interface Row {
  msg_id: number
  text: string
  views: number | null
  forwards: number | null
  reactions_total: number
  deleted: boolean
}

/**
 * The stored posts against the world's: the same live ids, texts (edits), deletions, and with `metrics` the same
 * views, forwards and reaction totals. Returns the differences (empty when equal).
 */
export async function differences(query: Query, sandbox: Sandbox, channelId: number, metrics: boolean) {
  const rows = await query<Row>(
    `SELECT msg_id, text, views, forwards, reactions_total, deleted_at IS NOT NULL AS deleted
     FROM posts WHERE channel_id = ${channelId}`,
  )
  const stored = new Map(rows.map((r) => [r.msg_id, r]))
  const truth = sandbox.world.truth(channelId)
  const ids = Array.from({ length: truth.maxId }, (_, i) => i + 1)
  const world = sandbox.world.posts(channelId, ids)
  const out: Array<string> = []
  for (const [i, post] of world.entries()) {
    const id = ids[i]!
    const row = stored.get(id)
    if (!post) {
      if (row && !row.deleted) out.push(`${id}: deleted in the world, live in the database`)
      continue
    }
    if (!row || row.deleted) {
      out.push(`${id}: ${row ? "marked deleted" : "missing"}`)
      continue
    }
    if (row.text !== post.text) {
      out.push(`${id}: text differs (stored ${JSON.stringify(row.text)}, world ${JSON.stringify(post.text)})`)
    }
    if (metrics) {
      const reactions = post.reactions.reduce((n, r) => n + r.count, 0)
      if (row.views !== post.views) out.push(`${id}: views ${row.views} != ${post.views}`)
      if (row.forwards !== post.forwards) out.push(`${id}: forwards ${row.forwards} != ${post.forwards}`)
      if (row.reactions_total !== reactions) out.push(`${id}: reactions ${row.reactions_total} != ${reactions}`)
    }
  }
  return out
}

export const activity = (sandbox: Sandbox, channelId: number, count: number, rate: number) =>
  admin(sandbox, `/channels/${channelId}/activity`, { body: { count, rate } })

export const activityDone = async (sandbox: Sandbox, channelIds: ReadonlyArray<number>) => {
  for (const id of channelIds) {
    const a = await admin(sandbox, `/channels/${id}/activity`)
    if (a.running || a.done < a.total) return false
  }
  return true
}
