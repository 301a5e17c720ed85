/**
 * Comments under channel posts (messages of the channel's discussion group), and which posts' threads are read (pure):
 * a thread whose stored reply count exceeds the comments stored is read at once; on the schedule of
 * src/domain/Refresh.ts (thinning with the post's age) the reply counts of the posts whose slot came are asked afresh
 * (messages.getMessagesViews, 100 posts a call: the stored count goes stale) and the threads that grew are read.
 */
import { isDue, type RefreshTier } from "./Refresh.ts"

/** One comment as tgpulse stores it, free of any Telegram client type. */
export interface Comment {
  /** The discussion group's message id. */
  readonly commentId: number
  readonly groupId: number
  /** `user:<id>` or `channel:<id>` (a channel or the group itself posting), null when Telegram names no one. */
  readonly author: string | null
  /** Unix seconds. */
  readonly date: number
  readonly text: string
  readonly links: ReadonlyArray<string>
  readonly mentions: ReadonlyArray<string>
  readonly hashtags: ReadonlyArray<string>
  /** The message's entities as `[kind, offset, length, url or user id]` (kind without "MessageEntity"). */
  readonly entities: ReadonlyArray<readonly [string, number, number, string | null]>
  readonly mediaKind: string
  /** The message it answers: the discussion message (a comment on the post) or another comment. */
  readonly replyTo: number | null
  /** The discussion message of the thread (reply_to_top_id, else reply_to_msg_id). */
  readonly threadTop: number | null
  readonly reactions: Readonly<Record<string, number>>
  readonly reactionsTotal: number
  /** Unix seconds. */
  readonly editDate: number | null
}

/** One messages.getReplies page of a post's thread, normalized. */
export interface RepliesPage {
  /** Newest first, as Telegram answers (service messages and unknown shapes left out). */
  readonly comments: ReadonlyArray<Comment>
  /** Every message id the page covered, skipped ones included. */
  readonly ids: ReadonlyArray<number>
  /** All comments of the thread. */
  readonly count: number
  readonly offsetIdOffset: number | undefined
}

/** A post's thread as the store knows it (`readAt` undefined: never read). */
export interface ThreadState {
  readonly postId: number
  /** Unix seconds. */
  readonly postDate: number
  /** The post's reply count as last stored with the post (null: the post carries no replies). */
  readonly replies: number | null
  /** Comments stored for the post. */
  readonly stored: number
  /** Every comment up to this id is stored (0: none read). */
  readonly maxCommentId: number
  /** Unix seconds of the last read. */
  readonly readAt: number | undefined
}

/** Why a thread is looked at now: its stored count grew (read it), or its slot of the schedule came (probe it). */
export type DueReason = "count" | "schedule"

/**
 * Whether a post's thread is looked at `nowSec`: never when the post carries no replies (its channel has no group);
 * read when its reply count exceeds the comments stored, whatever its age; else probed on the refresh schedule (a
 * slot of its age tier passed since the last look; older than the schedule: never).
 */
export function threadDue(
  tiers: ReadonlyArray<RefreshTier>,
  thread: ThreadState,
  nowSec: number,
): DueReason | undefined {
  if (thread.replies === null) return undefined
  if (thread.replies > thread.stored) return "count"
  return isDue(tiers, thread.postDate, thread.readAt, nowSec) ? "schedule" : undefined
}

/** The due threads, oldest post first within each reason: those whose count moved, then those of the schedule. */
export function dueThreads(
  tiers: ReadonlyArray<RefreshTier>,
  threads: ReadonlyArray<ThreadState>,
  nowSec: number,
): ReadonlyArray<ThreadState & { readonly reason: DueReason }> {
  const due = threads.flatMap((t) => {
    const reason = threadDue(tiers, t, nowSec)
    return reason ? [{ ...t, reason }] : []
  })
  const rank = (r: DueReason) => (r === "count" ? 0 : 1)
  return due.sort((a, b) => rank(a.reason) - rank(b.reason) || a.postId - b.postId)
}

/**
 * Every thread looked at now, whatever its slot and age (a catch-up: a followed group's updates were lost): read when
 * its stored count exceeds the comments stored, else probed.
 */
export function everyThread(
  threads: ReadonlyArray<ThreadState>,
): ReadonlyArray<ThreadState & { readonly reason: DueReason }> {
  return threads.flatMap((t) =>
    t.replies === null ? [] : [{ ...t, reason: t.replies > t.stored ? "count" as const : "schedule" as const }]
  )
}

/**
 * The probed threads to read: those whose fresh reply count (`fresh`, by post id; a post Telegram left out: none)
 * exceeds the comments stored. The others are only marked looked at.
 */
export function grown(
  probed: ReadonlyArray<ThreadState>,
  fresh: ReadonlyMap<number, number | null>,
): ReadonlyArray<ThreadState> {
  return probed.flatMap((t) => {
    const replies = fresh.get(t.postId)
    return typeof replies === "number" && replies > t.stored ? [{ ...t, replies }] : []
  })
}

/**
 * A group message that came live (normalized as a Post of the group) as a Comment: all but its raw entities, which
 * the next read of its thread fills in. Its thread is found by what it answers (see CommentRepo.storeLive).
 */
export function commentOfPost(post: {
  readonly channelId: number
  readonly msgId: number
  readonly date: number
  readonly text: string
  readonly links: ReadonlyArray<string>
  readonly mentions: ReadonlyArray<string>
  readonly hashtags: ReadonlyArray<string>
  readonly mediaKind: string
  readonly fromId: string | null
  readonly replyToMsgId: number | null
  readonly reactions: Readonly<Record<string, number>>
  readonly reactionsTotal: number
  readonly editDate: number | null
}): Comment {
  return {
    commentId: post.msgId,
    groupId: post.channelId,
    author: post.fromId ?? `channel:${post.channelId}`,
    date: post.date,
    text: post.text,
    links: post.links,
    mentions: post.mentions,
    hashtags: post.hashtags,
    entities: [],
    mediaKind: post.mediaKind,
    replyTo: post.replyToMsgId,
    threadTop: null,
    reactions: post.reactions,
    reactionsTotal: post.reactionsTotal,
    editDate: post.editDate,
  }
}
