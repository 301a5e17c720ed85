/** `deno task sandbox` (the `sandbox` subcommand): its flags, its descriptor file and a clean stop. */
import { assert, assertEquals } from "../support/assert.ts"
import { sandboxTest, startSandbox } from "../support/sandbox.ts"
import { noStack, runInProcess } from "../support/tasks.ts"
import { settled } from "../support/wait.ts"

sandboxTest("deno task sandbox: bad flags and settings give a clear message and exit code 2", async () => {
  await using running = await startSandbox()
  const adminPort = new URL(running.descriptor.admin).port
  const cases: ReadonlyArray<[ReadonlyArray<string>, Record<string, string>, string]> = [
    [["--channels", "abc"], {}, "channels"],
    [["--channels", "0"], {}, "channels"],
    [["--flood", "nope"], {}, "flood"],
    [["--flood", "messages.getHistry:1:1"], {}, '"messages.getHistry" is no API method'],
    [["--posts", "99999999999"], {}, "--posts must be an integer from 1 to 100000000"],
    [["--bogus"], {}, "bogus"],
    [["--rsa-key", "/nonexistent/key.pem"], {}, '--rsa-key "/nonexistent/key.pem"'],
    [["--admin-port", adminPort], {}, "address in use"],
    [[], { LOG_LEVEL: "verbose" }, 'Invalid LOG_LEVEL "verbose": expected one of'],
    [[], { LOG_FORMAT: "xml" }, 'Invalid LOG_FORMAT "xml": expected one of json, pretty'],
  ]
  for (const [args, env, says] of cases) {
    // In this process (the exit codes of a real process: tests/cli/Main.test.ts); a case that wrongly started a
    // sandbox would never return, so the wait has a hang guard.
    const name = [...args, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(" ")
    const { code, output: text } = await settled(runInProcess(["sandbox", "--out", "/dev/null", ...args], env), name)
    assertEquals(code, 2, `exit code for ${name}: ${text}`)
    noStack(text)
    assert(text.includes(says), `the message for ${name} says ${says}: ${text}`)
  }
})

sandboxTest("deno task sandbox writes its descriptor and stops cleanly on SIGTERM", async () => {
  const out = await Deno.makeTempFile({ suffix: ".json" })
  await Deno.remove(out)
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "src/main.ts",
      "sandbox",
      ...["--channels", "2", "--posts", "50", "--out", out, "--flood", "messages.getHistory:0.5:20"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  try {
    // The task logs "sandbox ready" once its descriptor is written: wait for that line rather than poll the file.
    let logged = ""
    while (!logged.includes("sandbox ready")) {
      const { value, done } = await stdout.read()
      if (done) break
      logged += value
    }
    const descriptor = await Deno.readTextFile(out).then(JSON.parse).catch(() => undefined)
    assert(descriptor, `descriptor written: ${logged}`)
    assertEquals(descriptor.channels.filter((c: any) => !c.private).length, 2)
    assertEquals(descriptor.mainDc, 2)
    assert(/^-----BEGIN RSA PUBLIC KEY-----/.test(descriptor.rsaPublicKey.pem), "PKCS#1 PEM")
    const truth = await (await fetch(`${descriptor.admin}/channels/${descriptor.channels[0].id}/truth`)).json()
    assertEquals(truth.count, 50)
    const flood = await (await fetch(`${descriptor.admin}/flood`)).json()
    assertEquals(flood, [{ method: "messages.GetHistory", rate: 0.5, burst: 20 }], "--flood budgets are in force")
  } finally {
    child.kill("SIGTERM")
    const status = await child.status
    await stdout.cancel()
    await child.stderr.cancel()
    assertEquals(status.code, 0)
  }
})
