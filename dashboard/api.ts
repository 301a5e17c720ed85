/**
 * The dashboard's side of the read API: the answers it reads (the server's read-model types, as
 * `/api/v1/openapi.json` describes them) and one `get` that sends the bearer token when the server wants one. The
 * token is kept for the tab only (sessionStorage).
 */

// The answers' shapes are the server's own read models (types only: nothing of the server is in the bundle).
export type {
  ChannelRow as Channel,
  DailyPoint as Day,
  GrowingPost as Trending,
  HeatCell,
  Summary,
} from "../src/store/Analytics.ts"

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
