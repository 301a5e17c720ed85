/**
 * Benchmark: getHistory pages the sandbox serves per second, next to what one GramJS client consumes; how fast a large
 * world is created and paged; and how closely background changes keep their rates (the timings the sandbox's tests
 * leave to this benchmark).
 */
import { Api } from "telegram"
import bigInt from "big-integer"
import { authKeyOfSession, type Descriptor, historyQuery, parseDescriptor, RawClient, World } from "@tgpulse/sandbox"
import { makeGramClient } from "../src/telegram/GramClient.ts"

export interface SandboxBenchOptions {
  readonly posts: number
  readonly seconds: number
  /** Requests the raw load client keeps in flight. */
  readonly inflight: number
  readonly report: (line: string) => void
}

/** Starts `deno task sandbox` in its own process (so it has a core of its own) and waits for its descriptor. */
export async function spawnSandbox(
  options: {
    readonly channels: number
    readonly posts: number
    readonly accounts?: number
    /** `--flood` values (METHOD:RATE:BURST). */
    readonly flood?: ReadonlyArray<string>
  },
) {
  const out = await Deno.makeTempFile({ suffix: ".json" })
  await Deno.remove(out)
  const args = ["--channels", String(options.channels), "--posts", String(options.posts), "--out", out]
  if (options.accounts !== undefined) args.push("--accounts", String(options.accounts))
  for (const spec of options.flood ?? []) args.push("--flood", spec)
  const child = new Deno.Command(Deno.execPath(), {
    // As deno.json's `sandbox` task runs it (V8's memory saver mode: see sandbox/README.md, "Memory").
    args: ["run", "-A", "--v8-flags=--memory-saver-mode", "src/main.ts", "sandbox", ...args],
    stdout: "null",
    stderr: "null",
    env: { LOG_LEVEL: "warn" },
  }).spawn()
  const stop = async () => {
    child.kill("SIGTERM")
    await child.status
    await Deno.remove(out).catch(() => {})
  }
  for (let i = 0; i < 300; i++) {
    const text = await Deno.readTextFile(out).catch(() => undefined)
    if (text) return { descriptor: parseDescriptor(JSON.parse(text)), file: out, stop, pid: child.pid }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill("SIGKILL")
  throw new Error("the sandbox did not start within 30 s")
}

/** messages.getHistory for a page of 100 below `offsetId` (0: the newest), `addOffset` posts further. */
export function pageRequest(
  channel: { id: number; accessHash: string },
  offsetId: number,
  addOffset = 0,
): Api.messages.GetHistory {
  return new Api.messages.GetHistory({
    peer: new Api.InputPeerChannel({ channelId: bigInt(channel.id), accessHash: bigInt(channel.accessHash) }),
    offsetId,
    offsetDate: 0,
    addOffset,
    limit: 100,
    maxId: 0,
    minId: 0,
    hash: bigInt(0),
  })
}

/** A GramJS client of the descriptor's first test account, connected; `destroy()` it when done. */
export async function connectFirstAccount(descriptor: Descriptor) {
  const client = makeGramClient({
    session: descriptor.accounts[0]!.session,
    apiId: descriptor.apiId,
    apiHash: descriptor.apiHash,
    sandbox: descriptor,
  })
  await client.connect()
  return client
}

export async function benchSandbox(options: SandboxBenchOptions): Promise<Record<string, number>> {
  const world = benchWorld(options.report)
  const pacing = await benchPacing(options.report)
  const { descriptor, stop, pid } = await spawnSandbox({ channels: 1, posts: options.posts })
  const channel = descriptor.channels[0]!
  const account = descriptor.accounts[0]!
  try {
    // 1. One GramJS client walking the channel newest to oldest, decoding every page.
    const client = await connectFirstAccount(descriptor)
    const offsets: Array<number> = []
    let consumed = 0
    let pages = 0
    let offsetId = 0
    const started = performance.now()
    while (performance.now() - started < options.seconds * 1000) {
      offsets.push(offsetId)
      const r = await client.invoke(pageRequest(channel, offsetId)) as Api.messages.ChannelMessages
      if (r.messages.length === 0) {
        offsetId = 0
        continue
      }
      consumed += r.messages.length
      pages++
      offsetId = r.messages.at(-1)!.id
    }
    const clientSeconds = (performance.now() - started) / 1000
    await client.destroy()

    // 2. The same pages, replayed by a raw client that keeps several requests in flight and decodes nothing.
    const bodies = offsets.map((o) => pageRequest(channel, o).getBytes())
    const dc = descriptor.dcs.find((d) => d.id === descriptor.mainDc)!
    const raw = await RawClient.connect(dc.host, dc.port, authKeyOfSession(account.session))
    await raw.call(bodies[0]!) // learn the salt
    // One untimed pass: the sandbox caches a page the second time it is asked for (GramJS asked once).
    for (let i = 0; i < bodies.length; i += 8) await Promise.all(bodies.slice(i, i + 8).map((b) => raw.call(b)))
    let served = 0
    let failed = 0
    let next = 0
    const rawStarted = performance.now()
    const lane = async () => {
      while (performance.now() - rawStarted < options.seconds * 1000) {
        if (await raw.call(bodies[next++ % bodies.length]!)) served += 100
        else failed++
      }
    }
    await Promise.all(Array.from({ length: options.inflight }, lane))
    const rawSeconds = (performance.now() - rawStarted) / 1000

    // 3. Cold: moving the world clock changes every page, so each page is rendered afresh (one pass, no repeats).
    await fetch(`${descriptor.admin}/clock`, { method: "POST", body: JSON.stringify({ advance: 1 }) })
    let coldServed = 0
    let cursor = 0
    const coldStarted = performance.now()
    const coldLane = async () => {
      while (cursor < bodies.length) {
        if (await raw.call(bodies[cursor++]!)) coldServed += 100
        else failed++
      }
    }
    await Promise.all(Array.from({ length: options.inflight }, coldLane))
    const coldSeconds = (performance.now() - coldStarted) / 1000
    await raw.close()

    const clientRate = consumed / clientSeconds
    const sandboxRate = served / rawSeconds
    const coldRate = coldServed / coldSeconds
    options.report(`posts per channel        ${options.posts}`)
    options.report(
      `GramJS client consumed   ${Math.round(clientRate)} posts/s (${pages} pages in ${clientSeconds.toFixed(1)} s)`,
    )
    options.report(
      `sandbox served           ${Math.round(sandboxRate)} posts/s (${options.inflight} in flight, ${failed} errors)`,
    )
    options.report(`sandbox served, cold     ${Math.round(coldRate)} posts/s (every page rendered afresh)`)
    const peakRssMb = (await memoryOf(pid)).peak
    options.report(`sandbox peak RSS         ${peakRssMb} MB (after every phase above)`)
    options.report(
      `ratio served / consumed  ${(sandboxRate / clientRate).toFixed(2)} cached, ${
        (coldRate / clientRate).toFixed(2)
      } cold (target >= 2)`,
    )
    return {
      posts: options.posts,
      clientPostsPerSec: Math.round(clientRate),
      sandboxPostsPerSec: Math.round(sandboxRate),
      sandboxColdPostsPerSec: Math.round(coldRate),
      ratio: Number((sandboxRate / clientRate).toFixed(2)),
      coldRatio: Number((coldRate / clientRate).toFixed(2)),
      errors: failed,
      sandboxPeakRssMb: peakRssMb,
      ...world,
      ...pacing,
    }
  } finally {
    await stop()
  }
}

/** The resident set of process `pid` now and its peak (VmRSS, VmHWM) in MB; -1 where /proc has no such figure. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "")
  const mb = (field: string) => {
    const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN)
    return Number.isFinite(kb) ? Math.round(kb / 1024) : -1
  }
  return { rss: mb("VmRSS"), peak: mb("VmHWM") }
}

/** In this process: a world of 1,000,000 posts created, and deep history pages read from it. */
function benchWorld(report: (line: string) => void): Record<string, number> {
  const started = performance.now()
  const world = World.create({ seed: 3, channels: 1, posts: 1_000_000 })
  const createMs = performance.now() - started
  const channel = world.channels[0]!.id
  const pagesStarted = performance.now()
  for (let i = 0; i < 100; i++) {
    world.history(channel, historyQuery({ offsetId: 900_000 - i * 7_919, addOffset: i % 2 ? -50 : 0 }))
  }
  const pageMs = (performance.now() - pagesStarted) / 100
  report(
    `world of 1,000,000 posts created in ${createMs.toFixed(1)} ms (target < 100); ` +
      `a deep page in ${pageMs.toFixed(3)} ms (target < 5)`,
  )
  return { worldCreateMs: Number(createMs.toFixed(1)), worldDeepPageMs: Number(pageMs.toFixed(3)) }
}

/**
 * Background changes in a sandbox of their own: the activity generator on 5 channels at 500 changes/s each (1,500
 * each: 3 s asked), with a GramJS client receiving every update, then 1,000 posts published at 500/s (2 s asked).
 */
async function benchPacing(report: (line: string) => void): Promise<Record<string, number>> {
  const { descriptor, stop } = await spawnSandbox({ channels: 5, posts: 2_000 })
  const admin = async (path: string, body?: unknown) =>
    (await fetch(`${descriptor.admin}${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    })).json()
  const channels = descriptor.channels.filter((c) => !c.private)
  const client = await connectFirstAccount(descriptor)
  try {
    await client.getMe()
    let received = 0
    client.addEventHandler((update: any) => {
      if (typeof update?.className === "string" && update.className.startsWith("Update")) received++
    })
    const count = 1_500
    const rate = 500
    const total = count * channels.length
    const started = performance.now()
    for (const c of channels) await admin(`/channels/${c.id}/activity`, { count, rate })
    while ((await Promise.all(channels.map((c) => admin(`/channels/${c.id}/activity`)))).some((s) => s.running)) {
      await new Promise((r) => setTimeout(r, 20))
    }
    const ran = (performance.now() - started) / 1000
    while (received < total && performance.now() - started < 60_000) await new Promise((r) => setTimeout(r, 20))
    const delivered = (performance.now() - started) / 1000
    const updates = received
    const asked = count / rate
    report(
      `activity                 ${total} changes on ${channels.length} channels in ${ran.toFixed(2)} s ` +
        `(asked ${asked} s, target < ${(asked * 1.2 + 0.5).toFixed(1)}); ${updates} updates at the client in ` +
        `${delivered.toFixed(2)} s (target < ${(asked * 1.5 + 1).toFixed(1)})`,
    )
    const posts = 1_000
    const publishStarted = performance.now()
    await admin(`/channels/${channels[0]!.id}/posts`, { count: posts, rate })
    while ((await admin(`/channels/${channels[0]!.id}/publishing`)).pending > 0) {
      await new Promise((r) => setTimeout(r, 20))
    }
    const published = (performance.now() - publishStarted) / 1000
    report(
      `publishing               ${posts} posts at ${rate}/s in ${published.toFixed(2)} s (asked ${posts / rate} s)`,
    )
    return {
      activitySeconds: Number(ran.toFixed(2)),
      activityDeliveredSeconds: Number(delivered.toFixed(2)),
      activityUpdatesReceived: updates,
      publishingSeconds: Number(published.toFixed(2)),
    }
  } finally {
    await client.destroy()
    await stop()
  }
}
