/** One builder of stored-shape posts for the tests: plain text, no entities, counters from the id. */
import type { Post } from "../../src/domain/Post.ts"

export const T0 = 1_700_000_000

/** A post of channel `channelId` with id `msgId`, posted `msgId` minutes after T0; `overrides` win. */
export function makePost(channelId: number, msgId: number, overrides: Partial<Post> = {}): Post {
  const text = overrides.text ?? `post ${msgId}`
  return {
    channelId,
    msgId,
    date: T0 + msgId * 60,
    text,
    links: [],
    mentions: [],
    hashtags: [],
    mediaKind: "none",
    groupedId: null,
    postAuthor: null,
    fromId: null,
    fwdFromChannelId: null,
    fwdFromMsgId: null,
    fwdDate: null,
    fwdFromName: null,
    replyToMsgId: null,
    replies: null,
    views: 100 + msgId,
    forwards: 1,
    reactions: {},
    reactionsTotal: 0,
    editDate: null,
    contentHash: `h${msgId}:${text}`,
    entities: "[]",
    mediaIdentity: null,
    isService: false,
    ...overrides,
  }
}
