/**
 * serve and the read API: off is one log line; on, it answers on API_BIND beside the health port, counts its requests
 * in /metrics, and says how to build a dashboard it cannot find; a taken port is one clear line.
 */
import { assert, assertEquals } from "../support/assert.ts"
import { freePort, startTask } from "../support/tasks.ts"
import { until } from "../support/wait.ts"

Deno.test("serve: the read API off is one line; on, it serves /api/v1 on API_BIND; its port taken stops serve clearly", async () => {
  const dir = await Deno.makeTempDir()
  try {
    const health = freePort()
    const off = startTask("serve", [], { TGPULSE_DATA_DIR: dir, HEALTH_BIND: `127.0.0.1:${health}` })
    await until(() => off.output().includes("read API is disabled"), 30_000, "the line saying it is off")
    assertEquals(off.output().split("read API is disabled").length - 1, 1, off.output())
    assertEquals((await off.stop()).code, 0, off.output())

    const api = freePort()
    const on = startTask("serve", [], {
      TGPULSE_DATA_DIR: dir,
      HEALTH_BIND: `127.0.0.1:${health}`,
      API_ENABLED: "true",
      API_BIND: `127.0.0.1:${api}`,
      TGPULSE_DASHBOARD_DIR: `${dir}/no-dashboard`,
      OBS_PROMETHEUS_ENABLED: "true",
    })
    await until(() => on.output().includes(`read API on http://127.0.0.1:${api}/api/v1`), 30_000, "the API")
    assert(on.output().includes(`dashboard not served: ${dir}/no-dashboard/index.html is missing`), on.output())
    const page = await fetch(`http://127.0.0.1:${api}/`)
    assertEquals(page.status, 503)
    assert((await page.text()).includes("deno task dashboard"), "the page says how to build it")
    const channels = await fetch(`http://127.0.0.1:${api}/api/v1/channels`)
    assertEquals([channels.status, await channels.json()], [200, []])
    const metrics = await (await fetch(`http://127.0.0.1:${health}/metrics`)).text()
    assert(
      /mtproto_api_requests_total\{[^}]*route="\/channels"[^}]*status="200"[^}]*\} 1/.test(metrics) ||
        /mtproto_api_requests_total\{[^}]*status="200"[^}]*route="\/channels"[^}]*\} 1/.test(metrics),
      metrics.split("\n").filter((l) => l.includes("api_request")).join("\n"),
    )
    const doc = await (await fetch(`http://127.0.0.1:${api}/api/v1/openapi.json`)).json()
    assertEquals(doc.openapi, "3.1.0")
    assertEquals((await (await fetch(`http://127.0.0.1:${health}/healthz`)).json()).status, "ok", "health apart")
    assertEquals((await on.stop()).code, 0, on.output())

    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 })
    try {
      const port = (taken.addr as Deno.NetAddr).port
      const clash = startTask("serve", [], {
        TGPULSE_DATA_DIR: dir,
        HEALTH_BIND: `127.0.0.1:${health}`,
        API_ENABLED: "true",
        API_BIND: `127.0.0.1:${port}`,
      })
      const status = await clash.child.status
      await clash.stop()
      assertEquals(status.code, 1, clash.output())
      assert(clash.output().includes(`API_BIND 127.0.0.1:${port}: the address is already in use`), clash.output())
      assert(!clash.output().includes("    at "), "no stack trace")
    } finally {
      taken.close()
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {})
  }
})
