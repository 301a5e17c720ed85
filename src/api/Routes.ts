/**
 * The read API's routes as data: each one's path, parameters (validated here, and described in the OpenAPI document
 * built from the same table), what it returns, and how its rows read as CSV. Handlers call the Analytics read models.
 */
import { Effect } from "effect"
import type { StoreError } from "../domain/Errors.ts"
import { Analytics, type EntityKind, type GrowingPost, type GrowthCursor } from "../store/Analytics.ts"

/** One parameter: where it is, what it may be, what it is when absent. */
export type Param =
  & { readonly name: string; readonly in: "path" | "query"; readonly description: string }
  & (
    | { readonly type: "integer"; readonly min: number; readonly max: number; readonly default?: number }
    | { readonly type: "date"; readonly default?: "now" | "30 days ago" }
    | { readonly type: "enum"; readonly values: ReadonlyArray<string>; readonly default?: string }
    /** An opaque position in a ranked list (the `X-Next-Cursor` of the page before). */
    | { readonly type: "cursor"; readonly default?: undefined }
  )

/** A parameter's value after validation. */
export type Value = number | Date | string | ReadonlyArray<number> | undefined

/** A value that is not what the parameter expects: a 400 naming it. */
export class BadParam extends Error {
  constructor(readonly param: string, readonly expected: string) {
    super(`bad parameter "${param}": expected ${expected}`)
  }
}

export interface Route {
  /** OpenAPI path under /api/v1, `{name}` for a path parameter. */
  readonly path: string
  readonly summary: string
  readonly params: ReadonlyArray<Param>
  /** JSON schema of the answer (OpenAPI). */
  readonly returns: Record<string, unknown>
  readonly handler: (values: Readonly<Record<string, Value>>) => Effect.Effect<unknown, StoreError, Analytics>
  /** The answer as CSV rows (routes that return a table). */
  readonly csv?: (result: unknown) => ReadonlyArray<Readonly<Record<string, unknown>>>
  /** The cursor of the next page (X-Next-Cursor), when the answer filled its page. */
  readonly next?: (result: unknown, values: Readonly<Record<string, Value>>) => string | undefined
}

const DAY = 86_400_000

/** Checks one raw value against its parameter. */
export function validate(param: Param, raw: string | undefined, now: Date): Value {
  if (raw === undefined || raw === "") {
    if (param.in === "path") throw new BadParam(param.name, "a value")
    if (param.default === "now") return now
    if (param.default === "30 days ago") return new Date(now.getTime() - 30 * DAY)
    return param.default
  }
  switch (param.type) {
    case "integer": {
      const n = /^-?\d{1,15}$/.test(raw) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n) || n < param.min || n > param.max) {
        throw new BadParam(param.name, `an integer from ${param.min} to ${param.max}`)
      }
      return n
    }
    case "date": {
      const ok = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(raw) && !Number.isNaN(Date.parse(raw))
      if (!ok) throw new BadParam(param.name, "a date (YYYY-MM-DD, UTC) or an ISO 8601 time")
      return new Date(raw)
    }
    case "enum":
      if (!param.values.includes(raw)) throw new BadParam(param.name, `one of ${param.values.join(", ")}`)
      return raw
    case "cursor": {
      const decoded = decodeCursor(raw)
      if (decoded === undefined) throw new BadParam(param.name, "the X-Next-Cursor of the page before")
      return decoded
    }
  }
}

/** A cursor: the ranking key of a page's last row, as base64url JSON. */
export const encodeCursor = (key: ReadonlyArray<number>): string =>
  btoa(JSON.stringify(key)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")

function decodeCursor(raw: string): ReadonlyArray<number> | undefined {
  try {
    const key = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/")))
    return Array.isArray(key) && key.length === 4 && key.every((n) => typeof n === "number" && Number.isFinite(n))
      ? key
      : undefined
  } catch {
    return undefined
  }
}

const channelId: Param = {
  name: "channelId",
  in: "path",
  type: "integer",
  min: 1,
  max: Number.MAX_SAFE_INTEGER,
  description: "The channel's id",
}
const from: Param = {
  name: "from",
  in: "query",
  type: "date",
  default: "30 days ago",
  description: "Start (inclusive)",
}
const to: Param = { name: "to", in: "query", type: "date", default: "now", description: "End (exclusive)" }
const limit: Param = {
  name: "limit",
  in: "query",
  type: "integer",
  min: 1,
  max: 1000,
  default: 50,
  description: "Rows",
}

/** The period of a channel route, checked: `from` before `to`. */
function periodOf(v: Readonly<Record<string, Value>>) {
  const since = v.from as Date, until = v.to as Date
  if (since.getTime() >= until.getTime()) throw new BadParam("from", "a time before to")
  return { channelId: v.channelId as number, since, until }
}

const msgId: Param = {
  name: "msgId",
  in: "path",
  type: "integer",
  min: 1,
  max: 2_147_483_647,
  description: "The post's id",
}

const num = { type: "number" } as const
const nullableNum = { type: ["number", "null"] } as const
const str = { type: "string" } as const
const nullableStr = { type: ["string", "null"] } as const
const arrayOf = (properties: Record<string, unknown>) => ({
  type: "array",
  items: { type: "object", properties, required: Object.keys(properties) },
})
const rows = (result: unknown) => result as ReadonlyArray<Readonly<Record<string, unknown>>>

export const ROUTES: ReadonlyArray<Route> = [
  {
    path: "/channels",
    summary: "Every stored channel with its latest figures",
    params: [],
    returns: arrayOf({
      id: num,
      username: { type: ["string", "null"] },
      title: str,
      kind: str,
      subscribers: nullableNum,
      posts: num,
      lastPostAt: nullableNum,
      views: num,
    }),
    handler: () => Analytics.use((a) => a.channels),
    csv: rows,
  },
  {
    path: "/channels/{channelId}/summary",
    summary: "A channel over a period: posts, views, reach after 24 h, ERR, ER, reactions, forwards, subscribers",
    params: [channelId, from, to],
    returns: {
      type: "object",
      properties: {
        posts: num,
        views: num,
        avgViews: nullableNum,
        avgReach24h: nullableNum,
        err: nullableNum,
        er: nullableNum,
        reactions: num,
        forwards: num,
        subscribers: nullableNum,
        followers: { type: ["object", "null"], properties: { current: num, previous: nullableNum } },
      },
    },
    handler: (v) => Effect.suspend(() => Analytics.use((a) => a.summary(periodOf(v)))),
  },
  {
    path: "/channels/{channelId}/daily",
    summary: "A channel's days: posts and views (ours) and every official statistics metric",
    params: [channelId, from, to],
    returns: arrayOf({ day: str, posts: num, views: num, official: { type: "object" } }),
    handler: (v) => Effect.suspend(() => Analytics.use((a) => a.dailySeries(periodOf(v)))),
    csv: (result) => {
      const days = rows(result) as ReadonlyArray<{ official: Record<string, number> } & Record<string, unknown>>
      const metrics = [...new Set(days.flatMap((d) => Object.keys(d.official)))].sort()
      return days.map(({ official, ...d }) => ({ ...d, ...Object.fromEntries(metrics.map((m) => [m, official[m]])) }))
    },
  },
  {
    path: "/channels/{channelId}/heatmap",
    summary: "Posts and their average views by weekday (0 = Sunday) and hour, UTC",
    params: [channelId, from, to],
    returns: arrayOf({ weekday: num, hour: num, posts: num, avgViews: nullableNum }),
    handler: (v) => Effect.suspend(() => Analytics.use((a) => a.heatmap(periodOf(v)))),
    csv: rows,
  },
  {
    path: "/channels/{channelId}/top/{kind}",
    summary: "The hashtags, mentions or links carried by the most posts of a period",
    params: [
      channelId,
      {
        name: "kind",
        in: "path",
        type: "enum",
        values: ["hashtags", "mentions", "links"],
        description: "What to count",
      },
      from,
      to,
      limit,
    ],
    returns: arrayOf({ value: str, posts: num, views: num }),
    handler: (v) =>
      Effect.suspend(() => Analytics.use((a) => a.topEntities(periodOf(v), v.kind as EntityKind, v.limit as number))),
    csv: rows,
  },
  {
    path: "/trending",
    summary: "Posts whose views grew fastest (views gained per hour) in the last hours",
    params: [
      { name: "hours", in: "query", type: "integer", min: 1, max: 720, default: 24, description: "The window" },
      {
        name: "minAgeHours",
        in: "query",
        type: "integer",
        min: 0,
        max: 8760,
        default: 1,
        description: "Posts at least this old",
      },
      {
        name: "channel",
        in: "query",
        type: "integer",
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
        description: "One channel's posts only",
      },
      limit,
      { name: "cursor", in: "query", type: "cursor", description: "The next page: X-Next-Cursor of the one before" },
    ],
    returns: arrayOf({ channelId: num, msgId: num, date: num, text: str, views: num, gained: num, perHour: num }),
    next: (result, v) => {
      const page = result as ReadonlyArray<GrowingPost>
      const last = page.at(-1)
      return last && page.length === v.limit
        ? encodeCursor([last.perHour, last.date, last.channelId, last.msgId])
        : undefined
    },
    handler: (v) =>
      Effect.gen(function* () {
        const until = v.now as Date
        return yield* Analytics.use((a) =>
          a.trendingByGrowth({
            since: new Date(until.getTime() - (v.hours as number) * 3_600_000),
            until,
            minAgeSeconds: (v.minAgeHours as number) * 3600,
            channelIds: v.channel === undefined ? [] : [v.channel as number],
            limit: v.limit as number,
            after: v.cursor as GrowthCursor | undefined,
          })
        )
      }),
    csv: rows,
  },
  {
    path: "/posts/{channelId}/{msgId}/series",
    summary: "A post's counters at every snapshot, oldest first",
    params: [
      channelId,
      msgId,
    ],
    returns: arrayOf({ at: num, views: nullableNum, forwards: nullableNum, replies: nullableNum, reactions: num }),
    handler: (v) => Analytics.use((a) => a.postSeries(v.channelId as number, v.msgId as number)),
    csv: rows,
  },
  {
    path: "/posts/{channelId}/{msgId}/comments",
    summary: "The newest comments under a post (its channel's discussion group), newest first",
    params: [channelId, msgId, { ...limit, default: 100 }],
    returns: arrayOf({
      commentId: num,
      date: num,
      author: nullableStr,
      text: str,
      replyTo: nullableNum,
      reactions: num,
    }),
    handler: (v) => Analytics.use((a) => a.postComments(v.channelId as number, v.msgId as number, v.limit as number)),
    csv: rows,
  },
  {
    path: "/posts/{channelId}/{msgId}/versions",
    summary: "Every version of a post and its deletion, hash-chained (verify with deno task verify), oldest first",
    params: [channelId, msgId],
    returns: arrayOf({
      seq: num,
      kind: { type: "string", enum: ["version", "deleted"] },
      seenAt: num,
      editDate: nullableNum,
      text: str,
      contentHash: str,
      hash: str,
    }),
    handler: (v) => Analytics.use((a) => a.postVersions(v.channelId as number, v.msgId as number)),
    csv: rows,
  },
]

/** The OpenAPI 3.1 document of the routes above. */
export function openApi(version: string, token: boolean): Record<string, unknown> {
  const format: Param = {
    name: "format",
    in: "query",
    type: "enum",
    values: ["json", "csv"],
    default: "json",
    description: "json, or csv where the answer is a table",
  }
  const schemaOf = (p: Param) =>
    p.type === "integer"
      ? { type: "integer", minimum: p.min, maximum: p.max, ...(p.default === undefined ? {} : { default: p.default }) }
      : p.type === "date"
      ? { type: "string", format: "date-time" }
      : p.type === "cursor"
      ? { type: "string" }
      : { type: "string", enum: p.values, ...(p.default === undefined ? {} : { default: p.default }) }
  const paths = Object.fromEntries(ROUTES.map((r) => [
    `/api/v1${r.path}`,
    {
      get: {
        summary: r.summary,
        operationId: r.path.replace(/[{}]/g, "").split("/").filter(Boolean).join("_"),
        parameters: [...r.params, ...(r.csv ? [format] : [])].map((p) => ({
          name: p.name,
          in: p.in,
          required: p.in === "path",
          description: p.description,
          schema: schemaOf(p),
        })),
        responses: {
          "200": {
            description: "OK",
            ...(r.next
              ? { headers: { "X-Next-Cursor": { description: "The next page's cursor", schema: { type: "string" } } } }
              : {}),
            content: {
              "application/json": { schema: r.returns },
              ...(r.csv ? { "text/csv": { schema: { type: "string" } } } : {}),
            },
          },
          "400": { description: "A parameter is not what it expects (named in the error)" },
          ...(token ? { "401": { description: "No or a wrong bearer token" } } : {}),
        },
      },
    },
  ]))
  return {
    openapi: "3.1.0",
    info: { title: "tgpulse read API", version },
    paths,
    ...(token
      ? {
        components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
        security: [{ bearer: [] }],
      }
      : {}),
  }
}
