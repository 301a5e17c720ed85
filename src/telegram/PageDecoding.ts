/**
 * A messages.getHistory answer from its raw TL bytes to a normalized page: what the decode worker runs, and what runs
 * on the calling thread when there is no worker. `RawHistoryRequest` is the request whose answer GramJS hands over
 * undecoded (see PageDecoder.ts).
 */
import { Api } from "telegram/tl/api.js"
import { BinaryReader } from "telegram/extensions/BinaryReader.js"
import { Buffer } from "node:buffer"
import type { HistoryPage } from "../domain/Telegram.ts"
import { historyPage } from "./Normalize.ts"

/** Decodes and normalizes the answer's bytes (a TL `messages.Messages`) as channel `channelId`'s page. */
export function decodeHistory(bytes: Uint8Array, channelId: number): HistoryPage {
  const reader = new BinaryReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  return historyPage(reader.tgReadObject(), channelId)
}

/**
 * An answer left undecoded: its bytes, a copy owning its own buffer (so it can be transferred to a worker). Wrapped,
 * not bare: GramJS offers every answer to its entity cache, which walks anything with a `length` element by element.
 */
export interface RawAnswer {
  readonly bytes: Uint8Array<ArrayBuffer>
}

/**
 * messages.getHistory whose answer GramJS resolves as a RawAnswer instead of decoding it on the connection's thread.
 * Errors (RPC errors, FLOOD_WAIT) are read before the answer is, so they come as they do for any request.
 */
export class RawHistoryRequest extends Api.messages.GetHistory {
  readResult(reader: BinaryReader): RawAnswer {
    return { bytes: new Uint8Array(reader.read()) }
  }
}
