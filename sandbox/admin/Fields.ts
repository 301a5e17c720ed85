/** Reading the admin API's input: typed body fields, query parameters, channels and posts named in the path. */
import { PUSH_KINDS, type PushKind } from "../control/Control.ts"
import type { ChannelInfo, Post, WorldApi } from "../world/Model.ts"
import { badRequest, type Body, HttpError } from "./Http.ts"

/** Largest number of posts one request may publish. */
export const MAX_PUBLISH = 1_000_000
/** Largest rate of background publishing and activity, per second. */
export const MAX_RATE = 1_000_000

export interface Check<T> {
  /** What the field must be, e.g. "a positive integer". */
  readonly expected: string
  is(value: unknown): value is T
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v)
export const positiveInt: Check<number> = { expected: "a positive integer", is: (v): v is number => isInt(v) && v > 0 }
export const nonNegativeInt: Check<number> = {
  expected: "a non-negative integer",
  is: (v): v is number => isInt(v) && v >= 0,
}
export const integer: Check<number> = { expected: "an integer", is: isInt }
export const positiveNumber: Check<number> = {
  expected: "a positive number",
  is: (v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0,
}
export const nonNegativeNumber: Check<number> = {
  expected: "a non-negative number",
  is: (v): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0,
}
export const text: Check<string> = { expected: "a string", is: (v): v is string => typeof v === "string" }
export const boolean: Check<boolean> = { expected: "true or false", is: (v): v is boolean => typeof v === "boolean" }
export const name: Check<string> = {
  expected: "a non-empty string",
  is: (v): v is string => typeof v === "string" && v !== "",
}
export const record: Check<Readonly<Record<string, unknown>>> = {
  expected: "a JSON object",
  is: (v): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v),
}
export const kinds: Check<ReadonlyArray<PushKind>> = {
  expected: `a non-empty array of ${PUSH_KINDS.map((k) => `"${k}"`).join(", ")}`,
  is: (v): v is ReadonlyArray<PushKind> =>
    Array.isArray(v) && v.length > 0 && v.every((k) => (PUSH_KINDS as ReadonlyArray<unknown>).includes(k)),
}
export const ids: Check<ReadonlyArray<number>> = {
  expected: `an array of positive integers (at most ${MAX_PUBLISH})`,
  is: (v): v is ReadonlyArray<number> => Array.isArray(v) && v.length <= MAX_PUBLISH && v.every(positiveInt.is),
}

/** An optional field (absent or null → undefined). */
export function optional<T>(body: Body, field: string, check: Check<T>): T | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (!check.is(value)) throw badRequest(`Field "${field}" must be ${check.expected}`)
  return value
}

export function required<T>(body: Body, field: string, check: Check<T>): T {
  const value = optional(body, field, check)
  if (value === undefined) throw badRequest(`Field "${field}" must be ${check.expected}`)
  return value
}

export function atMost(field: string, value: number, max: number): number {
  if (value > max) throw badRequest(`Field "${field}" must be at most ${max}`)
  return value
}

/** Finds a channel by numeric id (bare, or -100-prefixed as in the Bot API) or by username (with or without "@"). */
export function findChannel(world: WorldApi, raw: string): ChannelInfo {
  const ref = raw.startsWith("@") ? raw.slice(1) : raw
  let found: ChannelInfo | undefined
  if (/^\d+$/.test(ref)) found = world.channel(Number(ref))
  else if (/^-100\d+$/.test(ref)) found = world.channel(Number(ref.slice(4)))
  found ??= world.channelByUsername(ref)
  if (!found) throw new HttpError(404, `Unknown channel "${raw}"`)
  return found
}

function postIdOf(raw: string): number {
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!(Number.isSafeInteger(id) && id > 0)) throw badRequest(`Post id "${raw}" must be a positive integer`)
  return id
}

export function queryInt(raw: string | undefined, param: string, check: Check<number>): number | undefined {
  if (raw === undefined || raw === "") return undefined
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN
  if (!check.is(value)) throw badRequest(`Query parameter "${param}" must be ${check.expected}`)
  return value
}

/** The post `rawId` of the channel; 404 when it does not exist. */
export function findPost(world: WorldApi, channel: ChannelInfo, rawId: string): Post {
  const id = postIdOf(rawId)
  const post = world.posts(channel.id, [id])[0]
  if (!post) throw new HttpError(404, `Unknown post ${id} in channel "${channel.username}"`)
  return post
}
