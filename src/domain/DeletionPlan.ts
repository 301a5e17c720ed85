/**
 * The deletion probe's plan, free of I/O: a sweep asks Telegram about every stored, not deleted post of each channel
 * once (channels.getMessages, up to 100 ids a call), its calls spread evenly over the sweep period instead of a burst.
 * Only ids that exist in posts are asked about: a deletion is never inferred from a window (DESIGN.md), only from
 * Telegram answering messageEmpty for a message tgpulse stored.
 */

/** What channels.getMessages answered for the ids asked: those it returned and those it answered messageEmpty for. */
export interface ProbedIds {
  readonly found: ReadonlyArray<number>
  readonly empty: ReadonlyArray<number>
}

/** The most ids one channels.getMessages call takes. */
export const PROBE_BATCH = 100

/** One call of a sweep: a channel and up to PROBE_BATCH of its stored ids. */
export interface ProbeCall {
  readonly channelId: number
  readonly ids: ReadonlyArray<number>
}

/** Every channel's stored live ids cut into calls of at most `batch` ids, channel by channel, ascending ids. */
export function planSweep(
  channels: ReadonlyArray<{ readonly channelId: number; readonly ids: ReadonlyArray<number> }>,
  batch: number = PROBE_BATCH,
): ReadonlyArray<ProbeCall> {
  const calls: Array<ProbeCall> = []
  for (const { channelId, ids } of channels) {
    for (let i = 0; i < ids.length; i += batch) calls.push({ channelId, ids: ids.slice(i, i + batch) })
  }
  return calls
}

/**
 * The pause before each call of a sweep of `calls` calls over `periodMs`: the calls evenly spaced over the period
 * (one every periodMs / calls); none for an empty sweep.
 */
export function callSpacingMs(calls: number, periodMs: number): number {
  return calls <= 0 ? 0 : Math.floor(periodMs / calls)
}

/** The ids of `asked` Telegram answered messageEmpty for: deleted. Ids it did not mention are left alone. */
export function deletedIds(asked: ReadonlyArray<number>, answer: ProbedIds): ReadonlyArray<number> {
  const empty = new Set(answer.empty)
  const found = new Set(answer.found)
  return asked.filter((id) => empty.has(id) && !found.has(id))
}
