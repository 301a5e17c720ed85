/**
 * Pure: channel updates and channel differences as GramJS decodes them become plain data (domain/Updates.ts). Read by
 * TL class name; no GramJS import, no I/O. Updates of other kinds give undefined.
 */
import type { ChannelDifference, LiveEvent, MetricEvent, PtsEvent } from "../domain/Updates.ts"
import type { Post } from "../domain/Post.ts"
import { normalizeMessage, reactionsOf } from "./Normalize.ts"

type Tl = any

const id = (value: Tl): number => Number(String(value ?? 0))

function channelOfPeer(peer: Tl): number | undefined {
  return peer?.className === "PeerChannel" ? id(peer.channelId) : undefined
}

/** A pts-moving message update: the post when it is one tgpulse stores, else only its pts. */
function messageUpdate(tag: "NewPost" | "EditPost", update: Tl): PtsEvent | undefined {
  const channelId = channelOfPeer(update.message?.peerId)
  if (channelId === undefined) return undefined
  const pts = id(update.pts)
  const ptsCount = id(update.ptsCount)
  const post = normalizeMessage(update.message, channelId)
  return post ? { _tag: tag, channelId, post, pts, ptsCount } : { _tag: "PtsOnly", channelId, pts, ptsCount }
}

/** One update (from a push, or a difference's other_updates). */
export function normalizeUpdate(update: Tl): LiveEvent | undefined {
  switch (update?.className) {
    case "UpdateNewChannelMessage":
      return messageUpdate("NewPost", update)
    case "UpdateEditChannelMessage":
      return messageUpdate("EditPost", update)
    case "UpdateDeleteChannelMessages":
      return {
        _tag: "DeletePosts",
        channelId: id(update.channelId),
        ids: (update.messages ?? []).map(id),
        pts: id(update.pts),
        ptsCount: id(update.ptsCount),
      }
    case "UpdateChannelMessageViews":
      return { _tag: "Views", channelId: id(update.channelId), msgId: id(update.id), views: id(update.views) }
    case "UpdateChannelMessageForwards":
      return { _tag: "Forwards", channelId: id(update.channelId), msgId: id(update.id), forwards: id(update.forwards) }
    case "UpdateMessageReactions": {
      const channelId = channelOfPeer(update.peer)
      if (channelId === undefined) return undefined
      const { byKey, total } = reactionsOf(update.reactions)
      return { _tag: "Reactions", channelId, msgId: id(update.msgId), reactions: byKey, reactionsTotal: total }
    }
    case "UpdateChannelTooLong":
      return {
        _tag: "ChannelTooLong",
        channelId: id(update.channelId),
        pts: typeof update.pts === "number" ? update.pts : undefined,
      }
    default:
      return undefined
  }
}

/** updates.getChannelDifference's answer for `channelId`. */
export function channelDifference(result: Tl, channelId: number): ChannelDifference {
  const timeout = typeof result?.timeout === "number" ? result.timeout : undefined
  const final = result?.final === true
  const posts = (messages: ReadonlyArray<Tl> | undefined): ReadonlyArray<Post> =>
    (messages ?? []).flatMap((m) => {
      const post = normalizeMessage(m, channelId)
      return post ? [post] : []
    })
  switch (result?.className) {
    case "updates.ChannelDifferenceEmpty":
      return { _tag: "Empty", pts: id(result.pts), final, timeout }
    case "updates.ChannelDifferenceTooLong":
      return { _tag: "TooLong", pts: id(result.dialog?.pts), timeout, posts: posts(result.messages) }
    default: {
      const events: Array<PtsEvent | MetricEvent> = []
      for (const u of result?.otherUpdates ?? []) {
        const e = normalizeUpdate(u)
        if (e && e._tag !== "ChannelTooLong" && e.channelId === channelId) events.push(e)
      }
      return { _tag: "Difference", pts: id(result?.pts), final, timeout, posts: posts(result?.newMessages), events }
    }
  }
}
