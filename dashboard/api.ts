/**
 * The dashboard's side of the read API: the answers it reads (as `/api/v1/openapi.json` describes them) and one
 * `get` that sends the bearer token when the server wants one. The token is kept for the tab only (sessionStorage).
 */

export interface Channel {
  readonly id: number
  readonly username: string | null
  readonly title: string
  readonly kind: string
  readonly subscribers: number | null
  readonly posts: number
  readonly lastPostAt: number | null
  readonly views: number
}

export interface Summary {
  readonly posts: number
  readonly views: number
  readonly avgViews: number | null
  readonly avgReach24h: number | null
  readonly err: number | null
  readonly er: number | null
  readonly reactions: number
  readonly forwards: number
  readonly subscribers: number | null
  readonly followers: { readonly current: number; readonly previous: number | null } | null
}

export interface Day {
  readonly day: string
  readonly posts: number
  readonly views: number
  readonly official: Readonly<Record<string, number>>
}

export interface Trending {
  readonly channelId: number
  readonly msgId: number
  readonly date: number
  readonly text: string
  readonly views: number
  readonly gained: number
  readonly perHour: number
}

export interface HeatCell {
  readonly weekday: number
  readonly hour: number
  readonly posts: number
  readonly avgViews: number | null
}

/** The server wants a token this tab does not have, or has a wrong one. */
export class Unauthorized extends Error {}

const TOKEN_KEY = "tgpulse.token"

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
}

/** A GET of `path` (under api/v1, relative to the page: the server may sit under a prefix) with the token when there is one; the body as text or JSON. */
async function request(path: string): Promise<Response> {
  const t = token.get()
  const res = await fetch(`api/v1${path}`, t ? { headers: { authorization: `Bearer ${t}` } } : {})
  if (res.status === 401) throw new Unauthorized()
  if (!res.ok) {
    const body = await res.json().catch(() => ({ error: res.statusText }))
    throw new Error(`${path}: ${res.status} ${body.error ?? ""}`)
  }
  return res
}

export const get = async <A>(path: string): Promise<A> => (await request(path)).json()

/** Downloads `path` as a file (a fetch, so that the token goes with it). */
export async function download(path: string, filename: string): Promise<void> {
  const blob = await (await request(path)).blob()
  const url = URL.createObjectURL(blob)
  const a = Object.assign(document.createElement("a"), { href: url, download: filename })
  document.body.append(a)
  a.click()
  a.remove()
  URL.revokeObjectURL(url)
}
