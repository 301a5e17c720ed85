/** The sandbox's only window on GramJS: its TL schema (layer 198) for decoding requests and encoding answers. */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import { Api } from "telegram"
import { BinaryReader } from "telegram/extensions/BinaryReader.js"
import bigInt from "big-integer"
import { Buffer } from "node:buffer"
import apiTl from "telegram/tl/apiTl.js"

export { Api, bigInt }
export type BigInteger = bigInt.BigInteger

/** The TL layer the sandbox speaks (GramJS 2.26.22). */
export const LAYER = 198

/** The TL text of that layer's API schema (data, read by Schema.ts for translating to and from other layers). */
export const API_TL: string = apiTl

/** Anything GramJS can serialize with `getBytes()`. */
export interface TlObject {
  getBytes(): Buffer
  readonly className: string
}

/** Decodes one boxed TL object (request or type) from `bytes`; throws on an unknown constructor. */
export function readObject(bytes: Uint8Array): unknown {
  return new BinaryReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).tgReadObject()
}

/** Converts a JS bigint to GramJS's `big-integer`. */
export function toLong(value: bigint | number): BigInteger {
  return bigInt(value.toString())
}

/** Converts GramJS's `big-integer` (or a number) to a JS bigint. */
export function fromLong(value: BigInteger | number | bigint): bigint {
  return typeof value === "bigint" ? value : BigInt(value.toString())
}
