/** Background publishing (`POST /channels/<id>/posts` with a rate): runs of posts paced by elapsed time. */
import type { WorldApi } from "../world/Model.ts"

/** Pacing step of background publishing, in milliseconds. */
const TICK_MS = 20

/** One background publishing run: `total` posts at `rate` per second, paced from `started`. */
interface Job {
  readonly channelId: number
  readonly total: number
  readonly rate: number
  readonly started: number
  done: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export class Publisher {
  private readonly jobs = new Set<Job>()

  constructor(private readonly world: WorldApi) {}

  /** Publishes `total` posts in the channel at `rate` per second, from now on. */
  start(channelId: number, run: { readonly total: number; readonly rate: number }): void {
    const job: Job = {
      channelId,
      total: run.total,
      rate: run.rate,
      started: performance.now(),
      done: 0,
      timer: undefined,
    }
    this.jobs.add(job)
    this.schedule(job)
  }

  /** Posts the channel's runs have still to publish. */
  pending(channelId: number): number {
    let pending = 0
    for (const job of this.jobs) if (job.channelId === channelId) pending += job.total - job.done
    return pending
  }

  /** Cancels every run. */
  close(): void {
    for (const job of this.jobs) if (job.timer !== undefined) clearTimeout(job.timer)
    this.jobs.clear()
  }

  // Paced by elapsed time, so late timers catch up instead of slowing the rate; batches of about rate × 20 ms.
  private schedule(job: Job): void {
    const nextDue = job.started + ((job.done + 1) / job.rate) * 1000
    job.timer = setTimeout(() => this.tick(job), Math.max(TICK_MS, nextDue - performance.now()))
  }

  private tick(job: Job): void {
    job.timer = undefined
    if (!this.jobs.has(job)) return
    const due = Math.min(job.total, Math.floor(((performance.now() - job.started) / 1000) * job.rate))
    if (due > job.done) {
      try {
        this.world.publish(job.channelId, due - job.done)
      } catch {
        this.jobs.delete(job)
        return
      }
      job.done = due
    }
    if (job.done >= job.total) this.jobs.delete(job)
    else this.schedule(job)
  }
}
