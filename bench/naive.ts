/**
 * The naive peer of `bench peer`: channel history into PostgreSQL the way a script written without tgpulse does it.
 * One GramJS client, each channel read in turn with `client.iterMessages(username)` and its defaults (no limit, no
 * pacing of our own), and one INSERT per post on one connection, each its own transaction. It prints one line:
 * `naive: fetched <posts> posts in <seconds> s` (its own clock: from the client connected and the table created to the
 * last insert, as sync-history's total line counts from its layers built to its last page stored).
 *
 * Usage: `deno run -A bench/naive.ts <sandbox descriptor file> <database url> <username,username,...>`
 *
 * Two things are not what such a script writes, because the sandbox demands them: every DC is routed to the sandbox
 * and its RSA key trusted (Transport.ts's `routedConnection` and `trustSandboxKey`, what `makeGramClient` does for a
 * sandbox; a plain `TelegramClient` cannot reach it), and the session is the descriptor's first test account. The
 * client is otherwise GramJS's own `TelegramClient` with its defaults, not `makeGramClient`'s: GramClient.ts brings
 * tgpulse's changes to GramJS with it (FastPaths.ts: its reading of TL longs and inflating of answers), which this peer must not have.
 *
 * On pacing: iterMessages without `waitTime` picks 1 for more than 3,000 messages, then passes it to a sleep that
 * takes milliseconds (telegram 2.26.22, requestIter.js), so it waits about 1 ms per page, not 1 s: no pacing to speak
 * of, which is what the issue's naive program is. `waitTime: 0` would change nothing (0 is taken as "not given").
 */
import "../src/telegram/NoSchemaCache.ts" // GramJS's schema cache in localStorage, shared by the project's processes
import { ManagedRuntime, Redacted } from "effect"
import { PgClient } from "@effect/sql-pg"
import { Api, TelegramClient } from "telegram"
import { StringSession } from "telegram/sessions/index.js"
import { ConnectionTCPFull } from "telegram/network/connection/index.js"
import { parseDescriptor } from "@tgpulse/sandbox"
import { routedConnection, trustSandboxKey } from "../src/telegram/Transport.ts"

const [descriptorFile, databaseUrl, usernames] = Deno.args
if (!descriptorFile || !databaseUrl || !usernames) {
  throw new Error("usage: naive.ts <sandbox descriptor file> <database url> <username,username,...>")
}

const descriptor = parseDescriptor(JSON.parse(await Deno.readTextFile(descriptorFile)))
const database = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
const sql = await database.runPromise(PgClient.PgClient)
await database.runPromise(sql`
  CREATE TABLE IF NOT EXISTS naive_posts (
    channel_id bigint NOT NULL,
    message_id integer NOT NULL,
    date timestamptz NOT NULL,
    text text,
    views integer,
    forwards integer,
    PRIMARY KEY (channel_id, message_id)
  )
`)

trustSandboxKey(descriptor)
const client = new TelegramClient(
  new StringSession(descriptor.accounts[0]!.session),
  descriptor.apiId,
  descriptor.apiHash,
  { connection: routedConnection(descriptor, ConnectionTCPFull) },
)
await client.connect()

const started = performance.now()
let posts = 0
for (const username of usernames.split(",")) {
  for await (const message of client.iterMessages(username)) {
    if (!(message instanceof Api.Message) || !(message.peerId instanceof Api.PeerChannel)) continue
    await database.runPromise(sql`
      INSERT INTO naive_posts (channel_id, message_id, date, text, views, forwards)
      VALUES (${message.peerId.channelId.toString()}, ${message.id}, to_timestamp(${message.date}), ${message.message},
        ${message.views ?? null}, ${message.forwards ?? null})
      ON CONFLICT DO NOTHING
    `)
    posts++
  }
}
const seconds = (performance.now() - started) / 1000

await client.destroy()
await database.dispose()
Deno.stdout.writeSync(new TextEncoder().encode(`naive: fetched ${posts} posts in ${seconds.toFixed(2)} s\n`))
// GramJS pings every 9 s and races each ping against a 10 s timer it never clears nor unrefs (telegram 2.26.22,
// client/updates.js `timeout`): a run longer than 9 s would otherwise linger up to 10 s after its work is done.
Deno.exit(0)
