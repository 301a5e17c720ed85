/**
 * `deno task demo`, the newcomer's first command: nothing configured, every channel reported, incremental re-runs;
 * `--serve` then answers the read API over what it collected until Ctrl-C.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { sandboxTest } from "../support/sandbox.ts"
import { freePort, runTask, startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

sandboxTest(
  "deno task demo works with nothing configured, reports every channel, and re-runs incrementally",
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "tgpulse_demo_" })
    try {
      const env = { TGPULSE_DATA_DIR: dataDir }
      const first = await runTask("demo", ["--channels", "2", "--posts", "400"], env)
      assertEquals(first.code, 0, first.output)
      assert(first.stdout.includes("total: fetched 800 posts from 2 of 2 channels"), first.output)
      for (const name of ["@sandbox_chan_0", "@sandbox_chan_1"]) {
        assert(first.stdout.includes(`(${name}, broadcast,`), `a report for ${name}:\n${first.stdout}`)
      }
      assertEquals(first.stdout.match(/^ {2}[123]\. #\d+ {2}[\d,]+ views/gm)?.length, 6, "the top 3 posts of each")
      assert(/ERR \d+\.\d%/.test(first.stdout), "ERR is reported")
      assert(first.stdout.includes("Point it at real Telegram"), "how to go on")
      const again = await runTask("demo", ["--channels", "2", "--posts", "400"], env)
      assertEquals(again.code, 0, again.output)
      assert(again.stdout.includes("total: fetched 0 posts from 2 of 2 channels with 2 requests"), again.output)

      const port = freePort()
      const served = startTask("demo", ["--channels", "2", "--posts", "400", "--serve"], {
        ...env,
        API_BIND: `127.0.0.1:${port}`,
      })
      await until(() => served.output().includes("The dashboard: http://"), 60_000, "the demo serving")
      assert(served.output().includes(`http://127.0.0.1:${port}/#days=all`), served.output())
      const channels = await (await fetch(`http://127.0.0.1:${port}/api/v1/channels`)).json()
      assertEquals(channels.map((c: { posts: number }) => c.posts), [400, 400], "what was collected, over the API")
      assertEquals((await served.stop("SIGINT")).code, 0, served.output())
    } finally {
      await Deno.remove(dataDir, { recursive: true })
    }
  },
)
