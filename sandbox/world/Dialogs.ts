/** An account's dialogs (the channels it belongs to) and how messages.getDialogs pages them, as Telegram does. */
import type { ChannelInfo, Post, WorldApi } from "./Model.ts"

/** Most dialogs one getDialogs answers (Telegram's cap). */
export const DIALOGS_LIMIT = 100

/** One dialog: a channel the account belongs to and its newest post (undefined for a channel without posts). */
export interface DialogEntry {
  readonly info: ChannelInfo
  readonly top: Post | undefined
  /** The top message's date, or the channel's creation when it has no posts: what dialogs are ordered by. */
  readonly date: number
}

/** What getDialogs pages by: the last dialog of the previous page (its top message's date and id, its peer). */
export interface DialogsQuery {
  readonly offsetDate: number
  readonly offsetId: number
  /** The bare channel id of offset_peer, 0 for inputPeerEmpty (or any peer that is not a channel). */
  readonly offsetPeerId: number
  readonly limit: number
}

/** Every dialog of `userId`, newest top message first (ties: the higher channel id first). */
export function dialogsOf(world: WorldApi, userId: number): ReadonlyArray<DialogEntry> {
  return world.channelsOf(userId).map((info) => {
    const newest = world.nthNewest(info.id, 0)
    const top = newest === undefined ? undefined : world.posts(info.id, [newest])[0]
    return { info, top, date: top?.date ?? info.createdAt }
  }).sort((a, b) => b.date - a.date || b.info.id - a.info.id)
}

/**
 * The page of `all` after the query's offset, as Telegram pages dialogs: no offset (date 0) starts at the newest; else
 * the dialogs older than (offset_date, offset_peer), or, without a peer, than (offset_date, offset_id).
 */
export function dialogsPage(all: ReadonlyArray<DialogEntry>, q: DialogsQuery): ReadonlyArray<DialogEntry> {
  const limit = Math.min(DIALOGS_LIMIT, Math.max(0, q.limit))
  const after = q.offsetDate <= 0 ? all : all.filter((d) =>
    d.date < q.offsetDate ||
    (d.date === q.offsetDate &&
      (q.offsetPeerId > 0 ? d.info.id < q.offsetPeerId : (d.top?.id ?? 0) < q.offsetId))
  )
  return after.slice(0, limit)
}
