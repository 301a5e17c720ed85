/** Arrays bound as one text parameter each (`{1,NULL,"a"}`) and cast in SQL: bulk statements over unnest(). */

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
