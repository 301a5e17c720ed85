/**
 * Benchmark phases of the sandbox's memory (issue 19): the peak RSS of the sandbox process (its own, as `deno task
 * sandbox` runs it) while a large world is read end to end by the raw load client, and while live update streams (raw
 * clients whose sessions asked for updates, one per account) follow steady publishing and editing.
 */
import { Api } from "telegram"
import bigInt from "big-integer"
import { authKeyOfSession, type Descriptor, RawClient } from "@tgpulse/sandbox"
import { memoryOf, pageRequest, spawnSandbox } from "./sandbox.ts"

export interface MemoryBenchOptions {
  /** Public channels of the large world. */
  readonly channels: number
  /** Posts per channel. */
  readonly posts: number
  /** Sessions that asked for updates. */
  readonly streams: number
  readonly streamSeconds: number
  /** Posts published and edited per second, over all channels. */
  readonly streamRate: number
  /** Requests the raw load client keeps in flight. */
  readonly inflight: number
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

/** Targets of issue 19: peak RSS while the large world is read, and with the update streams. */
const READ_TARGET_MB = 300
const STREAMS_TARGET_MB = 500

/** A sandbox of `channels` x `posts`: every channel read end to end, then `streams` update streams. */
export async function benchSandboxMemory(options: MemoryBenchOptions): Promise<Record<string, number>> {
  const started = performance.now()
  const sandbox = await spawnSandbox({
    channels: options.channels,
    posts: options.posts,
    accounts: Math.max(3, options.streams),
  })
  const startSeconds = (performance.now() - started) / 1000
  try {
    const startRss = (await memoryOf(sandbox.pid)).rss
    const read = await readWorld(sandbox.descriptor, sandbox.pid, options)
    const readPeak = (await memoryOf(sandbox.pid)).peak
    const total = options.channels * options.posts
    options.report(
      `large world              ${options.channels} channels x ${options.posts} posts, started in ` +
        `${startSeconds.toFixed(1)} s (RSS ${startRss} MB); read end to end in ${read.seconds.toFixed(0)} s ` +
        `(${Math.round(read.posts / read.seconds)} posts/s, ${read.errors} errors)`,
    )
    options.report(`sandbox peak RSS, read   ${readPeak} MB (target <= ${READ_TARGET_MB})`)
    // From here on the peak is the streams' own (Linux: writing 5 to clear_refs resets VmHWM to the current RSS).
    const reset = await Deno.writeTextFile(`/proc/${sandbox.pid}/clear_refs`, "5").then(() => true, () => false)
    const streams = await streamUpdates(sandbox.descriptor, options)
    const streamsPeak = (await memoryOf(sandbox.pid)).peak
    options.report(
      `update streams           ${options.streams} sessions, ${streams.changes} posts published and edited in ` +
        `${options.streamSeconds} s; ${streams.received} updates received (${streams.expected} pushed)`,
    )
    options.report(
      `sandbox peak RSS, streams ${streamsPeak} MB (target <= ${STREAMS_TARGET_MB}${
        reset ? "" : "; the process's peak since its start"
      })`,
    )
    return {
      largeWorldChannels: options.channels,
      largeWorldPosts: total,
      largeWorldReadSeconds: Math.round(read.seconds),
      largeWorldPostsPerSec: Math.round(read.posts / read.seconds),
      largeWorldErrors: read.errors,
      largeWorldPeakRssMb: readPeak,
      streams: options.streams,
      streamChanges: streams.changes,
      streamUpdatesReceived: streams.received,
      streamUpdatesPushed: streams.expected,
      streamsPeakRssMb: streamsPeak,
    }
  } finally {
    await sandbox.stop()
  }
}

/**
 * Every public channel read end to end, newest to oldest, in pages of 100 asked by add_offset (each page on its own,
 * so `inflight` are asked at once); the sandbox's RSS after each channel goes to `progress`.
 */
export async function readWorld(descriptor: Descriptor, pid: number, options: MemoryBenchOptions) {
  const dc = descriptor.dcs.find((d) => d.id === descriptor.mainDc)!
  const raw = await RawClient.connect(dc.host, dc.port, authKeyOfSession(descriptor.accounts[0]!.session))
  const started = performance.now()
  let posts = 0
  let errors = 0
  try {
    for (const [i, channel] of descriptor.channels.filter((c) => !c.private).entries()) {
      const pages = Math.ceil(channel.posts / 100)
      let next = 0
      const lane = async () => {
        while (next < pages) {
          const page = next++
          if (await raw.call(pageRequest(channel, 0, page * 100).getBytes())) {
            posts += Math.min(100, channel.posts - page * 100)
          } else errors++
        }
      }
      await Promise.all(Array.from({ length: options.inflight }, lane))
      const m = await memoryOf(pid)
      options.progress(
        `channel ${i + 1}: ${channel.posts} posts read; ${posts} in ${
          ((performance.now() - started) / 1000).toFixed(0)
        } s; ` +
          `sandbox RSS ${m.rss} MB, peak ${m.peak} MB`,
      )
    }
  } finally {
    await raw.close()
  }
  return { posts, errors, seconds: (performance.now() - started) / 1000 }
}

/**
 * `streams` raw clients, one per account, each having made a plain call (updates.getState: its session gets updates),
 * read every pushed Updates while posts are published and edited at `streamRate` per second over the public channels.
 */
export async function streamUpdates(descriptor: Descriptor, options: MemoryBenchOptions) {
  const dc = descriptor.dcs.find((d) => d.id === descriptor.mainDc)!
  const admin = (path: string, body?: unknown) =>
    fetch(`${descriptor.admin}${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    }).then((r) => r.json())
  const clients = await Promise.all(
    descriptor.accounts.slice(0, options.streams).map(async (account) => {
      const raw = await RawClient.connect(dc.host, dc.port, authKeyOfSession(account.session))
      if (!await raw.call(new Api.updates.GetState().getBytes())) throw new Error("updates.getState failed")
      return raw
    }),
  )
  let received = 0
  const drains = clients.map(async (raw) => {
    const unacked: Array<bigint> = []
    for (;;) {
      const m = await raw.next(() => true, 3_600_000).catch(() => undefined)
      if (m === undefined) return
      if (m.ctor !== Api.Updates.CONSTRUCTOR_ID) continue
      received += new DataView(m.body.buffer, m.body.byteOffset + 8, 4).getInt32(0, true)
      // Pushes are content-related: acknowledged as a client does.
      unacked.push(m.msgId)
      if (unacked.length >= 16) {
        raw.send(new Api.MsgsAck({ msgIds: unacked.splice(0).map((id) => bigInt(id.toString())) }).getBytes(), {
          contentRelated: false,
        })
      }
    }
  })
  const channels = descriptor.channels.filter((c) => !c.private)
  const { lastSeq } = await admin(`/pushes?since=${Number.MAX_SAFE_INTEGER}`) as { lastSeq: number }
  const rate = options.streamRate / channels.length
  const count = Math.max(1, Math.round(rate * options.streamSeconds))
  for (const c of channels) await admin(`/channels/${c.id}/activity`, { count, rate, mix: { new: 1, edit: 1 } })
  while ((await Promise.all(channels.map((c) => admin(`/channels/${c.id}/activity`)))).some((s) => s.running)) {
    await new Promise((r) => setTimeout(r, 200))
  }
  // Every push sent, counted by the push log: each entry says to how many sessions its update went.
  let expected = 0
  let since = lastSeq
  for (;;) {
    const page = await admin(`/pushes?since=${since}`) as { entries: Array<{ seq: number; sent: number }> }
    if (page.entries.length === 0) break
    for (const e of page.entries) expected += e.sent
    since = page.entries.at(-1)!.seq
  }
  const deadline = performance.now() + 60_000
  while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  await Promise.all(clients.map((c) => c.close()))
  await Promise.all(drains)
  return { changes: count * channels.length, received, expected }
}
