/** A channel post as tgpulse stores it: the normalized record shape, free of any Telegram client type. */

/** What a post carries: "none" for text only, "service" for a service message (pin, title change, ...). */
export type MediaKind =
  | "none"
  | "photo"
  | "video"
  | "round_video"
  | "gif"
  | "audio"
  | "voice"
  | "sticker"
  | "document"
  | "poll"
  | "webpage"
  | "geo"
  | "venue"
  | "contact"
  | "dice"
  | "game"
  | "invoice"
  | "story"
  | "giveaway"
  | "paid"
  | "other"
  | "service"

export interface Post {
  readonly channelId: number
  readonly msgId: number
  /** Unix seconds. */
  readonly date: number
  readonly text: string
  /** URLs in the text and the targets of text links, in order of appearance, without duplicates. */
  readonly links: ReadonlyArray<string>
  /** `@username` mentions (lowercase, with the "@") and `user:<id>` for mentions by id, without duplicates. */
  readonly mentions: ReadonlyArray<string>
  /** `#tag` hashtags as written (with the "#"), without duplicates. */
  readonly hashtags: ReadonlyArray<string>
  readonly mediaKind: MediaKind | string
  /** Album id (int64 as a decimal string). */
  readonly groupedId: string | null
  /** The signature of a broadcast post. */
  readonly postAuthor: string | null
  /** Who posted it in a megagroup: `user:<id>` or `channel:<id>`. */
  readonly fromId: string | null
  /** Forward source: the channel, its message and the original date (unix seconds). */
  readonly fwdFromChannelId: number | null
  readonly fwdFromMsgId: number | null
  readonly fwdDate: number | null
  /** The name shown for a forward from a hidden user or a user (no channel). */
  readonly fwdFromName: string | null
  readonly replyToMsgId: number | null
  /** Replies (comments in the discussion group for a broadcast post). */
  readonly replies: number | null
  readonly views: number | null
  readonly forwards: number | null
  /** Reaction counts by emoji (`custom:<document id>` for custom emoji, `paid` for paid stars). */
  readonly reactions: Readonly<Record<string, number>>
  readonly reactionsTotal: number
  /** Unix seconds of the last edit as Telegram reports it (reactions bump it too: see `contentHash`). */
  readonly editDate: number | null
  /** A hash of what the author wrote and attached (text, entities, media identity): an edit changes it. */
  readonly contentHash: string
  /** The entities `contentHash` covers, as canonical JSON (Normalize.contentOf); kept with each version. */
  readonly entities: string
  /** The media identity `contentHash` covers, as canonical JSON; null without media. */
  readonly mediaIdentity: string | null
  readonly isService: boolean
}

/** New counters of one post; undefined fields keep their stored value. */
export interface CounterChange {
  readonly msgId: number
  readonly views?: number | undefined
  readonly forwards?: number | undefined
  readonly replies?: number | undefined
  readonly reactions?: Readonly<Record<string, number>> | undefined
  readonly reactionsTotal?: number | undefined
}
