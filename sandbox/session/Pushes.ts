/**
 * Pushed updates: every world event becomes one Update, encoded once and written to every live session of the
 * channel's member accounts (on every DC), unless an operator rule withholds it; every push is logged.
 */
import { Writer } from "../transport/Bytes.ts"
import type { PushControl, PushEntry, PushKind, WithholdRule } from "../control/Control.ts"
import type { LogFn } from "./Dc.ts"
import type { WorldApi, WorldEvent } from "../world/Model.ts"
import { PushLog } from "../control/PushLog.ts"
import { encodeUpdate } from "../tl/Encode.ts"
import { renderChannel, renderUserAs } from "../tl/Render.ts"
import { Api } from "../tl/Tl.ts"

/** Where pushes go: a DC writes `body` to every live session authorized as `userId` and says how many. */
export interface PushTarget {
  push(userId: number, body: Uint8Array): number
}

export interface PushesOptions {
  readonly world: WorldApi
  /** Every DC of the sandbox. */
  readonly targets: ReadonlyArray<PushTarget>
  /** Wall clock in milliseconds (push log times). */
  nowMs(): number
  /** Push log entries kept. @default PUSH_LOG_SIZE */
  readonly logSize?: number
  readonly log?: LogFn
}

/** Updates per pushed `Updates` message, and its size cap: events of one task go out together, as Telegram does. */
const MAX_UPDATES_PER_PUSH = 100
const MAX_BYTES_PER_PUSH = 256 * 1024

interface Rule {
  readonly channelId: number | undefined
  readonly kinds: ReadonlySet<PushKind> | undefined
  remaining: number | undefined
}

/** A log entry being filled in while its update is written. */
interface Pending {
  readonly entry: Omit<PushEntry, "seq" | "at" | "sent" | "withheld">
  readonly withheld: boolean
  sent: number
}

/** One `Updates` message for one account: the updates, the channels they need, the log entries they carry. */
interface Batch {
  readonly updates: Array<Uint8Array>
  bytes: number
  readonly chats: Set<number>
  /** Users the updates mention (megagroup authors): a client reads them from the same Updates, as on Telegram. */
  readonly users: Set<number>
  readonly pending: Array<Pending>
}

const KIND_OF: Readonly<Record<WorldEvent["_tag"], PushKind>> = {
  NewPost: "new",
  EditPost: "edit",
  DeletePosts: "delete",
  Views: "views",
  Forwards: "forwards",
  Reactions: "reactions",
}

function describe(event: WorldEvent): Pending["entry"] {
  const { channelId } = event
  const kind = KIND_OF[event._tag]
  switch (event._tag) {
    case "NewPost":
    case "EditPost":
      return { channelId, kind, pts: event.pts, ptsCount: 1, ids: [event.post.id] }
    case "DeletePosts":
      return { channelId, kind, pts: event.pts, ptsCount: event.ids.length, ids: event.ids }
    default:
      return { channelId, kind, ids: [event.id] }
  }
}

/**
 * World events are queued and pushed in a microtask, so a world change never waits for encryption or sockets, and the
 * events of one task (a batch of the activity generator) share `Updates` messages per account, in event order.
 */
export class Pushes implements PushControl {
  private readonly pushLog: PushLog
  private queue: Array<WorldEvent> = []
  private scheduled = false
  private readonly withholding: Array<Rule> = []
  private withheldTotal = 0
  /** renderChannel(info, userId) bytes: a channel looks different to its creator, its admins and the others. */
  private readonly chatBytes = new Map<string, Uint8Array>()

  constructor(private readonly options: PushesOptions) {
    this.pushLog = new PushLog(options.logSize)
  }

  get lastSeq(): number {
    return this.pushLog.lastSeq
  }

  get withheld(): number {
    return this.withheldTotal
  }

  since(since: number, channelId?: number): ReadonlyArray<PushEntry> {
    return this.pushLog.since(since, channelId)
  }

  withhold(rule: WithholdRule): void {
    if (rule.remaining !== undefined && !(Number.isInteger(rule.remaining) && rule.remaining > 0)) {
      throw new RangeError("remaining must be a positive integer")
    }
    this.withholding.push({
      channelId: rule.channelId,
      kinds: rule.kinds === undefined ? undefined : new Set(rule.kinds),
      remaining: rule.remaining,
    })
  }

  release(channelId?: number): void {
    for (let i = this.withholding.length - 1; i >= 0; i--) {
      if (channelId === undefined || this.withholding[i]!.channelId === channelId) this.withholding.splice(i, 1)
    }
  }

  rules(): ReadonlyArray<WithholdRule> {
    return this.withholding.map((r) => ({
      ...(r.channelId === undefined ? {} : { channelId: r.channelId }),
      ...(r.kinds === undefined ? {} : { kinds: [...r.kinds] }),
      ...(r.remaining === undefined ? {} : { remaining: r.remaining }),
    }))
  }

  /** Queues a world event (the world's listener). */
  enqueue(event: WorldEvent): void {
    this.queue.push(event)
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => this.flush())
  }

  /** Pushes every queued event now. */
  flush(): void {
    this.scheduled = false
    const events = this.queue
    if (events.length === 0) return
    this.queue = []
    const { world } = this.options
    const at = this.options.nowMs()
    const pending: Array<Pending> = []
    const batches = new Map<number, Array<Batch>>()
    try {
      for (const event of events) {
        const entry = describe(event)
        const p: Pending = { entry, withheld: this.take(entry), sent: 0 }
        pending.push(p)
        if (p.withheld) continue
        const info = world.channel(event.channelId)
        if (!info || info.memberUserIds.length === 0) continue
        const update = encodeUpdate(event)
        // The chats and users the update mentions besides its channel: a forward's source, a megagroup author.
        const post = event._tag === "NewPost" || event._tag === "EditPost" ? event.post : undefined
        const source = post?.forward?.channelId
        const chats = source !== undefined && world.channel(source) ? [info.id, source] : [info.id]
        const author = post?.fromUserId
        for (const userId of info.memberUserIds) {
          let list = batches.get(userId)
          if (!list) batches.set(userId, list = [])
          let batch = list[list.length - 1]
          if (
            !batch || batch.updates.length >= MAX_UPDATES_PER_PUSH ||
            batch.bytes + update.length > MAX_BYTES_PER_PUSH
          ) {
            list.push(batch = { updates: [], bytes: 0, chats: new Set(), users: new Set(), pending: [] })
          }
          batch.updates.push(update)
          batch.bytes += update.length
          for (const chat of chats) batch.chats.add(chat)
          if (author !== undefined) batch.users.add(author)
          batch.pending.push(p)
        }
      }
      const date = world.now()
      for (const [userId, list] of batches) {
        for (const batch of list) {
          const body = this.updatesBody(userId, batch, date)
          let sent = 0
          for (const target of this.options.targets) sent += target.push(userId, body)
          for (const p of batch.pending) p.sent += sent
        }
      }
    } catch (error) {
      this.options.log?.("error", "push failed", { error: error instanceof Error ? error.stack : String(error) })
    }
    for (const p of pending) {
      this.pushLog.append({ ...p.entry, at, sent: p.sent, ...(p.withheld ? { withheld: true as const } : {}) })
    }
  }

  /** True when a rule withholds this push (the first matching rule counts it). */
  private take(entry: Pending["entry"]): boolean {
    for (let i = 0; i < this.withholding.length; i++) {
      const rule = this.withholding[i]!
      if (rule.channelId !== undefined && rule.channelId !== entry.channelId) continue
      if (rule.kinds !== undefined && !rule.kinds.has(entry.kind)) continue
      if (rule.remaining !== undefined && --rule.remaining <= 0) this.withholding.splice(i, 1)
      this.withheldTotal++
      return true
    }
    return false
  }

  /** `updates#74ae4240 updates users chats date seq` around already encoded updates. */
  private updatesBody(userId: number, batch: Batch, date: number): Uint8Array {
    const w = new Writer(batch.bytes + 512 * batch.chats.size + 64)
    w.uint32(Api.Updates.CONSTRUCTOR_ID).vector(batch.updates.length)
    for (const u of batch.updates) w.raw(u)
    w.vector(batch.users.size)
    for (const id of batch.users) w.raw(renderUserAs(this.options.world, id, userId).getBytes())
    w.vector(batch.chats.size)
    for (const channelId of batch.chats) w.raw(this.chatOf(channelId, userId))
    return w.int32(date).int32(0).finish()
  }

  private chatOf(channelId: number, userId: number): Uint8Array {
    const key = `${channelId}:${userId}`
    let bytes = this.chatBytes.get(key)
    if (bytes === undefined) {
      bytes = renderChannel(this.options.world.channel(channelId)!, userId).getBytes()
      this.chatBytes.set(key, bytes)
    }
    return bytes
  }
}
