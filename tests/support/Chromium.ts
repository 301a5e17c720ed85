/**
 * Headless Chromium (Debian's `chromium`; `.ci/run` installs it when missing) driven over the DevTools protocol on a
 * WebSocket, with no driver library: open a page and wait for its load event, evaluate (awaiting promises), press
 * keys, type, resize, take a screenshot. Every console error, uncaught exception and browser log error (a failed
 * load, a refused script) is collected in `errors`.
 */
import { settled } from "./wait.ts"

export const CHROMIUM = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium"

/** Whether the browser is installed here. */
export const chromiumAvailable: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile
  } catch {
    return false
  }
})()

type Json = Record<string, any>
type Listener = (method: string, params: Json) => void

/** One tab: commands go to its session. */
export interface Page {
  /** Console errors, uncaught exceptions and the browser's own error log lines, in order. */
  readonly errors: ReadonlyArray<string>
  /** Opens `url` and waits for its load event. */
  goto(url: string): Promise<void>
  /** The value of `expression` (a promise is awaited); a thrown error fails the call with its description. */
  evaluate<A>(expression: string): Promise<A>
  /** Presses and releases a key: Tab, Enter, ArrowDown, ArrowUp. */
  press(key: keyof typeof KEYS): Promise<void>
  /** Types text into the focused element. */
  type(text: string): Promise<void>
  /** The viewport in CSS pixels (`mobile`: a phone's, with touch and the meta viewport honoured). */
  resize(width: number, height: number, mobile?: boolean): Promise<void>
  /** A PNG of the whole page (beyond the viewport) at `path`. */
  screenshot(path: string): Promise<void>
}

export const KEYS = {
  Tab: { code: "Tab", keyCode: 9 },
  Enter: { code: "Enter", keyCode: 13, text: "\r" },
  ArrowDown: { code: "ArrowDown", keyCode: 40 },
  ArrowUp: { code: "ArrowUp", keyCode: 38 },
} as const

export interface Browser extends AsyncDisposable {
  /** A new tab of `width` x `height`. */
  page(width: number, height: number): Promise<Page>
}

/** Starts headless Chromium with a fresh profile, on a DevTools port it picks. Dispose it to stop it. */
export async function launchChromium(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "tgpulse-chromium-" })
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--hide-scrollbars",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn()
  // The DevTools address is on stderr; the rest of stderr is drained so that the browser never blocks on it.
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ""
  const address = await settled(
    (async () => {
      for (;;) {
        const { value, done } = await lines.read()
        if (done) throw new Error(`chromium exited before it listened: ${buffered.slice(-2000)}`)
        buffered += value
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(buffered)?.[1]
        if (found) return found
      }
    })(),
    "chromium's DevTools address",
  )
  const drained = (async () => {
    while (!(await lines.read()).done) { /* drained */ }
  })()

  const socket = new WebSocket(address)
  await settled(
    new Promise((resolve, reject) => {
      socket.onopen = resolve
      socket.onerror = () => reject(new Error(`cannot connect to ${address}`))
    }),
    "the DevTools connection",
  )
  let nextId = 1
  const pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void; method: string }>()
  const listeners = new Map<string, Set<Listener>>()
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data as string)
    if (message.id !== undefined) {
      const call = pending.get(message.id)
      pending.delete(message.id)
      if (message.error) call?.reject(new Error(`${call.method}: ${message.error.message}`))
      else call?.resolve(message.result)
    } else {
      for (const listener of listeners.get(message.sessionId ?? "") ?? []) listener(message.method, message.params)
    }
  }
  const send = (method: string, params: Json = {}, sessionId?: string): Promise<Json> =>
    settled(
      new Promise<Json>((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve, reject, method })
        socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }))
      }),
      `DevTools ${method}`,
    )

  async function page(width: number, height: number): Promise<Page> {
    const { targetId } = await send("Target.createTarget", { url: "about:blank" })
    const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true })
    const call = (method: string, params: Json = {}) => send(method, params, sessionId)
    const errors: Array<string> = []
    const own = new Set<Listener>()
    listeners.set(sessionId, own)
    own.add((method, params) => {
      if (method === "Runtime.consoleAPICalled" && (params.type === "error" || params.type === "assert")) {
        errors.push(`console.${params.type}: ${params.args.map((a: Json) => a.value ?? a.description).join(" ")}`)
      } else if (method === "Runtime.exceptionThrown") {
        errors.push(`uncaught: ${params.exceptionDetails.exception?.description ?? params.exceptionDetails.text}`)
      } else if (method === "Log.entryAdded" && params.entry.level === "error") {
        errors.push(`log: ${params.entry.text} ${params.entry.url ?? ""}`.trim())
      }
    })
    await call("Page.enable")
    await call("Runtime.enable")
    await call("Log.enable")
    const resize = (w: number, h: number, mobile = false) =>
      call("Emulation.setDeviceMetricsOverride", { width: w, height: h, deviceScaleFactor: 1, mobile })
        .then(() => call("Emulation.setTouchEmulationEnabled", { enabled: mobile })).then(() => {})
    await resize(width, height)
    return {
      errors,
      async goto(url) {
        const loaded = new Promise<void>((resolve) => {
          const once: Listener = (method) => {
            if (method !== "Page.loadEventFired") return
            own.delete(once)
            resolve()
          }
          own.add(once)
        })
        const { errorText } = await call("Page.navigate", { url })
        if (errorText) throw new Error(`cannot open ${url}: ${errorText}`)
        await settled(loaded, `the load event of ${url}`)
      },
      async evaluate<A>(expression: string): Promise<A> {
        const { result, exceptionDetails } = await call("Runtime.evaluate", {
          expression,
          awaitPromise: true,
          returnByValue: true,
        })
        if (exceptionDetails) {
          throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`)
        }
        return result.value as A
      },
      async press(key) {
        const k = KEYS[key]
        const base = { key, code: k.code, windowsVirtualKeyCode: k.keyCode, nativeVirtualKeyCode: k.keyCode }
        await call("Input.dispatchKeyEvent", { type: "keyDown", ...base, ...("text" in k ? { text: k.text } : {}) })
        await call("Input.dispatchKeyEvent", { type: "keyUp", ...base })
      },
      async type(text) {
        await call("Input.insertText", { text })
      },
      resize,
      async screenshot(path) {
        const { cssContentSize: size } = await call("Page.getLayoutMetrics")
        const { data } = await call("Page.captureScreenshot", {
          format: "png",
          captureBeyondViewport: true,
          clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1 },
        })
        await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)))
      },
    }
  }

  return {
    page,
    async [Symbol.asyncDispose]() {
      socket.close()
      try {
        child.kill("SIGTERM")
      } catch { /* already gone */ }
      await child.status
      await drained.catch(() => {})
      await Deno.remove(profile, { recursive: true }).catch(() => {})
    },
  }
}
