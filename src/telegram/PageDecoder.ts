/**
 * Where getHistory answers are decoded. GramJS decodes an answer on the thread that reads the connection, and decoding
 * a page of 100 posts (TL objects, then tgpulse's normalizing) costs more than everything else a sync does with it, so
 * with one thread the database writes of one page wait for the decoding of the next. The connection thread now only
 * decrypts and unpacks an answer (RawHistoryRequest hands over its bytes), and a pool of decode workers turns the
 * bytes into a normalized page: decoding, normalizing and writing run on different cores. A page goes to the worker
 * with the fewest pages in hand; the bytes are transferred, the page comes back as structured data (plain records).
 * Pages in hand are bounded by the callers (each channel's walk waits for its page), so the workers hold at most the
 * pages already requested. A worker that dies fails the pages it held (the walk retries them) and is replaced; one
 * that dies before its first answer (its module could not load: a binary built without it) is not, and pages are
 * then decoded on the calling thread. With 0 workers, answers are decoded on the calling thread.
 */
import type { HistoryPage } from "../domain/Telegram.ts"
import type { DecodeReply, DecodeRequest } from "./DecodeWorker.ts"
import { decodeHistory } from "./PageDecoding.ts"

export interface PageDecoder {
  /** Decode threads (0: the calling thread). */
  readonly workers: number
  /** Channel `channelId`'s page from the raw bytes of its getHistory answer (the bytes are transferred). */
  history(bytes: Uint8Array<ArrayBuffer>, channelId: number): Promise<HistoryPage>
  /** Stops the workers; pages still in hand fail. */
  close(): void
}

/** Decodes on the calling thread. */
export const inlineDecoder: PageDecoder = {
  workers: 0,
  history: (bytes, channelId) => {
    try {
      return Promise.resolve(decodeHistory(bytes, channelId))
    } catch (e) {
      return Promise.reject(e)
    }
  },
  close: () => {},
}

interface Pending {
  readonly resolve: (page: HistoryPage) => void
  readonly reject: (error: Error) => void
}

interface Slot {
  worker: Worker
  readonly pending: Map<number, Pending>
  /** It has answered once (its module loaded). */
  answered: boolean
}

/** A pool of `workers` decode workers (0: `inlineDecoder`); `module` is the worker's (tests name a missing one). */
export function startPageDecoder(
  workers: number,
  module: URL = new URL("./DecodeWorker.ts", import.meta.url),
): PageDecoder {
  if (workers <= 0) return inlineDecoder
  let nextId = 0
  let closed = false
  /** A worker could not start: every page is decoded on the calling thread. */
  let inline = false
  const slots: Array<Slot> = []

  const failAll = (slot: Slot, error: Error) => {
    for (const p of slot.pending.values()) p.reject(error)
    slot.pending.clear()
  }
  const spawn = (slot: Slot) => {
    const worker = new Worker(module, { type: "module" })
    worker.onmessage = ({ data }: MessageEvent<DecodeReply>) => {
      const pending = slot.pending.get(data.id)
      slot.answered = true
      if (!pending) return
      slot.pending.delete(data.id)
      if ("page" in data) pending.resolve(data.page)
      else pending.reject(new Error(`could not decode a history page: ${data.error}`))
    }
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault()
      worker.terminate()
      failAll(slot, new Error(`the decode worker failed: ${event.message}`))
      if (!slot.answered) inline = true
      else if (!closed) slot.worker = spawn(slot)
    }
    return worker
  }
  for (let i = 0; i < workers; i++) {
    const slot: Slot = { worker: undefined as unknown as Worker, pending: new Map(), answered: false }
    slot.worker = spawn(slot)
    slots.push(slot)
  }

  return {
    workers,
    history: (bytes, channelId) => {
      if (closed) return Promise.reject(new Error("the page decoder is closed"))
      if (inline) return inlineDecoder.history(bytes, channelId)
      let slot = slots[0]!
      for (const s of slots) if (s.pending.size < slot.pending.size) slot = s
      const id = nextId++
      return new Promise<HistoryPage>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject })
        const request: DecodeRequest = { id, channelId, bytes }
        slot.worker.postMessage(request, [bytes.buffer])
      })
    },
    close: () => {
      if (closed) return
      closed = true
      for (const slot of slots) {
        slot.worker.terminate()
        failAll(slot, new Error("the page decoder is closed"))
      }
    },
  }
}
