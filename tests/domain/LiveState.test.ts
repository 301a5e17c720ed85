/**
 * LiveState, the update-ordering core of live updates: pts order and gaps, differences asked for (once at a time, after
 * the gap wait, again after a failure), counters held for posts not stored yet, counters from one account only, and
 * what a batch writes. Fed inputs with explicit times: no clock, no I/O.
 */
import {
  GAP_WAIT_MS,
  type LiveInput,
  LiveState,
  RECONNECT_CATCH_UP_MS,
  RECONNECT_CATCH_UPS_PER_SECOND,
  RETRY_DIFF_MS,
} from "../../src/domain/LiveState.ts"
import type { Post } from "../../src/domain/Post.ts"
import type { LiveEvent, MetricEvent, PtsEvent } from "../../src/domain/Updates.ts"
import { assertEquals } from "../support/assert.ts"
import { makePost } from "../support/posts.ts"

const CH = 7

const post = (msgId: number, text = `post ${msgId}`): Post => makePost(CH, msgId, { text, views: 1, forwards: 0 })

const event = (e: LiveEvent, at = 0, account = "a"): LiveInput => ({ _tag: "Event", event: e, at, account })
const newPost = (msgId: number, pts: number, at = 0) =>
  event({ _tag: "NewPost", channelId: CH, post: post(msgId), pts, ptsCount: 1 }, at)
const views = (msgId: number, n: number, account = "a") =>
  event({ _tag: "Views", channelId: CH, msgId, views: n }, 0, account)

const following = (pts = 100, storedTop = 10) => {
  const state = new LiveState()
  state.follow(CH, pts, storedTop)
  return state
}

Deno.test("LiveState: changes in pts order are written with the pts they reach; a repeated one is a duplicate", () => {
  const state = following()
  const step = state.step([
    newPost(11, 101, 5),
    event({ _tag: "EditPost", channelId: CH, post: post(11, "edited"), pts: 102, ptsCount: 1 }, 6),
    newPost(11, 101),
    event({ _tag: "DeletePosts", channelId: CH, ids: [3, 4], pts: 104, ptsCount: 2 }, 7),
  ], 10)
  const w = step.writes.get(CH)!
  assertEquals([...w.posts.values()].map((p) => p.text), ["edited"])
  assertEquals([...w.deleted], [3, 4])
  assertEquals(w.pts, 104)
  assertEquals([step.applied, step.duplicates, step.received], [3, 1, 4])
  assertEquals(step.committed.map((c) => c.pts), [101, 102, 104])
  assertEquals(step.diffs, [])
  assertEquals(state.pts(CH), 104)
})

Deno.test("LiveState: a gap holds what follows it; after the gap wait a difference is asked once, and fills it", () => {
  const state = following()
  // pts 101 never comes: 102 waits behind the gap.
  const first = state.step([newPost(12, 102)], 1_000)
  assertEquals(first.writes.get(CH)?.pts, undefined)
  assertEquals(first.diffs, [], "not before the gap wait")
  assertEquals(state.step([], 1_000 + GAP_WAIT_MS - 1).diffs, [])
  assertEquals(state.step([], 1_000 + GAP_WAIT_MS).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
  assertEquals(state.step([], 1_000 + GAP_WAIT_MS + 50).diffs, [], "one difference at a time")
  // The difference brings post 11 (pts 101): the held pts 102 applies after it.
  const filled = state.step([{
    _tag: "Diff",
    channelId: CH,
    viaHistory: false,
    diff: { _tag: "Difference", pts: 101, final: true, timeout: undefined, posts: [post(11)], events: [] },
  }], 2_000)
  const w = filled.writes.get(CH)!
  assertEquals([...w.posts.keys()].sort(), [11, 12])
  assertEquals(w.pts, 102)
  assertEquals([filled.differences, filled.gapsRecovered], [1, 1])
  assertEquals(state.pts(CH), 102)
  assertEquals(state.gapOpen, false, "no gap left: only an input can change anything now")
})

Deno.test("LiveState: gapOpen says when time alone may ask for a difference", () => {
  const state = following()
  assertEquals(state.gapOpen, false)
  state.step([newPost(12, 102)], 0)
  assertEquals(state.gapOpen, true, "pts 102 waits for 101")
  state.step([newPost(11, 101)], 1)
  assertEquals(state.gapOpen, false, "filled by the late push")
})

Deno.test("LiveState: a failed difference is asked again only after the retry wait; a partial one at once", () => {
  const state = following()
  state.step([newPost(12, 102)], 0)
  assertEquals(state.step([], GAP_WAIT_MS).diffs.length, 1)
  const failed = state.step([{ _tag: "DiffFailed", channelId: CH, error: "timeout" }], 1_000)
  assertEquals(failed.failedDiffs, [{ channelId: CH, error: "timeout" }])
  assertEquals(failed.diffs, [])
  assertEquals(state.step([], 1_000 + RETRY_DIFF_MS).diffs, [], "not within the retry wait")
  assertEquals(state.step([], 1_001 + RETRY_DIFF_MS).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
  // Not final: the next page is asked for at once, from the pts it reached.
  const partial = state.step([{
    _tag: "Diff",
    channelId: CH,
    viaHistory: false,
    diff: { _tag: "Difference", pts: 150, final: false, timeout: undefined, posts: [], events: [] },
  }], 4_000)
  assertEquals(partial.diffs, [{ channelId: CH, pts: 150, epoch: 1 }])
})

Deno.test("LiveState: reconnections in a row catch a channel up once per RECONNECT_CATCH_UP_MS, each after it", () => {
  const state = following()
  const connected = { _tag: "Connected", account: "a" } as const
  assertEquals(state.step([connected], 0).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
  state.step([difference(100, [])], 100)
  // Another account reconnects soon after: deferred, not dropped.
  assertEquals(state.step([{ ...connected, account: "b" }], 1_000).diffs, [])
  assertEquals(state.gapOpen, true, "the shell steps on its timer")
  assertEquals(state.step([{ ...connected, account: "c" }], 5_000).diffs, [])
  assertEquals(state.step([], RECONNECT_CATCH_UP_MS - 1).diffs, [])
  assertEquals(state.step([], RECONNECT_CATCH_UP_MS).diffs, [{ channelId: CH, pts: 100, epoch: 1 }], "one for both")
  state.step([difference(100, [])], RECONNECT_CATCH_UP_MS + 100)
  assertEquals(state.gapOpen, false)
  assertEquals(state.step([], 3 * RECONNECT_CATCH_UP_MS).diffs, [])
})

Deno.test("LiveState: a reconnection catches many channels up spread over time, every one of them", () => {
  const state = new LiveState()
  const channels = 4 * RECONNECT_CATCH_UPS_PER_SECOND
  for (let id = 1; id <= channels; id++) state.follow(id, 10, 0)
  const asked = new Set<number>()
  const first = state.step([{ _tag: "Connected", account: "a" }], 0).diffs
  first.forEach((d) => asked.add(d.channelId))
  assertEquals(first.length, RECONNECT_CATCH_UPS_PER_SECOND, "a burst at once")
  for (let t = 100; t <= 1_000; t += 100) state.step([], t).diffs.forEach((d) => asked.add(d.channelId))
  assertEquals(asked.size, 2 * RECONNECT_CATCH_UPS_PER_SECOND, "then the rate")
  for (let t = 1_100; t <= 3_000; t += 100) state.step([], t).diffs.forEach((d) => asked.add(d.channelId))
  assertEquals(asked.size, channels, "every channel in the end")
})

Deno.test("LiveState: a failed catch-up (no gap open) is asked again after the retry wait, doubling", () => {
  const state = following()
  assertEquals(state.catchUp(), [{ channelId: CH, pts: 100, epoch: 1 }])
  assertEquals(state.gapOpen, false)
  state.step([{ _tag: "DiffFailed", channelId: CH, epoch: 1, error: "account moving" }], 1_000)
  assertEquals(state.gapOpen, true, "the shell steps on its timer")
  assertEquals(state.step([], 1_000 + RETRY_DIFF_MS).diffs, [])
  assertEquals(state.step([], 1_001 + RETRY_DIFF_MS).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
  // Failing again: the wait doubles.
  state.step([{ _tag: "DiffFailed", channelId: CH, epoch: 1, error: "account moving" }], 4_000)
  assertEquals(state.step([], 4_000 + 2 * RETRY_DIFF_MS).diffs, [])
  assertEquals(state.step([], 4_001 + 2 * RETRY_DIFF_MS).diffs.length, 1)
  state.step([difference(100, [])], 9_000)
  assertEquals(state.gapOpen, false)
  assertEquals(state.step([], 20_000).diffs, [], "nothing more to ask once it succeeded")
})

Deno.test("LiveState: counters of a post not stored yet wait for it; counters from a second account are left out", () => {
  const state = following(100, 10)
  const early = state.step([views(12, 5), views(9, 3), views(9, 4, "b")], 0)
  assertEquals(early.writes.get(CH)?.metrics, [{ msgId: 9, views: 3 }], "12 is not stored; b is not the source")
  assertEquals(early.duplicates, 1)
  // Post 12 arrives: its held counters go in after it, in the same batch.
  const stored = state.step([newPost(11, 101), newPost(12, 102)], 1)
  assertEquals(stored.writes.get(CH)?.metrics, [{ msgId: 12, views: 5 }])
  state.committed(stored.writes)
  // Stored now: its counters apply at once.
  assertEquals(state.step([views(12, 6)], 2).writes.get(CH)?.metrics, [{ msgId: 12, views: 6 }])
  // A history sync beside stored post 30: the counters held for it are released.
  state.step([views(30, 1)], 3)
  assertEquals(
    state.step([{ _tag: "StoredTop", channelId: CH, top: 30 }], 4).writes.get(CH)?.metrics,
    [{ msgId: 30, views: 1 }],
  )
})

Deno.test("LiveState: a reconnection catches every channel up; a too-long difference via history rewrites no post", () => {
  const state = following()
  state.follow(8, 50, 0)
  assertEquals(state.step([{ _tag: "Connected", account: "a" }], 0).diffs, [
    { channelId: CH, pts: 100, epoch: 1 },
    { channelId: 8, pts: 50, epoch: 2 },
  ])
  const tooLong = state.step([{
    _tag: "Diff",
    channelId: CH,
    viaHistory: true,
    diff: { _tag: "TooLong", pts: 500, timeout: undefined, posts: [post(400)] },
  }], 1)
  assertEquals(tooLong.writes.get(CH)?.posts.size, 0)
  assertEquals(tooLong.writes.get(CH)?.pts, 500)
  assertEquals(tooLong.tooLong, 1)
  // Once stopping, nothing more is asked for.
  state.stop()
  assertEquals(state.catchUp(), [])
  assertEquals(state.step([{ _tag: "Connected", account: "a" }], 2).diffs, [])
})

Deno.test("LiveState: a channel that is not followed is ignored; ChannelTooLong asks for its difference", () => {
  const state = following()
  const other = state.step([event({ _tag: "Views", channelId: 99, msgId: 1, views: 1 })], 0)
  assertEquals([other.writes.size, other.received, other.applied], [0, 1, 0])
  assertEquals(state.step([event({ _tag: "ChannelTooLong", channelId: CH, pts: undefined })], 1).diffs, [
    { channelId: CH, pts: 100, epoch: 1 },
  ])
})

const reactions = (msgId: number, total: number) =>
  event({ _tag: "Reactions", channelId: CH, msgId, reactions: { "👍": total }, reactionsTotal: total })
const withReactions = (msgId: number, total: number, text = `post ${msgId}`): Post => ({
  ...post(msgId, text),
  reactions: { "👍": total },
  reactionsTotal: total,
})
/** A final difference reaching `pts` with these new posts and events. */
const difference = (
  pts: number,
  posts: ReadonlyArray<Post>,
  events: ReadonlyArray<PtsEvent | MetricEvent> = [],
): LiveInput => ({
  _tag: "Diff",
  channelId: CH,
  viaHistory: false,
  diff: { _tag: "Difference", pts, final: true, timeout: undefined, posts, events },
})
const editPost = (p: Post, pts: number) => event({ _tag: "EditPost", channelId: CH, post: p, pts, ptsCount: 1 })

Deno.test("LiveState: an edit released from behind a gap does not undo the counters received after it", () => {
  const state = following(100, 10)
  // The edit (pts 102) carries post 5 as it was then, 1 reaction; it waits for pts 101. Reactions go on meanwhile.
  const held = state.step([editPost(withReactions(5, 1, "edited"), 102), reactions(5, 2), reactions(5, 3)], 0)
  assertEquals(held.writes.get(CH)?.metrics.at(-1), { msgId: 5, reactions: { "👍": 3 }, reactionsTotal: 3 })
  // pts 101 comes: the edit is written, and after it (the shell writes posts, then counters) the reactions it missed.
  const released = state.step([newPost(11, 101)], 1).writes.get(CH)!
  assertEquals(released.posts.get(5)?.text, "edited")
  assertEquals(released.metrics, [{ msgId: 5, reactions: { "👍": 3 }, reactionsTotal: 3 }])
  // A counter received before a post snapshot that is applied at once is older than it: the snapshot stands alone.
  const fresh = state.step([reactions(5, 4), editPost(withReactions(5, 4, "again"), 103)], 2).writes.get(CH)!
  assertEquals([fresh.posts.get(5)?.text, fresh.metrics], ["again", []])
})

Deno.test("LiveState: a difference's posts are as new as its request: older held counters are dropped, newer ones kept", () => {
  const state = following(100, 10)
  // Post 12 is not stored: its reactions wait for it. pts 102 opens a gap; after the wait the difference is asked.
  state.step([reactions(12, 1), newPost(13, 102)], 0)
  assertEquals(state.step([], GAP_WAIT_MS).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
  // Received after the request: it may be newer than the difference's snapshot of post 12.
  state.step([reactions(12, 5)], GAP_WAIT_MS + 1)
  const filled = state.step([difference(101, [withReactions(12, 4)])], GAP_WAIT_MS + 2).writes.get(CH)!
  assertEquals(filled.posts.get(12)?.reactionsTotal, 4)
  assertEquals(filled.metrics, [{ msgId: 12, reactions: { "👍": 5 }, reactionsTotal: 5 }])
})

Deno.test("LiveState: counters a difference lists after an edit of the same post are written after it", () => {
  const state = following(100, 10)
  state.step([newPost(13, 102)], 0)
  assertEquals(state.step([], GAP_WAIT_MS).diffs.length, 1)
  const filled = state.step([
    difference(101, [], [
      { _tag: "EditPost", channelId: CH, post: withReactions(5, 1, "edited"), pts: 101, ptsCount: 1 },
      { _tag: "Reactions", channelId: CH, msgId: 5, reactions: { "👍": 2 }, reactionsTotal: 2 },
    ]),
  ], GAP_WAIT_MS + 1).writes.get(CH)!
  assertEquals(filled.posts.get(5)?.text, "edited")
  assertEquals(filled.metrics, [{ msgId: 5, reactions: { "👍": 2 }, reactionsTotal: 2 }])
})

Deno.test("LiveState: a channel left and followed again ignores the answer to a difference asked before it was left", () => {
  const state = following()
  const [asked] = state.catchUp()
  assertEquals(asked, { channelId: CH, pts: 100, epoch: 1 })
  state.unfollow(CH)
  assertEquals(state.followed, [])
  state.follow(CH, 120, 0)
  const [again] = state.catchUp()
  assertEquals(again, { channelId: CH, pts: 120, epoch: 2 })
  const stale = state.step([{
    _tag: "Diff",
    channelId: CH,
    epoch: asked!.epoch,
    viaHistory: false,
    diff: { _tag: "Difference", pts: 110, final: true, timeout: undefined, posts: [post(101)], events: [] },
  }], 1)
  assertEquals([stale.writes.size, stale.differences], [0, 0])
  assertEquals(state.pts(CH), 120)
  const fresh = state.step([{
    _tag: "Diff",
    channelId: CH,
    epoch: again!.epoch,
    viaHistory: false,
    diff: { _tag: "Difference", pts: 125, final: true, timeout: undefined, posts: [post(121)], events: [] },
  }], 2)
  assertEquals([fresh.writes.get(CH)?.pts, fresh.differences], [125, 1])
})

Deno.test("LiveState: a pts reset (Telegram refused ours) moves the pts back, writes it as a reset, asks at once", () => {
  const state = following(1_000)
  const [asked] = state.catchUp()
  // Pushes below a pts from the future are taken for applied already.
  assertEquals(state.step([newPost(11, 501)], 0).duplicates, 1)
  const stale = state.step([{ _tag: "PtsReset", channelId: CH, epoch: asked!.epoch + 1, pts: 500 }], 1)
  assertEquals([stale.writes.size, stale.ptsResets, state.pts(CH)], [0, 0, 1_000], "another follow's answer")
  const reset = state.step([{ _tag: "PtsReset", channelId: CH, epoch: asked!.epoch, pts: 500 }], 2)
  assertEquals(reset.writes.get(CH), {
    posts: new Map(),
    deleted: new Set<number>(),
    metrics: [],
    pts: 500,
    reset: true,
  })
  assertEquals([reset.ptsResets, state.pts(CH)], [1, 500])
  // What changed since the pts read (the push dropped above) is asked for at once.
  assertEquals(reset.diffs, [{ channelId: CH, pts: 500, epoch: 1 }])
  const next = state.step([newPost(12, 502)], 3)
  assertEquals([next.writes.get(CH)?.pts, next.writes.get(CH)?.reset], [undefined, undefined], "502 waits for 501")
  const filled = state.step([{
    _tag: "Diff",
    channelId: CH,
    epoch: 1,
    viaHistory: false,
    diff: { _tag: "Difference", pts: 501, final: true, timeout: undefined, posts: [post(11)], events: [] },
  }], 4)
  assertEquals([filled.writes.get(CH)?.pts, filled.writes.get(CH)?.reset, state.pts(CH)], [502, undefined, 502])
})

Deno.test("LiveState: a catch-up answered after the pushes it covers undoes no edit and no deletion they applied", () => {
  const edit = (msgId: number, text: string, pts: number) =>
    event({ _tag: "EditPost", channelId: CH, post: post(msgId, text), pts, ptsCount: 1 })
  const deletion = (ids: ReadonlyArray<number>, pts: number) =>
    event({ _tag: "DeletePosts", channelId: CH, ids, pts, ptsCount: ids.length })
  // Read before the edit of post 11 and the deletion of post 12 (its posts as they were then), reaching pts 102.
  const staleDiff: LiveInput = {
    _tag: "Diff",
    channelId: CH,
    viaHistory: false,
    diff: {
      _tag: "Difference",
      pts: 102,
      final: true,
      timeout: undefined,
      posts: [post(11), post(12)],
      events: [{ _tag: "Views", channelId: CH, msgId: 11, views: 9 }],
    },
  }
  for (const together of [true, false]) {
    const state = following()
    assertEquals(state.step([{ _tag: "Connected", account: "a" }], 0).diffs, [{ channelId: CH, pts: 100, epoch: 1 }])
    // While the catch-up is out, the pushes go on without a gap: new 11 and 12, 11 edited, 12 deleted.
    const pushes = [newPost(11, 101), newPost(12, 102), edit(11, "edited", 103), deletion([12], 104)]
    const steps = together
      ? [state.step([...pushes, staleDiff], 10)]
      : [state.step(pushes, 10), state.step([staleDiff], 20)]
    const posts = new Map<number, string>()
    const deleted = new Set<number>()
    for (const step of steps) {
      const w = step.writes.get(CH)
      for (const [id, p] of w?.posts ?? []) [posts.set(id, p.text), deleted.delete(id)]
      for (const id of w?.deleted ?? []) [deleted.add(id), posts.delete(id)]
    }
    assertEquals([...posts], [[11, "edited"]], together ? "one batch" : "two batches")
    assertEquals([...deleted], [12])
    assertEquals(state.pts(CH), 104)
    // The catch-up counts as answered.
    assertEquals(steps.at(-1)!.differences, 1)
  }
})
