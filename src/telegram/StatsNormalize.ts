/**
 * Pure: Telegram's statistics objects as GramJS decodes them become plain data (domain/Stats.ts). Fields are read
 * generically by their TL class: every StatsGraph field is a graph, every StatsAbsValueAndPrev / StatsPercentValue a
 * value, so fields Telegram adds later are kept without a change here.
 */
import bigInt from "big-integer"
import {
  type ChannelStats,
  type MessageStats,
  type PublicForward,
  type PublicForwardsPage,
  type RawGraph,
  snakeCase,
  type StatsValue,
} from "../domain/Stats.ts"

type Tl = any

/** TL bookkeeping fields GramJS puts on every object. */
const INTERNAL = new Set(["CONSTRUCTOR_ID", "SUBCLASS_OF_ID", "className", "classType", "flags", "originalArgs"])

const num = (value: unknown): number => (typeof value === "number" ? value : Number(String(value ?? 0)))

/** A statsGraph / statsGraphAsync / statsGraphError; undefined for anything else. */
export function rawGraph(value: Tl): RawGraph | undefined {
  switch (value?.className) {
    case "StatsGraph":
      return {
        _tag: "Graph",
        json: String(value.json?.data ?? ""),
        zoomToken: typeof value.zoomToken === "string" ? value.zoomToken : undefined,
      }
    case "StatsGraphAsync":
      return { _tag: "Async", token: String(value.token) }
    case "StatsGraphError":
      return { _tag: "Error", error: String(value.error) }
    default:
      return undefined
  }
}

/** A TL object as JSON-safe data: longs as decimal strings, nested objects with their class name. */
function plain(value: Tl): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "bigint") return value.toString()
  if (Array.isArray(value)) return value.map(plain)
  if (bigInt.isInstance(value)) return value.toString()
  if (typeof value === "object") {
    const out: Record<string, unknown> = {}
    if (typeof value.className === "string") out._ = value.className
    for (const [k, v] of Object.entries(value)) {
      if (INTERNAL.has(k) || v === undefined) continue
      out[snakeCase(k)] = plain(v)
    }
    return out
  }
  return String(value)
}

/** stats.broadcastStats or stats.megagroupStats. */
export function channelStats(result: Tl): ChannelStats {
  const values: Array<StatsValue> = []
  const graphs: Array<{ name: string; graph: RawGraph }> = []
  const extra: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(result ?? {})) {
    if (INTERNAL.has(field) || value === undefined || field === "period" || field === "users") continue
    const v = value as Tl
    const graph = rawGraph(v)
    if (graph) {
      graphs.push({ name: snakeCase(field), graph })
    } else if (v?.className === "StatsAbsValueAndPrev") {
      values.push({ name: snakeCase(field), current: num(v.current), previous: num(v.previous), total: null })
    } else if (v?.className === "StatsPercentValue") {
      values.push({ name: snakeCase(field), current: num(v.part), previous: null, total: num(v.total) })
    } else {
      extra[snakeCase(field)] = plain(v)
    }
  }
  const recentPosts = (Array.isArray(result?.recentPostsInteractions) ? result.recentPostsInteractions : [])
    .filter((p: Tl) => p?.className === "PostInteractionCountersMessage")
    .map((p: Tl) => ({ msgId: num(p.msgId), views: num(p.views), forwards: num(p.forwards) }))
  return {
    kind: result?.className === "stats.MegagroupStats" ? "megagroup" : "broadcast",
    period: { minDate: num(result?.period?.minDate), maxDate: num(result?.period?.maxDate) },
    values,
    graphs,
    extra,
    recentPosts,
  }
}

/** stats.messageStats: its graphs, generically. */
export function messageStats(result: Tl): MessageStats {
  const graphs: Array<{ name: string; graph: RawGraph }> = []
  for (const [field, value] of Object.entries(result ?? {})) {
    if (INTERNAL.has(field)) continue
    const graph = rawGraph(value)
    if (graph) graphs.push({ name: snakeCase(field), graph })
  }
  return { graphs }
}

/** stats.publicForwards: the messages among them (story forwards are not posts and are left out). */
export function publicForwards(result: Tl): PublicForwardsPage {
  const chats = new Map<string, Tl>()
  for (const chat of result?.chats ?? []) chats.set(String(chat?.id), chat)
  const forwards: Array<PublicForward> = []
  for (const f of result?.forwards ?? []) {
    const message = f?.className === "PublicForwardMessage" ? f.message : undefined
    if (message?.className !== "Message" || message.peerId?.className !== "PeerChannel") continue
    const channelId = String(message.peerId.channelId)
    const chat = chats.get(channelId)
    forwards.push({
      channelId: Number(channelId),
      channelUsername: chat?.username ?? chat?.usernames?.[0]?.username ?? null,
      channelTitle: typeof chat?.title === "string" ? chat.title : null,
      msgId: num(message.id),
      date: num(message.date),
      views: typeof message.views === "number" ? message.views : null,
    })
  }
  return {
    count: num(result?.count),
    forwards,
    nextOffset: typeof result?.nextOffset === "string" && result.nextOffset !== "" ? result.nextOffset : undefined,
  }
}
