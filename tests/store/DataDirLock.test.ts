/**
 * The embedded database's lock across processes: two processes started at the same instant never both hold it, a
 * holder killed with SIGKILL leaves nothing that stops the next start, and the pid in the file means nothing.
 */
import { assert, assertEquals } from "../support/assert.ts"

const HOLDER = new URL("../support/lock_holder.ts", import.meta.url).pathname

/** A process that tries to take the lock of `dir`; `first` resolves with its first line ("taken" or "busy: ..."). */
function holder(dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", HOLDER, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  const first = (async () => {
    let text = ""
    while (!text.includes("\n")) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
    }
    return text.trim()
  })()
  return {
    child,
    first,
    async release() {
      await child.stdin.close().catch(() => undefined)
      await child.status
      await reader.cancel().catch(() => undefined)
    },
  }
}

Deno.test("DataDirLock: of two processes started at the same instant exactly one holds the lock (20 races)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tgpulse_lock_" })
  try {
    for (let race = 0; race < 20; race++) {
      const pair = [holder(dir), holder(dir)]
      const lines = await Promise.all(pair.map((h) => h.first))
      assertEquals(lines.filter((l) => l === "taken").length, 1, `race ${race}: ${lines.join(" | ")}`)
      const busy = lines.find((l) => l !== "taken")!
      assert(busy.startsWith("busy: The embedded database") && busy.includes("is in use by another"), busy)
      await Promise.all(pair.map((h) => h.release()))
    }
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})

Deno.test("DataDirLock: a holder killed with SIGKILL leaves no lock behind; the next process starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tgpulse_lock_" })
  try {
    const first = holder(dir)
    assertEquals(await first.first, "taken")
    const second = holder(dir)
    assert((await second.first).includes(`(pid ${first.child.pid})`), "the holder is named while it lives")
    await second.release()
    first.child.kill("SIGKILL")
    await first.release()
    // Its pid is still in the file; the kernel released the lock with the process.
    assertEquals(Deno.readTextFileSync(`${dir}/pgdata.lock`).trim(), String(first.child.pid))
    const next = holder(dir)
    assertEquals(await next.first, "taken")
    await next.release()
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})
