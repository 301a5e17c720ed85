/** Test support for the sandbox world: the ids a walk of a channel must return, and waiting for new posts. */
import type { WorldApi } from "../../world/Model.ts"

/** The ids that exist in a channel now, newest first, from its ground truth. */
export function existingIds(world: WorldApi, channelId: number): Array<number> {
  const truth = world.truth(channelId)
  const deleted = new Set(truth.deletedIds)
  const out: Array<number> = []
  for (let id = truth.maxId; id >= 1; id--) if (!deleted.has(id)) out.push(id)
  return out
}

/** Resolves with the ids of the next `n` posts the world publishes (in any channel), in the order they come. */
export function nextPosts(world: WorldApi, n: number): Promise<Array<number>> {
  const ids: Array<number> = []
  return new Promise((resolve) => {
    const unsubscribe = world.subscribe((event) => {
      if (event._tag !== "NewPost") return
      ids.push(event.post.id)
      if (ids.length < n) return
      unsubscribe()
      resolve(ids)
    })
  })
}
