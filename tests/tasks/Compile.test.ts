/** `deno task compile`: where `deno compile` cannot get its runtime, the one line that says what is missing. */
import { missingRuntime } from "../../tasks/compile.ts"
import { assertEquals } from "../support/assert.ts"

Deno.test("compile: a failed denort download is one line naming the zip and DENORT_BIN; other failures are not", () => {
  const stderr = "error: Writing deno compile executable to temporary file 'dist/tgpulse.tmp'\n\nCaused by:\n" +
    "    0: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip)\n" +
    "    1: client error (Connect)\n    2: dns error: failed to lookup address information"
  assertEquals(
    missingRuntime(stderr, undefined),
    "deno compile could not get Deno's runtime for this machine " +
      "(https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): download that zip where it can be " +
      "reached, unzip it, and set DENORT_BIN to the denort file",
  )
  assertEquals(
    missingRuntime(stderr.replace("x86_64-unknown-linux-gnu", "aarch64-apple-darwin"), "aarch64-apple-darwin")
      ?.startsWith("deno compile could not get Deno's runtime for aarch64-apple-darwin"),
    true,
  )
  assertEquals(missingRuntime('error: Module not found "file:///x.ts"', undefined), undefined)
})
