/**
 * API method names as the sandbox matches them (GramJS's class casing, `messages.GetHistory`), from that casing or the
 * TL schema's (`messages.getHistory`), so that a fault or a flood budget never names a method that no call matches.
 */
import { Api } from "./Tl.ts"

/**
 * The matching name of `name` ("*": every method). Throws a RangeError naming it when it is no API method, such as a
 * misspelling or a constructor (`messages.Messages`).
 */
export function methodName(name: string): string {
  if (name === "*") return name
  const dot = name.lastIndexOf(".")
  const namespace = dot < 0 ? undefined : name.slice(0, dot)
  const fn = name.slice(dot + 1)
  const className = fn.charAt(0).toUpperCase() + fn.slice(1)
  const holder = (namespace === undefined ? Api : (Api as unknown as Record<string, unknown>)[namespace]) as
    | Record<string, { readonly classType?: unknown }>
    | undefined
  const found = typeof holder === "object" || typeof holder === "function" ? holder[className] : undefined
  if (found?.classType !== "request") {
    throw new RangeError(
      `"${name}" is no API method (expected a method as the TL schema or GramJS names it: messages.getHistory or ` +
        `messages.GetHistory)`,
    )
  }
  return namespace === undefined ? className : `${namespace}.${className}`
}
