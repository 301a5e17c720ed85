/**
 * The activity generator: background streams of mixed channel changes (new posts, edits, deletions, views, forwards,
 * reactions) at a rate, each change chosen from the world seed, the channel and its sequence number.
 */
import { PUSH_KINDS, type PushKind } from "../control/Control.ts"
import type { WorldApi } from "./Model.ts"
import { hash } from "./Hash.ts"
import { REACTION_EMOJI } from "./Posts.ts"

/** Relative weights of the kinds of change. */
export type ActivityMix = Readonly<Record<PushKind, number>>

export const DEFAULT_MIX: ActivityMix = { new: 30, edit: 15, delete: 5, views: 25, forwards: 10, reactions: 15 }

export interface ActivityStatus {
  /** Changes asked for since the start (every run of the channel). */
  readonly total: number
  readonly done: number
  readonly running: boolean
  /** Changes made, by kind (a change that needs a post in an empty channel becomes a new post). */
  readonly kinds: Readonly<Record<PushKind, number>>
}

const EMPTY_KINDS: Readonly<Record<PushKind, number>> = {
  new: 0,
  edit: 0,
  delete: 0,
  views: 0,
  forwards: 0,
  reactions: 0,
}

/** Changes pick their target among this many newest posts, the newest most often. */
const RECENT_WINDOW = 1_000
/** Pacing step, in milliseconds (as background publishing). */
const TICK_MS = 20
const U32 = 4_294_967_296

// Hash salts: one per independent decision about a change.
const S_KEY = 0x41637401
const S_KIND = 0x41637402
const S_TARGET = 0x41637403
const S_AMOUNT = 0x41637404
const S_EMOJI = 0x41637405

/** The position (0 = newest) of a change's target: u² over the recent window favours the newest posts. */
function targetPosition(key: number, seq: number, count: number): number {
  const u = hash(key, S_TARGET, seq) / U32
  return Math.floor(u * u * Math.min(count, RECENT_WINDOW))
}

/** " (edit N)" replaces an earlier one, so texts do not grow with every edit. */
function editedText(text: string, seq: number): string {
  return `${text.replace(/ \(edit \d+\)$/, "")} (edit ${seq})`
}

function pickKind(key: number, seq: number, mix: ActivityMix): PushKind {
  let total = 0
  for (const kind of PUSH_KINDS) total += mix[kind]
  let r = (hash(key, S_KIND, seq) / U32) * total
  for (const kind of PUSH_KINDS) {
    r -= mix[kind]
    if (r < 0 && mix[kind] > 0) return kind
  }
  return PUSH_KINDS.findLast((k) => mix[k] > 0) ?? "new"
}

/**
 * Applies change number `seq` of the channel and returns its kind. Deterministic: the same world state, seed, channel
 * and `seq` give the same change. Edits, views, forwards and reactions target an existing recent post; a deletion
 * removes 1-3 consecutive recent posts.
 */
export function applyChange(world: WorldApi, channelId: number, seq: number, mix: ActivityMix = DEFAULT_MIX): PushKind {
  const key = hash(hash(world.seed >>> 0, S_KEY, Math.floor(world.seed / U32) >>> 0), S_KEY, channelId)
  const count = world.postCount(channelId)
  const kind = count === 0 ? "new" : pickKind(key, seq, mix)
  if (kind === "new") {
    world.publish(channelId, 1)
    return kind
  }
  const position = targetPosition(key, seq, count)
  const id = world.nthNewest(channelId, position)!
  const amount = hash(key, S_AMOUNT, seq)
  switch (kind) {
    case "edit":
      world.edit(channelId, id, editedText(world.posts(channelId, [id])[0]!.text, seq))
      break
    case "delete": {
      const n = Math.min(1 + (amount % 3), count - position)
      const ids: Array<number> = []
      for (let i = 0; i < n; i++) ids.push(world.nthNewest(channelId, position + i)!)
      world.delete(channelId, ids)
      break
    }
    case "views":
      world.bumpViews(channelId, 1 + (amount % 100), [id])
      break
    case "forwards":
      world.bumpForwards(channelId, 1 + (amount % 3), [id])
      break
    case "reactions":
      world.react(channelId, id, REACTION_EMOJI[hash(key, S_EMOJI, seq) % REACTION_EMOJI.length]!, 1 + (amount % 3))
      break
  }
  return kind
}

/** Checks a mix: weights of known kinds, finite and non-negative, not all zero; unnamed kinds weigh 0. */
export function parseMix(value: Readonly<Record<string, unknown>>): ActivityMix {
  const mix: Record<PushKind, number> = { ...EMPTY_KINDS }
  for (const [key, weight] of Object.entries(value)) {
    if (!(PUSH_KINDS as ReadonlyArray<string>).includes(key)) {
      throw new RangeError(`Unknown kind "${key}"; expected ${PUSH_KINDS.map((k) => `"${k}"`).join(", ")}`)
    }
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`Weight of "${key}" must be a non-negative number`)
    }
    mix[key as PushKind] = weight
  }
  if (PUSH_KINDS.every((k) => mix[k] === 0)) throw new RangeError("At least one weight must be positive")
  return mix
}

interface Job {
  readonly channelId: number
  readonly total: number
  readonly rate: number
  readonly mix: ActivityMix
  readonly started: number
  done: number
  timer: ReturnType<typeof setTimeout> | undefined
}

interface ChannelActivity {
  /** Sequence number of the channel's next change (runs continue it). */
  seq: number
  total: number
  done: number
  readonly kinds: Record<PushKind, number>
  readonly jobs: Set<Job>
}

/** Runs of the activity generator, per channel; `close` cancels every pending change. */
export class Activity {
  private readonly channels = new Map<number, ChannelActivity>()

  constructor(private readonly world: WorldApi, private readonly nowMs: () => number = () => performance.now()) {}

  /**
   * Starts `count` changes: at `rate` per second in the background (paced by elapsed time, so late timers catch up
   * instead of slowing the rate), or all at once when `rate` is undefined.
   */
  start(channelId: number, run: { count: number; rate?: number; mix?: ActivityMix }): ActivityStatus {
    if (!this.world.channel(channelId)) throw new RangeError(`Unknown channel ${channelId}`)
    const state = this.stateOf(channelId)
    const mix = run.mix ?? DEFAULT_MIX
    state.total += run.count
    if (run.rate === undefined) {
      this.apply(state, channelId, run.count, mix)
      return this.status(channelId)
    }
    const job: Job = {
      channelId,
      total: run.count,
      rate: run.rate,
      mix,
      started: this.nowMs(),
      done: 0,
      timer: undefined,
    }
    state.jobs.add(job)
    this.schedule(job)
    return this.status(channelId)
  }

  status(channelId: number): ActivityStatus {
    const state = this.channels.get(channelId)
    if (!state) return { total: 0, done: 0, running: false, kinds: { ...EMPTY_KINDS } }
    return { total: state.total, done: state.done, running: state.jobs.size > 0, kinds: { ...state.kinds } }
  }

  /** Cancels the channel's running jobs (their remaining changes are dropped from `total`). */
  stop(channelId: number): ActivityStatus {
    const state = this.channels.get(channelId)
    if (state) {
      for (const job of state.jobs) this.cancel(state, job)
    }
    return this.status(channelId)
  }

  close(): void {
    for (const state of this.channels.values()) for (const job of state.jobs) this.cancel(state, job)
  }

  private stateOf(channelId: number): ChannelActivity {
    let state = this.channels.get(channelId)
    if (!state) {
      state = { seq: 0, total: 0, done: 0, kinds: { ...EMPTY_KINDS }, jobs: new Set() }
      this.channels.set(channelId, state)
    }
    return state
  }

  private cancel(state: ChannelActivity, job: Job): void {
    if (job.timer !== undefined) clearTimeout(job.timer)
    job.timer = undefined
    state.total -= job.total - job.done
    state.jobs.delete(job)
  }

  private apply(state: ChannelActivity, channelId: number, n: number, mix: ActivityMix): void {
    for (let i = 0; i < n; i++) {
      state.kinds[applyChange(this.world, channelId, state.seq++, mix)]++
      state.done++
    }
  }

  private schedule(job: Job): void {
    const nextDue = job.started + ((job.done + 1) / job.rate) * 1000
    job.timer = setTimeout(() => this.tick(job), Math.max(TICK_MS, nextDue - this.nowMs()))
  }

  private tick(job: Job): void {
    job.timer = undefined
    const state = this.channels.get(job.channelId)
    if (!state || !state.jobs.has(job)) return
    const due = Math.min(job.total, Math.floor(((this.nowMs() - job.started) / 1000) * job.rate))
    try {
      for (; job.done < due; job.done++) this.apply(state, job.channelId, 1, job.mix)
    } catch {
      this.cancel(state, job)
      return
    }
    if (job.done >= job.total) state.jobs.delete(job)
    else this.schedule(job)
  }
}
