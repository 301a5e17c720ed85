/** CommentNormalize over real GramJS objects: a comment's fields, its thread, its author; a getReplies page. */
import { Api } from "telegram"
import bigInt from "big-integer"
import { normalizeComment, repliesPage } from "../../src/telegram/CommentNormalize.ts"
import { assertEquals } from "../support/assert.ts"

const CHANNEL = 1_000_000
const GROUP = 2_000_000

const comment = (args: Partial<ConstructorParameters<typeof Api.Message>[0]> = {}) =>
  new Api.Message({
    id: 77,
    peerId: new Api.PeerChannel({ channelId: bigInt(GROUP) }),
    fromId: new Api.PeerUser({ userId: bigInt(5001) }),
    date: 1_767_300_000,
    message: "",
    replyTo: new Api.MessageReplyHeader({ replyToMsgId: 10 }),
    ...args,
  })

Deno.test("CommentNormalize.normalizeComment reads author, text, entities, thread, reactions and edit", () => {
  const text = "see https://a.example #tag @Someone"
  const c = normalizeComment(
    comment({
      message: text,
      entities: [
        new Api.MessageEntityUrl({ offset: 4, length: 17 }),
        new Api.MessageEntityHashtag({ offset: 22, length: 4 }),
        new Api.MessageEntityMention({ offset: 27, length: 8 }),
        new Api.MessageEntityBold({ offset: 0, length: 3 }),
      ],
      replyTo: new Api.MessageReplyHeader({ replyToMsgId: 70, replyToTopId: 10 }),
      reactions: new Api.MessageReactions({
        results: [new Api.ReactionCount({ reaction: new Api.ReactionEmoji({ emoticon: "👍" }), count: 3 })],
        recentReactions: [],
      }),
      editDate: 1_767_300_100,
    }),
    GROUP,
  )
  assertEquals(c, {
    commentId: 77,
    groupId: GROUP,
    author: "user:5001",
    date: 1_767_300_000,
    text,
    links: ["https://a.example"],
    mentions: ["@someone"],
    hashtags: ["#tag"],
    entities: [["Url", 4, 17, null], ["Hashtag", 22, 4, null], ["Mention", 27, 8, null], ["Bold", 0, 3, null]],
    mediaKind: "none",
    replyTo: 70,
    threadTop: 10,
    reactions: { "👍": 3 },
    reactionsTotal: 3,
    editDate: 1_767_300_100,
  })
})

Deno.test("CommentNormalize.normalizeComment: a direct comment's thread is its reply; no sender is the group", () => {
  const c = normalizeComment(comment({ fromId: undefined }), GROUP)
  assertEquals([c?.replyTo, c?.threadTop, c?.author], [10, 10, `channel:${GROUP}`])
  const asChannel = normalizeComment(comment({ fromId: new Api.PeerChannel({ channelId: bigInt(CHANNEL) }) }), GROUP)
  assertEquals(asChannel?.author, `channel:${CHANNEL}`)
  assertEquals(normalizeComment(new Api.MessageEmpty({ id: 3 }), GROUP), undefined)
  assertEquals(
    normalizeComment(
      new Api.MessageService({ id: 4, peerId: comment().peerId, date: 1, action: new Api.MessageActionPinMessage() }),
      GROUP,
    ),
    undefined,
  )
})

Deno.test("CommentNormalize.repliesPage: the group's comments, every id, the thread's count and offset", () => {
  const page = repliesPage(
    new Api.messages.ChannelMessages({
      pts: 5,
      count: 12,
      offsetIdOffset: 2,
      messages: [comment({ id: 90 }), new Api.MessageEmpty({ id: 89 }), comment({ id: 88 })],
      topics: [],
      chats: [],
      users: [],
    }),
    CHANNEL,
  )
  assertEquals(page.comments.map((c) => c.commentId), [90, 88])
  assertEquals([page.ids, page.count, page.offsetIdOffset, page.groupId], [[90, 89, 88], 12, 2, GROUP])
})
