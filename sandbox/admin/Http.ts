/** The admin API's HTTP plumbing: errors answered as `{"error": message}`, JSON answers, JSON object bodies. */

/** An error answered with its status and `{"error": message}`. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message)
  }
}

export const badRequest = (message: string) => new HttpError(400, message)

/** JSON with bigints as decimal strings and undefined properties as null. */
export function json(value: unknown, status = 200): Response {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => typeof v === "bigint" ? v.toString() : v === undefined ? null : v,
  )
  return new Response(text, { status, headers: { "content-type": "application/json; charset=utf-8" } })
}

export type Body = Readonly<Record<string, unknown>>

/** Parses a JSON object body; an empty body is `{}` when `emptyOk`. */
export async function readBody(request: Request, emptyOk: boolean): Promise<Body> {
  const text = await request.text()
  if (text.trim() === "") {
    if (emptyOk) return {}
    throw badRequest("Request body must be a JSON object")
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest("Request body is not valid JSON")
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("Request body must be a JSON object")
  }
  return value as Body
}

export function onlyFields(body: Body, allowed: ReadonlyArray<string>): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw badRequest(`Unknown field "${key}"; expected ${allowed.map((k) => `"${k}"`).join(", ")}`)
    }
  }
}
