/** Normalize over real GramJS objects: fields, entities (UTF-16), media kinds, reactions, service messages, hashes. */
import { Api } from "telegram"
import bigInt from "big-integer"
import { Buffer } from "node:buffer"
import { contentHash, contentOf, normalizeMessage } from "../../src/telegram/Normalize.ts"
import { renderMessage, World } from "@tgpulse/sandbox"
import { assert, assertEquals, assertNotEquals } from "../support/assert.ts"
import { historyQuery } from "../support/world.ts"

const CHANNEL = 1_000_000

const message = (args: Partial<ConstructorParameters<typeof Api.Message>[0]> = {}) =>
  new Api.Message({
    id: 42,
    peerId: new Api.PeerChannel({ channelId: bigInt(CHANNEL) }),
    date: 1_767_300_000,
    message: "",
    post: true,
    ...args,
  })

Deno.test("Normalize.normalizeMessage reads every field of a broadcast post", () => {
  const text = "Read https://a.example/x and ask @Some_Chan about #news today. More https://a.example/x"
  const at = (s: string, from = 0) => text.indexOf(s, from)
  const post = normalizeMessage(
    message({
      message: text,
      entities: [
        new Api.MessageEntityUrl({ offset: at("https://a.example/x"), length: 19 }),
        new Api.MessageEntityMention({ offset: at("@Some_Chan"), length: 10 }),
        new Api.MessageEntityHashtag({ offset: at("#news"), length: 5 }),
        new Api.MessageEntityTextUrl({ offset: at("today"), length: 5, url: "https://b.example/t" }),
        new Api.MessageEntityUrl({ offset: at("https://a.example/x", 10), length: 19 }),
        new Api.MessageEntityMentionName({ offset: 0, length: 4, userId: bigInt(777) }),
        new Api.MessageEntityBold({ offset: 0, length: 4 }),
      ],
      views: 1234,
      forwards: 56,
      replies: new Api.MessageReplies({ replies: 7, repliesPts: 1 }),
      editDate: 1_767_300_500,
      postAuthor: "Alice Editor",
      groupedId: bigInt("12345678901234567"),
      fwdFrom: new Api.MessageFwdHeader({
        fromId: new Api.PeerChannel({ channelId: bigInt(1_000_003) }),
        channelPost: 99,
        date: 1_767_200_000,
      }),
      replyTo: new Api.MessageReplyHeader({ replyToMsgId: 40 }),
      reactions: new Api.MessageReactions({
        results: [
          new Api.ReactionCount({ reaction: new Api.ReactionEmoji({ emoticon: "👍" }), count: 10 }),
          new Api.ReactionCount({ reaction: new Api.ReactionCustomEmoji({ documentId: bigInt("5368") }), count: 3 }),
          new Api.ReactionCount({ reaction: new Api.ReactionPaid(), count: 2 }),
        ],
      }),
    }),
    CHANNEL,
  )!
  assertEquals({ ...post, contentHash: "" }, {
    channelId: CHANNEL,
    msgId: 42,
    date: 1_767_300_000,
    text,
    links: ["https://a.example/x", "https://b.example/t"],
    mentions: ["@some_chan", "user:777"],
    hashtags: ["#news"],
    mediaKind: "none",
    groupedId: "12345678901234567",
    postAuthor: "Alice Editor",
    fromId: null,
    fwdFromChannelId: 1_000_003,
    fwdFromMsgId: 99,
    fwdDate: 1_767_200_000,
    fwdFromName: null,
    replyToMsgId: 40,
    replies: 7,
    views: 1234,
    forwards: 56,
    reactions: { "👍": 10, "custom:5368": 3, paid: 2 },
    reactionsTotal: 15,
    editDate: 1_767_300_500,
    contentHash: "",
    entities: JSON.stringify([
      ["MessageEntityUrl", at("https://a.example/x"), 19, null],
      ["MessageEntityMention", at("@Some_Chan"), 10, null],
      ["MessageEntityHashtag", at("#news"), 5, null],
      ["MessageEntityTextUrl", at("today"), 5, "https://b.example/t"],
      ["MessageEntityUrl", at("https://a.example/x", 10), 19, null],
      ["MessageEntityMentionName", 0, 4, "777"],
      ["MessageEntityBold", 0, 4, null],
    ]),
    mediaIdentity: null,
    isService: false,
  })
  assert(/^[0-9a-f]{16}$/.test(post.contentHash), "a 64-bit hex content hash")
  // What a version keeps is what the hash covers: the same hash as contentHash of the message's parts.
  const photo = new Api.MessageMediaPhoto({ photo: new Api.Photo({ id: bigInt(77) } as never) })
  const bold = [new Api.MessageEntityBold({ offset: 0, length: 4 })]
  const parts = contentOf(text, bold, photo)
  assertEquals(parts, {
    entities: '[["MessageEntityBold",0,4,null]]',
    mediaIdentity: '["photo","77"]',
    contentHash: contentHash(text, bold, photo),
  })
})

Deno.test("Normalize.normalizeMessage counts entity offsets in UTF-16, as Telegram does", () => {
  const text = "🔥👍🏽 café #Zürich then @dev_team and https://ex.example/ü"
  const hashtag = text.indexOf("#Zürich")
  const mention = text.indexOf("@dev_team")
  const url = text.indexOf("https://")
  const post = normalizeMessage(
    message({
      message: text,
      entities: [
        new Api.MessageEntityHashtag({ offset: hashtag, length: 7 }),
        new Api.MessageEntityMention({ offset: mention, length: 9 }),
        new Api.MessageEntityUrl({ offset: url, length: text.length - url }),
      ],
    }),
    CHANNEL,
  )!
  assertEquals([post.hashtags, post.mentions, post.links], [["#Zürich"], ["@dev_team"], ["https://ex.example/ü"]])
})

const doc = (attributes: Array<Api.TypeDocumentAttribute>, mimeType = "application/octet-stream") =>
  new Api.Document({
    id: bigInt(7),
    accessHash: bigInt(1),
    fileReference: Buffer.alloc(0),
    date: 0,
    mimeType,
    size: bigInt(10),
    dcId: 2,
    attributes,
  })

Deno.test("Normalize.normalizeMessage tells media kinds apart", () => {
  const geo = new Api.GeoPoint({ long: 1, lat: 2, accessHash: bigInt(0) })
  const text = (t: string) => new Api.TextWithEntities({ text: t, entities: [] })
  const cases: ReadonlyArray<[string, Api.TypeMessageMedia | undefined]> = [
    ["none", undefined],
    ["none", new Api.MessageMediaEmpty()],
    ["photo", new Api.MessageMediaPhoto({ photo: new Api.PhotoEmpty({ id: bigInt(1) }) })],
    ["video", new Api.MessageMediaDocument({ video: true, document: doc([]) })],
    ["round_video", new Api.MessageMediaDocument({ round: true, video: true, document: doc([]) })],
    ["voice", new Api.MessageMediaDocument({ voice: true, document: doc([]) })],
    [
      "video",
      new Api.MessageMediaDocument({ document: doc([new Api.DocumentAttributeVideo({ duration: 1, w: 1, h: 1 })]) }),
    ],
    [
      "round_video",
      new Api.MessageMediaDocument({
        document: doc([new Api.DocumentAttributeVideo({ roundMessage: true, duration: 1, w: 1, h: 1 })]),
      }),
    ],
    ["audio", new Api.MessageMediaDocument({ document: doc([new Api.DocumentAttributeAudio({ duration: 3 })]) })],
    [
      "voice",
      new Api.MessageMediaDocument({ document: doc([new Api.DocumentAttributeAudio({ voice: true, duration: 3 })]) }),
    ],
    [
      "sticker",
      new Api.MessageMediaDocument({
        document: doc([new Api.DocumentAttributeSticker({ alt: "x", stickerset: new Api.InputStickerSetEmpty() })]),
      }),
    ],
    ["gif", new Api.MessageMediaDocument({ document: doc([new Api.DocumentAttributeAnimated()]) })],
    [
      "document",
      new Api.MessageMediaDocument({ document: doc([new Api.DocumentAttributeFilename({ fileName: "a.pdf" })]) }),
    ],
    [
      "poll",
      new Api.MessageMediaPoll({
        poll: new Api.Poll({ id: bigInt(1), question: text("q?"), answers: [] }),
        results: new Api.PollResults({}),
      }),
    ],
    [
      "webpage",
      new Api.MessageMediaWebPage({ webpage: new Api.WebPageEmpty({ id: bigInt(1), url: "https://x.example" }) }),
    ],
    ["geo", new Api.MessageMediaGeo({ geo })],
    ["venue", new Api.MessageMediaVenue({ geo, title: "t", address: "a", provider: "p", venueId: "v", venueType: "" })],
    [
      "contact",
      new Api.MessageMediaContact({ phoneNumber: "1", firstName: "A", lastName: "", vcard: "", userId: bigInt(1) }),
    ],
    ["dice", new Api.MessageMediaDice({ value: 3, emoticon: "🎲" })],
    ["other", new Api.MessageMediaUnsupported()],
  ]
  for (const [kind, media] of cases) {
    assertEquals(
      normalizeMessage(message(media ? { media } : {}), CHANNEL)!.mediaKind,
      kind,
      media?.className ?? "none",
    )
  }
})

Deno.test("Normalize.normalizeMessage: megagroup authors, forwards from users, service messages, empties", () => {
  const fromUser = normalizeMessage(
    message({
      post: false,
      fromId: new Api.PeerUser({ userId: bigInt(777_000_001) }),
      fwdFrom: new Api.MessageFwdHeader({ fromName: "Hidden Person", date: 1 }),
    }),
    CHANNEL,
  )!
  assertEquals(
    [fromUser.fromId, fromUser.fwdFromChannelId, fromUser.fwdFromName, fromUser.fwdFromMsgId],
    ["user:777000001", null, "Hidden Person", null],
  )
  const service = normalizeMessage(
    new Api.MessageService({
      id: 1,
      peerId: new Api.PeerChannel({ channelId: bigInt(CHANNEL) }),
      date: 5,
      action: new Api.MessageActionChannelCreate({ title: "x" }),
    }),
    CHANNEL,
  )!
  assertEquals([service.isService, service.mediaKind, service.text, service.views], [true, "service", "", null])
  assertEquals(normalizeMessage(new Api.MessageEmpty({ id: 3 }), CHANNEL), undefined)
  assertEquals(normalizeMessage({ className: "Channel", id: 4 }, CHANNEL), undefined)
  assertEquals(normalizeMessage(undefined, CHANNEL), undefined)
})

Deno.test("Normalize.contentHash changes with what the author wrote, not with counters or previews", () => {
  const base = message({
    message: "Hello #tag",
    entities: [new Api.MessageEntityHashtag({ offset: 6, length: 4 })],
    media: new Api.MessageMediaWebPage({
      webpage: new Api.WebPage({ id: bigInt(1), url: "https://x.example", displayUrl: "x", hash: 0, title: "Old" }),
    }),
  })
  const hash = (m: Api.Message) => normalizeMessage(m, CHANNEL)!.contentHash
  const same = [
    message({ ...base, views: 999, forwards: 5, editDate: 1_767_400_000 }),
    message({
      ...base,
      reactions: new Api.MessageReactions({
        results: [new Api.ReactionCount({ reaction: new Api.ReactionEmoji({ emoticon: "🔥" }), count: 1 })],
      }),
    }),
    message({
      ...base,
      media: new Api.MessageMediaWebPage({
        webpage: new Api.WebPage({ id: bigInt(1), url: "https://x.example", displayUrl: "x", hash: 9, title: "New" }),
      }),
    }),
  ]
  for (const m of same) assertEquals(hash(m), hash(base))
  const different = [
    message({ ...base, message: "Hello #tag!" }),
    message({ ...base, entities: [new Api.MessageEntityBold({ offset: 6, length: 4 })] }),
    message({ ...base, media: new Api.MessageMediaPhoto({ photo: new Api.PhotoEmpty({ id: bigInt(1) }) }) }),
  ]
  for (const m of different) assertNotEquals(hash(m), hash(base))
  assertEquals(contentHash("a", [], undefined), contentHash("a", [], null))
})

Deno.test("Normalize.normalizeMessage agrees with the sandbox world on its generated posts", () => {
  const world = World.create({ seed: 5, channels: 4, posts: 2_000 })
  let checked = 0
  for (const channel of world.channels.filter((c) => !c.isPrivate)) {
    for (const p of world.history(channel.id, historyQuery({ offsetId: 1_500 })).posts) {
      const post = normalizeMessage(renderMessage(p), channel.id)!
      const slice = (kind: string) =>
        p.entities.filter((e) => e.kind === kind).map((e) => p.text.substring(e.offset, e.offset + e.length))
      const links = [
        ...new Set([
          ...p.entities.flatMap((e) =>
            e.kind === "url" ? [p.text.substring(e.offset, e.offset + e.length)] : e.kind === "textUrl" ? [e.url!] : []
          ),
        ]),
      ]
      assertEquals(post.links, links, `links of ${channel.id}/${p.id}`)
      assertEquals(post.mentions, [...new Set(slice("mention").map((m) => m.toLowerCase()))])
      assertEquals(post.hashtags, [...new Set(slice("hashtag"))])
      assertEquals(post.mediaKind, p.media)
      assertEquals(post.reactionsTotal, p.reactions.reduce((a, r) => a + r.count, 0))
      // A broadcast post of a channel without a discussion group carries no replies (unknown, not 0).
      const replies = p.fromUserId === undefined && p.commentsGroupId === undefined ? null : p.replies
      assertEquals([post.views, post.forwards, post.replies], [p.views, p.forwards, replies])
      assertEquals(post.fwdFromChannelId, p.forward?.channelId ?? null)
      assertEquals(post.groupedId, p.groupedId?.toString() ?? null)
      assertEquals(post.postAuthor, p.postAuthor ?? null)
      assertEquals(post.fromId, p.fromUserId === undefined ? null : `user:${p.fromUserId}`)
      checked++
    }
  }
  assertEquals(checked, 400)
})
