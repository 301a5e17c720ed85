/**
 * Where comments live: which broadcast channels have a discussion group, the group's id, how many comments each post
 * was generated with, and the slots of the group's generated messages (cheap enough to count on every post built).
 *
 * A group's generated messages sit in blocks of COMMENT_SLOTS ids, one block per generated post of its channel: post p
 * owns ids (p - 1) * COMMENT_SLOTS + 1 ... p * COMMENT_SLOTS; the first is its discussion message, the next ones its
 * comments, the rest of the block are ids that never existed. Later messages (comments added through the admin API,
 * discussion messages of posts published since the start) take ids above every block.
 */
import type { ChannelState } from "./ChannelState.ts"
import { hash, S_COMMENTS } from "./Hash.ts"

/** Ids per post in a discussion group: the discussion message and up to COMMENT_SLOTS - 1 generated comments. */
export const COMMENT_SLOTS = 16
/** A discussion group's id is its channel's id plus this. */
export const GROUP_ID_OFFSET = 1_000_000

/** Public broadcast channels 0 and 1 of every 4 have a discussion group (channel 3 of 4 is a megagroup). */
export function hasDiscussionGroup(index: number, isPrivate: boolean): boolean {
  return !isPrivate && index % 4 < 2
}

export function groupIdOf(channelId: number): number {
  return channelId + GROUP_ID_OFFSET
}

/** Comments post `id` was generated with (posts published since the start have none): mostly 0-3, a few up to 15. */
export function baseComments(s: ChannelState, id: number): number {
  if (id > s.baseMaxId || s.info.discussionGroupId === undefined) return 0
  const h = hash(s.key, S_COMMENTS, id)
  const roll = h % 100
  if (roll < 50) return 0
  if (roll < 92) return 1 + ((h >>> 8) % 3)
  return 4 + ((h >>> 8) % (COMMENT_SLOTS - 4))
}

/** The group id of generated post `id`'s discussion message. */
export function discussionSlot(id: number): number {
  return (id - 1) * COMMENT_SLOTS + 1
}

/** The highest comment id of post `id`, or undefined when it has no comments. */
export function lastCommentId(s: ChannelState, id: number): number | undefined {
  const added = s.addedComments.size > 0 ? s.addedComments.get(id) : undefined
  if (added !== undefined && added.length > 0) return added[added.length - 1]
  const n = baseComments(s, id)
  return n === 0 ? undefined : discussionSlot(id) + n
}
