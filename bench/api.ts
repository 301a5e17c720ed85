/**
 * Benchmark: the read API's routes on a large database, generated directly in PostgreSQL (not synced): 100 channels of
 * 10,000 posts (1,000,000 posts over a year) and 10 metric snapshots per post (10,000,000 rows, the newest in the last
 * day). The posts go through migration 8's trigger (the channel totals); the snapshots skip triggers and constraints,
 * then `post_growth_rebuild` fills their rollup, as the migration does. Each route is asked `rounds` times in process
 * (Hono's app, the real queries over PgClient): p50 and p95 per route (target: p95 <= 50 ms for every route). Last
 * line `BENCH {json}`.
 */
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { apiApp } from "../src/api/Api.ts"
import { Analytics } from "../src/store/Analytics.ts"
import { Sql } from "../src/store/Sql.ts"
import { benchDatabase } from "./syncRun.ts"

export interface ApiBenchOptions {
  readonly adminUrl: string
  readonly rounds: number
  readonly report: (line: string) => void
  readonly progress: (line: string) => void
}

const CHANNELS = 100
const POSTS_PER_CHANNEL = 10_000
const SNAPSHOTS_PER_POST = 10

async function psql(url: string, statement: string): Promise<void> {
  const out = await new Deno.Command("psql", { args: [url, "-qc", statement], stdout: "null", stderr: "piped" })
    .output()
  if (out.code !== 0) throw new Error(`psql failed: ${new TextDecoder().decode(out.stderr)}`)
}

/** The dataset, in SQL only: posts every ~52 min over a year per channel; snapshots up to the last day; rollups. */
async function generate(url: string) {
  await psql(
    url,
    `INSERT INTO channels (id, username, title, participants_count)
     SELECT 2000000 + c, 'bench_' || c, 'Bench ' || c, 10000 + c * 100 FROM generate_series(1, ${CHANNELS}) c`,
  )
  await psql(
    url,
    `INSERT INTO posts (channel_id, msg_id, date, text, hashtags, mentions, links, media_kind, views, forwards,
       replies, reactions_total, content_hash)
     SELECT 2000000 + c, m, now() - make_interval(secs => (${POSTS_PER_CHANNEL} - m) * 3150),
       'post ' || m, ARRAY['#tag' || (m % 40)], ARRAY['@user' || (m % 25)], ARRAY['https://e.example/' || (m % 60)],
       'none', 1000 + (m * 7919 + c * 104729) % 50000, m % 17, m % 11, m % 23, 'h' || m
     FROM generate_series(1, ${CHANNELS}) c, generate_series(1, ${POSTS_PER_CHANNEL}) m`,
  )
  await psql(
    url,
    `SET session_replication_role = replica;
     INSERT INTO post_metrics (channel_id, msg_id, taken_at, views, forwards, replies, reactions_total)
     SELECT p.channel_id, p.msg_id, least(now(), p.date + make_interval(hours => 6 * k * k)),
       (p.views * k / ${SNAPSHOTS_PER_POST})::int, p.forwards, p.replies, p.reactions_total
     FROM posts p, generate_series(1, ${SNAPSHOTS_PER_POST}) k
     ON CONFLICT DO NOTHING`,
  )
  await psql(url, "SELECT post_growth_rebuild(array_agg(channel_id), array_agg(msg_id)) FROM posts")
  await psql(url, "ANALYZE")
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

export async function benchApi(options: ApiBenchOptions): Promise<Record<string, unknown>> {
  const database = await benchDatabase(options.adminUrl, "api")
  const runtime = ManagedRuntime.make(
    Analytics.layer.pipe(Layer.provideMerge(Sql.layerUrl(Redacted.make(database.url)))),
  )
  try {
    await runtime.runPromise(Effect.void)
    options.progress(`generating ${CHANNELS * POSTS_PER_CHANNEL} posts and their snapshots in PostgreSQL`)
    const started = performance.now()
    await generate(database.url)
    const count = async (table: string) => {
      const out = await new Deno.Command("psql", {
        args: [database.url, "-tAc", `SELECT count(*) FROM ${table}`],
        stdout: "piped",
      }).output()
      return Number(new TextDecoder().decode(out.stdout).trim())
    }
    const posts = await count("posts"), metricRows = await count("post_metrics")
    options.progress(
      `${posts} posts, ${metricRows} metric rows generated in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    )
    const app = apiApp({
      token: Option.none(),
      version: "bench",
      run: (effect) => runtime.runPromise(effect),
      now: () => new Date(),
      dashboard: Option.none(),
    })
    const channel = 2_000_050
    const month = `from=${new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10)}`
    const routes: ReadonlyArray<readonly [string, string]> = [
      ["channels", "/api/v1/channels"],
      ["summary (30 days)", `/api/v1/channels/${channel}/summary?${month}`],
      ["daily (30 days)", `/api/v1/channels/${channel}/daily?${month}`],
      ["heatmap (30 days)", `/api/v1/channels/${channel}/heatmap?${month}`],
      ["top hashtags (30 days)", `/api/v1/channels/${channel}/top/hashtags?${month}`],
      ["trending (24 h, one channel)", `/api/v1/trending?hours=24&channel=${channel}`],
      ["trending (24 h, all channels)", "/api/v1/trending?hours=24"],
      ["post series", `/api/v1/posts/${channel}/9990/series`],
    ]
    const results: Array<{ route: string; p50Ms: number; p95Ms: number }> = []
    for (const [name, path] of routes) {
      for (let i = 0; i < 2; i++) await (await app.request(path)).arrayBuffer()
      const times: Array<number> = []
      for (let i = 0; i < options.rounds; i++) {
        const t = performance.now()
        const res = await app.request(path)
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`)
        times.push(performance.now() - t)
      }
      times.sort((a, b) => a - b)
      const r = {
        route: name,
        p50Ms: Number(percentile(times, 0.5).toFixed(1)),
        p95Ms: Number(percentile(times, 0.95).toFixed(1)),
      }
      results.push(r)
      options.report(`${name.padEnd(32)} p50 ${String(r.p50Ms).padStart(7)} ms   p95 ${String(r.p95Ms).padStart(7)} ms`)
    }
    return {
      posts,
      metricRows,
      rounds: options.rounds,
      routes: results,
    }
  } finally {
    await runtime.dispose()
    await database.drop()
  }
}
