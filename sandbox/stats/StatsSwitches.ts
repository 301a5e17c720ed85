/** The statistics switches an operator flips through the admin API (see `StatsControl`). */
import type { StatsControl } from "../control/Control.ts"

const keyOf = (channelId: number, graph: string): string => `${channelId}\u0000${graph}`

export class StatsSwitches implements StatsControl {
  private readonly broken = new Map<string, { readonly channelId: number; readonly graph: string }>()
  private pending = 0
  private readonly hiddenDcs = new Set<number>()

  setMalformed(channelId: number, graph: string, malformed: boolean): void {
    if (malformed) this.broken.set(keyOf(channelId, graph), { channelId, graph })
    else this.broken.delete(keyOf(channelId, graph))
  }

  isMalformed(channelId: number, graph: string): boolean {
    return this.broken.size > 0 && this.broken.has(keyOf(channelId, graph))
  }

  malformed(): ReadonlyArray<{ readonly channelId: number; readonly graph: string }> {
    return [...this.broken.values()].sort((a, b) =>
      a.channelId - b.channelId || (a.graph < b.graph ? -1 : a.graph > b.graph ? 1 : 0)
    )
  }

  expireNext(count: number): void {
    if (!(Number.isSafeInteger(count) && count >= 0)) throw new RangeError("count must be a non-negative integer")
    this.pending = count
  }

  get pendingExpired(): number {
    return this.pending
  }

  takeBornExpired(): boolean {
    if (this.pending <= 0) return false
    this.pending--
    return true
  }

  setStatsDcAdvertised(channelId: number, advertised: boolean): void {
    if (advertised) this.hiddenDcs.delete(channelId)
    else this.hiddenDcs.add(channelId)
  }

  statsDcAdvertised(channelId: number): boolean {
    return this.hiddenDcs.size === 0 || !this.hiddenDcs.has(channelId)
  }

  unadvertisedStatsDcs(): ReadonlyArray<number> {
    return [...this.hiddenDcs].sort((a, b) => a - b)
  }
}
