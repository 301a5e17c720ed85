/** The text of generated posts: sentences of words with url, textUrl, mention, hashtag and bold entities. */
import { Rng } from "./Hash.ts"
import type { TextEntity } from "./Model.ts"

const WORDS: ReadonlyArray<string> = [
  "market",
  "update",
  "release",
  "weather",
  "coffee",
  "city",
  "report",
  "team",
  "launch",
  "server",
  "metrics",
  "channel",
  "today",
  "analysis",
  "growth",
  "signal",
  "results",
  "morning",
  "evening",
  "story",
  "data",
  "price",
  "night",
  "music",
  "travel",
  "science",
  "sports",
  "local",
  "global",
  "review",
]
const NON_ASCII: ReadonlyArray<string> = ["café", "naïve", "Zürich", "日本", "crème", "façade", "Ελλάδα", "привет"]
const EMOJI: ReadonlyArray<string> = ["🔥", "🚀", "👍🏽", "🎉", "📈", "❤️", "✨"]
const HASHTAGS: ReadonlyArray<string> = ["news", "update", "breaking", "tech", "daily", "café", "sandbox"]

/** The words that start a sentence capitalized (those beginning with a lowercase ASCII letter). */
const CAPITALIZED: ReadonlyMap<string, string> = new Map(
  [...WORDS, ...NON_ASCII].filter((w) => /^[a-z]/.test(w)).map((w) => [w, w[0]!.toUpperCase() + w.slice(1)]),
)

/** The generated content of a post's text. */
export interface Content {
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
}

interface EntityToken {
  readonly kind: TextEntity["kind"]
  readonly text: string
  readonly url?: string
}

/** A post's text: sentences of words with url, textUrl, mention, hashtag and bold entities (UTF-16 offsets). */
export function writeText(rng: Rng, channelId: number, id: number, publicChannels: number): Content {
  const tokens: Array<string | EntityToken> = []
  const words = 8 + rng.int(23)
  for (let i = 0; i < words; i++) {
    const roll = rng.int(100)
    tokens.push(roll < 6 ? rng.pick(NON_ASCII) : roll < 10 ? rng.pick(EMOJI) : rng.pick(WORDS))
  }
  const specials: Array<EntityToken> = []
  if (rng.int(100) < 35) {
    specials.push({ kind: "url", text: `https://example.com/${rng.pick(WORDS)}/${channelId}-${id}` })
  }
  if (rng.int(100) < 20) {
    specials.push({ kind: "textUrl", text: rng.pick(WORDS), url: `https://example.org/read/${channelId}/${id}` })
  }
  if (publicChannels > 0 && rng.int(100) < 20) {
    specials.push({ kind: "mention", text: `@sandbox_chan_${rng.int(publicChannels)}` })
  }
  if (rng.int(100) < 30) specials.push({ kind: "hashtag", text: `#${rng.pick(HASHTAGS)}` })
  if (rng.int(100) < 20) specials.push({ kind: "bold", text: rng.pick(WORDS) })
  for (const token of specials) tokens.splice(rng.int(tokens.length + 1), 0, token)
  if (rng.int(100) < 35) tokens.unshift(rng.int(2) === 0 ? rng.pick(EMOJI) : rng.pick(NON_ASCII))

  // The text is joined once from its parts: appending to a string piece by piece leaves a rope of one node per
  // piece, which lives as long as the post.
  const parts: Array<string> = []
  let length = 0
  const add = (part: string) => {
    parts.push(part)
    length += part.length
  }
  const entities: Array<TextEntity> = []
  let left = 0
  for (const token of tokens) {
    let capital = false
    if (left === 0) {
      if (length > 0) add(rng.int(4) === 0 ? "! " : ". ")
      left = 4 + rng.int(6)
      capital = true
    } else {
      add(" ")
    }
    left--
    if (typeof token === "string") {
      add(capital ? CAPITALIZED.get(token) ?? token : token)
    } else {
      const offset = length
      add(token.text)
      entities.push(
        token.url === undefined
          ? { kind: token.kind, offset, length: token.text.length }
          : { kind: token.kind, offset, length: token.text.length, url: token.url },
      )
    }
  }
  add(".")
  if (length < 50) add(" Stay tuned for more updates from the sandbox.")
  return { text: parts.join(""), entities }
}

/** Entities Telegram would detect in a plain text: urls, mentions and hashtags. */
export function detectEntities(text: string): ReadonlyArray<TextEntity> {
  const out: Array<TextEntity> = []
  for (const m of text.matchAll(/https?:\/\/[^\s]+/g)) {
    const url = m[0].replace(/[.,!?;:)]+$/, "")
    if (url.length > 0) out.push({ kind: "url", offset: m.index, length: url.length })
  }
  for (const m of text.matchAll(/(^|[^\w@/])(@[A-Za-z][A-Za-z0-9_]{3,31})/g)) {
    out.push({ kind: "mention", offset: m.index + m[1]!.length, length: m[2]!.length })
  }
  for (const m of text.matchAll(/(^|[^\w#/])(#[\p{L}\p{N}_]+)/gu)) {
    out.push({ kind: "hashtag", offset: m.index + m[1]!.length, length: m[2]!.length })
  }
  return out.sort((a, b) => a.offset - b.offset)
}
