/**
 * `deno task report`: what was collected, per channel, from the same read models as the API: the channel, its summary
 * over the period and its most viewed posts, as text (what the demo prints), JSON or CSV.
 */
import { Console, Effect, Option } from "effect"
import { StoreLive } from "../App.ts"
import { toCsv } from "../api/Api.ts"
import { BadParam, validate } from "../api/Routes.ts"
import { ConfigError } from "../domain/Errors.ts"
import { Analytics, type ChannelRow, type Summary, type TopPost } from "../store/Analytics.ts"
import type { ReportFlags } from "./Commands.ts"

/** One channel of the report. */
export interface ChannelReport {
  readonly channel: ChannelRow
  readonly summary: Summary
  readonly top: ReadonlyArray<TopPost>
}

export const count = (n: number) => n.toLocaleString("en-US")
const percent = (ratio: number | null) => (ratio === null ? "n/a" : `${(ratio * 100).toFixed(1)}%`)
const oneLine = (text: string, width: number) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`
}

/** Every stored post's period: from the epoch to a day ahead (clocks may differ a little). */
export const allTime = () => ({ since: new Date(0), until: new Date(Date.now() + 86_400_000) })

/** Every channel (or the one named: its id or username) with posts in [since, until), by title. */
export const channelReports = (
  options: { readonly since: Date; readonly until: Date; readonly channel?: string | undefined },
) =>
  Effect.gen(function* () {
    const analytics = yield* Analytics
    const wanted = options.channel?.replace(/^@/, "").toLowerCase()
    const out: Array<ChannelReport> = []
    for (const channel of yield* analytics.channels) {
      if (wanted !== undefined && String(channel.id) !== wanted && channel.username?.toLowerCase() !== wanted) continue
      const period = { channelId: channel.id, since: options.since, until: options.until }
      const summary = yield* analytics.summary(period)
      if (summary.posts === 0 && wanted === undefined) continue
      out.push({ channel, summary, top: yield* analytics.topPosts(period, 3) })
    }
    return out
  })

/** The text form: a header line per channel, its figures, its three most viewed posts. */
export const reportText = (reports: ReadonlyArray<ChannelReport>): ReadonlyArray<string> =>
  reports.flatMap(({ channel, summary, top }) => [
    "",
    `${channel.title} (@${channel.username}, ${channel.kind}, ${count(channel.subscribers ?? 0)} subscribers)`,
    `  posts ${count(summary.posts)}   views ${count(summary.views)}   ERR ${percent(summary.err)}` +
    `   ER ${percent(summary.er)}   reactions ${count(summary.reactions)}`,
    ...top.map((p, i) => `  ${i + 1}. #${p.msgId}  ${count(p.views ?? 0)} views  "${oneLine(p.text, 60)}"`),
  ])

/** One CSV row per channel. */
const csvRows = (reports: ReadonlyArray<ChannelReport>) =>
  reports.map(({ channel, summary }) => ({
    id: channel.id,
    username: channel.username,
    title: channel.title,
    subscribers: channel.subscribers,
    posts: summary.posts,
    views: summary.views,
    avgViews: summary.avgViews,
    avgReach24h: summary.avgReach24h,
    err: summary.err,
    er: summary.er,
    reactions: summary.reactions,
    forwards: summary.forwards,
  }))

/** A date flag, checked like the API's parameter (a bad one names the flag). */
const dateFlag = (name: string, raw: Option.Option<string>, fallback: Date) =>
  Effect.try({
    try: () =>
      Option.isNone(raw)
        ? fallback
        : validate({ name, in: "query", type: "date", description: "" }, raw.value, fallback) as Date,
    catch: (e) => new ConfigError({ variable: `--${name}`, message: `Invalid --${name}: ${(e as BadParam).expected}` }),
  })

/** The report command's work (its flags and description: ./Commands.ts). */
export const run = (flags: ReportFlags) =>
  Effect.gen(function* () {
    const format = Option.getOrElse(flags.format, () => "text")
    if (!["text", "json", "csv"].includes(format)) {
      return yield* new ConfigError({
        variable: "--format",
        message: `Invalid --format "${format}": expected text, json or csv`,
      })
    }
    const whole = allTime()
    const since = yield* dateFlag("from", flags.from, whole.since)
    const until = yield* dateFlag("to", flags.to, whole.until)
    if (since.getTime() >= until.getTime()) {
      return yield* new ConfigError({ variable: "--from", message: "Invalid --from: expected a date before --to" })
    }
    const reports = yield* channelReports({ since, until, channel: Option.getOrUndefined(flags.channel) }).pipe(
      Effect.provide(StoreLive),
    )
    if (Option.isSome(flags.channel) && reports.length === 0) {
      return yield* new ConfigError({
        variable: "--channel",
        message: `Invalid --channel "${flags.channel.value}": expected the id or username of a stored channel`,
      })
    }
    if (format === "json") return yield* Console.log(JSON.stringify(reports, null, 2))
    if (format === "csv") return yield* Console.log(toCsv(csvRows(reports)).trimEnd())
    for (const line of reportText(reports)) yield* Console.log(line)
  })
