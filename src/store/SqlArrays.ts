/**
 * Arrays bound as one text parameter each (`{1,NULL,"a"}`) and cast in SQL: bulk statements over unnest(), with the
 * text forms of their list and JSON cells.
 */

export type Scalar = string | number | boolean | null

/**
 * A PostgreSQL array literal (`{1,NULL,"a\"b"}`), bound as one text parameter and cast in SQL: typed per column,
 * whatever the values (all NULL, ids past int4), unlike the driver's inference from JS arrays.
 */
export function arrayLiteral(values: ReadonlyArray<Scalar>): string {
  const parts = new Array<string>(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    parts[i] = v === null || v === undefined
      ? "NULL"
      : typeof v === "string"
      ? `"${stripNul(v).replace(/["\\]/g, "\\$&")}"`
      : typeof v === "number"
      ? (Number.isFinite(v) ? String(v) : "NULL")
      : v
      ? "t"
      : "f"
  }
  return `{${parts.join(",")}}`
}

/** PostgreSQL text cannot hold NUL (U+0000); Telegram text never should, but one must not sink a whole page. */
export function stripNul(s: string): string {
  return s.includes("\0") ? s.replaceAll("\0", "") : s
}

/**
 * A list as one text, its items separated by U+001F (split again in SQL). U+001F is removed from the items and empty
 * items are dropped (an empty link or hashtag means nothing, and Normalize never makes one).
 */
export function joinList(items: ReadonlyArray<string>): string {
  let out = ""
  for (const item of items) {
    const clean = item.includes("\u001f") ? item.replaceAll("\u001f", "") : item
    if (clean === "") continue
    out += out === "" ? clean : "\u001f" + clean
  }
  return out
}

/** JSON text for a jsonb value (jsonb rejects the NUL escape). */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value)
  return text.includes("\\u0000") ? JSON.stringify(clean(value)) : text
}

function clean(value: unknown): unknown {
  if (typeof value === "string") return stripNul(value)
  if (Array.isArray(value)) return value.map(clean)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripNul(k), clean(v)]))
  }
  return value
}
