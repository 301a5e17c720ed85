/**
 * Where getHistory answers are decoded. GramJS decodes an answer on the thread that reads the connection, and decoding
 * a page of 100 posts (TL objects, then tgpulse's normalizing) costs more than everything else a sync does with it, so
 * with one thread the database writes of one page wait for the decoding of the next. The connection thread now only
 * decrypts and unpacks an answer (RawHistoryRequest hands over its bytes), and a pool of decode workers turns the
 * bytes into a normalized page: decoding, normalizing and writing run on different cores. A page goes to the worker
 * with the fewest pages in hand; the bytes are transferred, the page comes back as structured data (plain records).
 * Pages in hand are bounded by the callers (each channel's walk waits for its page), so the workers hold at most the
 * pages already requested. A worker takes pages once it said it is ready (loading GramJS takes it about 0.5 s):
 * until one is, pages are decoded on the calling thread, so the first pages of a run never wait for a worker to start.
 * A worker that dies fails the pages it held (the walk retries them) and is replaced; one that dies before it was
 * ready (its module could not load: a binary built without it) is not. With 0 workers, answers are decoded on the
 * calling thread.
 */
import type { HistoryPage } from "../domain/Telegram.ts"
import type { DecodeReply, DecodeRequest } from "./DecodeWorker.ts"
import { decodeHistory } from "./PageDecoding.ts"

export interface PageDecoder {
  /** Channel `channelId`'s page from the raw bytes of its getHistory answer (the bytes are transferred). */
  history(bytes: Uint8Array<ArrayBuffer>, channelId: number): Promise<HistoryPage>
  /** Once every worker is ready or failed to start: how many are ready. */
  started(): Promise<number>
  /** Stops the workers; pages still in hand fail. */
  close(): void
}

/** Decodes on the calling thread. */
export const inlineDecoder: PageDecoder = {
  // A throw of decodeHistory becomes the promise's rejection.
  history: (bytes, channelId) => new Promise((resolve) => resolve(decodeHistory(bytes, channelId))),
  started: () => Promise.resolve(0),
  close: () => {},
}

interface Pending {
  readonly resolve: (page: HistoryPage) => void
  readonly reject: (error: Error) => void
}

interface Slot {
  worker: Worker
  readonly pending: Map<number, Pending>
  /** Its modules are loaded: it takes pages. */
  ready: boolean
  /** Settled once it is ready or failed before it was. */
  readonly start: PromiseWithResolvers<boolean>
}

/**
 * The worker's module: DecodeWorker.ts beside this file, or DecodeWorker.js beside the bundle this runs from (the
 * image bundles both: see the Dockerfile).
 */
const WORKER_MODULE = new URL(
  import.meta.url.endsWith(".ts") ? "./DecodeWorker.ts" : "./DecodeWorker.js",
  import.meta.url,
)

/** A pool of `workers` decode workers (0: `inlineDecoder`); `module` is the worker's (tests name a missing one). */
export function startPageDecoder(workers: number, module: URL = WORKER_MODULE): PageDecoder {
  if (workers <= 0) return inlineDecoder
  let nextId = 0
  let closed = false
  const slots: Array<Slot> = []

  const failAll = (slot: Slot, error: Error) => {
    for (const p of slot.pending.values()) p.reject(error)
    slot.pending.clear()
  }
  const spawn = (slot: Slot) => {
    const worker = new Worker(module, { type: "module" })
    worker.onmessage = ({ data }: MessageEvent<DecodeReply>) => {
      if ("ready" in data) {
        slot.ready = true
        slot.start.resolve(true)
        return
      }
      const pending = slot.pending.get(data.id)
      if (!pending) return
      slot.pending.delete(data.id)
      if ("page" in data) pending.resolve(data.page)
      else pending.reject(new Error(`could not decode a history page: ${data.error}`))
    }
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault()
      worker.terminate()
      failAll(slot, new Error(`the decode worker failed: ${event.message}`))
      slot.start.resolve(false)
      if (slot.ready && !closed) {
        slot.ready = false
        slot.worker = spawn(slot)
      }
    }
    return worker
  }
  for (let i = 0; i < workers; i++) {
    const slot: Slot = {
      worker: undefined as unknown as Worker,
      pending: new Map(),
      ready: false,
      start: Promise.withResolvers<boolean>(),
    }
    slot.worker = spawn(slot)
    slots.push(slot)
  }

  return {
    history: (bytes, channelId) => {
      if (closed) return Promise.reject(new Error("the page decoder is closed"))
      let slot: Slot | undefined
      for (const s of slots) if (s.ready && (!slot || s.pending.size < slot.pending.size)) slot = s
      if (!slot) return inlineDecoder.history(bytes, channelId)
      const id = nextId++
      const chosen = slot
      return new Promise<HistoryPage>((resolve, reject) => {
        chosen.pending.set(id, { resolve, reject })
        const request: DecodeRequest = { id, channelId, bytes }
        chosen.worker.postMessage(request, [bytes.buffer])
      })
    },
    started: async () => (await Promise.all(slots.map((s) => s.start.promise))).filter(Boolean).length,
    close: () => {
      if (closed) return
      closed = true
      for (const slot of slots) {
        slot.start.resolve(false)
        slot.worker.terminate()
        failAll(slot, new Error("the page decoder is closed"))
      }
    },
  }
}
