/**
 * The decode worker: turns the raw TL bytes of a messages.getHistory answer into a normalized HistoryPage on a thread
 * of its own (PageDecoder.ts starts it and says why). Once its modules are loaded it says `{ ready: true }`; then one
 * message in: `{ id, channelId, bytes }` (the bytes transferred, not copied); one message out: `{ id, page }` or
 * `{ id, error }`.
 */
import "./NoSchemaCache.ts" // first: GramJS must not see localStorage
import "./FastPaths.ts"
import { decodeHistory } from "./PageDecoding.ts"

export interface DecodeRequest {
  readonly id: number
  readonly channelId: number
  readonly bytes: Uint8Array<ArrayBuffer>
}

export type DecodeReply =
  | { readonly ready: true }
  | { readonly id: number; readonly page: import("../domain/Telegram.ts").HistoryPage }
  | { readonly id: number; readonly error: string }

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<DecodeRequest>) => void) | null
  postMessage(reply: DecodeReply): void
}

scope.onmessage = ({ data }) => {
  try {
    scope.postMessage({ id: data.id, page: decodeHistory(data.bytes, data.channelId) })
  } catch (e) {
    scope.postMessage({ id: data.id, error: e instanceof Error ? e.message : String(e) })
  }
}

scope.postMessage({ ready: true })
