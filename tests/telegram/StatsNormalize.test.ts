/**
 * Statistics objects as GramJS decodes them become plain data generically (every graph field, every value field), and
 * graphs pivot by granularity; malformed JSON is kept raw with its reason.
 */
import "../../src/telegram/NoSchemaCache.ts"
import { Api } from "telegram"
import bigInt from "big-integer"
import { pivotGraph } from "../../src/domain/StatsPlan.ts"
import { channelStats, messageStats, publicForwards } from "../../src/telegram/StatsNormalize.ts"
import { assert, assertEquals } from "../support/assert.ts"

const DAY = 86_400_000
const json = (data: unknown) => new Api.DataJSON({ data: JSON.stringify(data) })
const daily = {
  columns: [["x", 20 * DAY, 21 * DAY], ["y0", 5, 7], ["y1", 1, 0]],
  types: { x: "x", y0: "line", y1: "line" },
  names: { y0: "Joined", y1: "Left" },
}
const abs = (current: number, previous: number) => new Api.StatsAbsValueAndPrev({ current, previous })

Deno.test("StatsNormalize: broadcast stats: every value, every graph by its snake-case name, the rest kept", () => {
  const graph = new Api.StatsGraph({ json: json(daily), zoomToken: "zoom-1" })
  const stats = channelStats(
    new Api.stats.BroadcastStats({
      period: new Api.StatsDateRangeDays({ minDate: 1_700_000_000, maxDate: 1_702_592_000 }),
      followers: abs(1200, 1100),
      viewsPerPost: abs(300, 250),
      sharesPerPost: abs(4, 3),
      reactionsPerPost: abs(9, 8),
      viewsPerStory: abs(0, 0),
      sharesPerStory: abs(0, 0),
      reactionsPerStory: abs(0, 0),
      enabledNotifications: new Api.StatsPercentValue({ part: 300, total: 1200 }),
      growthGraph: graph,
      followersGraph: graph,
      muteGraph: new Api.StatsGraphAsync({ token: "tok" }),
      topHoursGraph: graph,
      interactionsGraph: graph,
      ivInteractionsGraph: new Api.StatsGraphError({ error: "Not enough data to display" }),
      viewsBySourceGraph: graph,
      newFollowersBySourceGraph: graph,
      languagesGraph: graph,
      reactionsByEmotionGraph: graph,
      storyInteractionsGraph: graph,
      storyReactionsByEmotionGraph: graph,
      recentPostsInteractions: [
        new Api.PostInteractionCountersMessage({ msgId: 42, views: 100, forwards: 2, reactions: 3 }),
        new Api.PostInteractionCountersStory({ storyId: 7, views: 1, forwards: 0, reactions: 0 }),
      ],
    }),
  )
  assertEquals(stats.kind, "broadcast")
  assertEquals(stats.period, { minDate: 1_700_000_000, maxDate: 1_702_592_000 })
  assertEquals(stats.values.map((v) => v.name), [
    "followers",
    "views_per_post",
    "shares_per_post",
    "reactions_per_post",
    "views_per_story",
    "shares_per_story",
    "reactions_per_story",
    "enabled_notifications",
  ])
  assertEquals(stats.values[0], { name: "followers", current: 1200, previous: 1100, total: null })
  assertEquals(stats.values[7], { name: "enabled_notifications", current: 300, previous: null, total: 1200 })
  assertEquals(stats.graphs.length, 12)
  assertEquals(stats.graphs.find((g) => g.name === "iv_interactions_graph")?.graph, {
    _tag: "Error",
    error: "Not enough data to display",
  })
  assertEquals(stats.graphs.find((g) => g.name === "mute_graph")?.graph, { _tag: "Async", token: "tok" })
  const followers = stats.graphs.find((g) => g.name === "followers_graph")!.graph
  assert(
    followers._tag === "Graph" && followers.zoomToken === "zoom-1" && JSON.parse(followers.json).names.y0 === "Joined",
  )
  assertEquals(stats.recentPosts, [{ msgId: 42, views: 100, forwards: 2 }])
  const recent = stats.extra["recent_posts_interactions"] as ReadonlyArray<Record<string, unknown>>
  assertEquals(recent[0], { _: "PostInteractionCountersMessage", msg_id: 42, views: 100, forwards: 2, reactions: 3 })
})

Deno.test("StatsNormalize: megagroup stats: its values and graphs, top lists with user ids as text", () => {
  const graph = new Api.StatsGraph({ json: json(daily) })
  const stats = channelStats(
    new Api.stats.MegagroupStats({
      period: new Api.StatsDateRangeDays({ minDate: 1, maxDate: 2 }),
      members: abs(800, 700),
      messages: abs(50, 40),
      viewers: abs(300, 200),
      posters: abs(20, 10),
      growthGraph: graph,
      membersGraph: graph,
      newMembersBySourceGraph: graph,
      languagesGraph: graph,
      messagesGraph: graph,
      actionsGraph: graph,
      topHoursGraph: graph,
      weekdaysGraph: graph,
      topPosters: [new Api.StatsGroupTopPoster({ userId: bigInt("777000001"), messages: 12, avgChars: 40 })],
      topAdmins: [],
      topInviters: [new Api.StatsGroupTopInviter({ userId: bigInt(5), invitations: 3 })],
      users: [],
    }),
  )
  assertEquals(stats.kind, "megagroup")
  assertEquals(stats.values.map((v) => v.name), ["members", "messages", "viewers", "posters"])
  assertEquals(stats.graphs.map((g) => g.name), [
    "growth_graph",
    "members_graph",
    "new_members_by_source_graph",
    "languages_graph",
    "messages_graph",
    "actions_graph",
    "top_hours_graph",
    "weekdays_graph",
  ])
  assertEquals(stats.extra["top_posters"], [
    { _: "StatsGroupTopPoster", user_id: "777000001", messages: 12, avg_chars: 40 },
  ])
  assertEquals(stats.extra["top_admins"], [])
  assert(!("users" in stats.extra), "users are not kept")
})

Deno.test("StatsNormalize: message stats and public forwards (channel, message, views; stories left out)", () => {
  const m = messageStats(
    new Api.stats.MessageStats({
      viewsGraph: new Api.StatsGraph({ json: json(daily) }),
      reactionsByEmotionGraph: new Api.StatsGraphError({ error: "no" }),
    }),
  )
  assertEquals(m.graphs.map((g) => [g.name, g.graph._tag]), [["views_graph", "Graph"], [
    "reactions_by_emotion_graph",
    "Error",
  ]])
  const page = publicForwards(
    new Api.stats.PublicForwards({
      count: 3,
      nextOffset: "abc",
      forwards: [
        new Api.PublicForwardMessage({
          message: new Api.Message({
            id: 9,
            peerId: new Api.PeerChannel({ channelId: bigInt(1_000_002) }),
            date: 1_700_000_100,
            message: "",
            views: 55,
          }),
        }),
        new Api.PublicForwardStory({
          peer: new Api.PeerChannel({ channelId: bigInt(1_000_003) }),
          story: new Api.StoryItemDeleted({ id: 1 }),
        }),
      ],
      chats: [
        new Api.Channel({
          id: bigInt(1_000_002),
          title: "Other",
          username: "other_chan",
          photo: new Api.ChatPhotoEmpty(),
          date: 0,
        }),
      ],
      users: [],
    }),
  )
  assertEquals(page, {
    count: 3,
    nextOffset: "abc",
    forwards: [{
      channelId: 1_000_002,
      channelUsername: "other_chan",
      channelTitle: "Other",
      msgId: 9,
      date: 1_700_000_100,
      views: 55,
    }],
  })
})

Deno.test("pivotGraph: daily and hourly points, other raw only, malformed kept raw with its reason", () => {
  const d = pivotGraph("followers_graph", "followers_graph", {
    _tag: "Graph",
    json: JSON.stringify(daily),
    zoomToken: undefined,
  })
  assertEquals(d.granularity, "daily")
  assertEquals(d.points, [
    { x: 20 * DAY, metric: "followers.joined", value: 5 },
    { x: 21 * DAY, metric: "followers.joined", value: 7 },
    { x: 20 * DAY, metric: "followers.left", value: 1 },
    { x: 21 * DAY, metric: "followers.left", value: 0 },
  ])
  assertEquals(d.raw.kind, "graph")
  assertEquals(d.problem, undefined)
  const hours = { ...daily, columns: [["x", 3_600_000, 7_200_000], ["y0", 1, 2], ["y1", 3, 4]] }
  assertEquals(
    pivotGraph("k", "top_hours_graph", { _tag: "Graph", json: JSON.stringify(hours), zoomToken: undefined })
      .granularity,
    "hourly",
  )
  const weekdays = { ...daily, columns: [["x", 0, 1, 5], ["y0", 1, 2, 3], ["y1", 3, 4, 5]] }
  const other = pivotGraph("k", "weekdays_graph", {
    _tag: "Graph",
    json: JSON.stringify(weekdays),
    zoomToken: undefined,
  })
  assertEquals([other.granularity, other.points.length], ["other", 0])
  const bad = pivotGraph("k", "mute_graph", {
    _tag: "Graph",
    json: '{"columns":[["x",1,2],["y0",5]]',
    zoomToken: undefined,
  })
  assertEquals(bad.granularity, undefined)
  assertEquals(bad.points, [])
  assertEquals(bad.raw, {
    key: "k",
    kind: "graph",
    data: '{"columns":[["x",1,2],["y0",5]]',
    error: "mute_graph: not JSON",
  })
  assertEquals(bad.problem, "mute_graph: not JSON")
  const error = pivotGraph("k", "iv_interactions_graph", { _tag: "Error", error: "Not enough data to display" })
  assertEquals([error.raw.kind, error.raw.error, error.problem], ["error", "Not enough data to display", undefined])
})
