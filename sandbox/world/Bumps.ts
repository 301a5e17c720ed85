/** Additions to a per-post counter (views, forwards): channel-wide bumps plus per-post deltas. */
import { firstAtLeast } from "./Search.ts"

export class Bumps {
  /** Channel-wide bump k applies to ids <= upTo[k]; prefix[k] = sum of the deltas before k. */
  private readonly upTo: Array<number> = []
  private readonly prefix: Array<number> = [0]
  private readonly deltas = new Map<number, number>()

  /** Adds `delta` to every id up to `maxId`. */
  addAll(maxId: number, delta: number): void {
    this.upTo.push(maxId)
    this.prefix.push(this.prefix[this.prefix.length - 1]! + delta)
  }

  add(id: number, delta: number): void {
    this.deltas.set(id, (this.deltas.get(id) ?? 0) + delta)
  }

  forget(id: number): void {
    this.deltas.delete(id)
  }

  /** The sum of the bumps that apply to `id`. */
  of(id: number): number {
    let total = this.deltas.size === 0 ? 0 : this.deltas.get(id) ?? 0
    if (this.upTo.length > 0) {
      const k = firstAtLeast(this.upTo, id)
      total += this.prefix[this.prefix.length - 1]! - this.prefix[k]!
    }
    return total
  }
}
