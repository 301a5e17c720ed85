/**
 * Downloads with the real GramJS client: photos and documents of posts come byte for byte from the DC that stores
 * them; upload.getFile keeps Telegram's rules on parts and its errors; a Premium speed limit answers
 * FLOOD_PREMIUM_WAIT_X.
 */
import { Buffer } from "node:buffer"
import { Api, type TelegramClient } from "telegram"
import { docSpec, fileContent, MEDIA_DC, mixPair, photoSizes, SALT_DOC, SALT_PHOTO } from "../tl/Synthetic.ts"
import type { Post } from "../world/Model.ts"
import type { Sandbox } from "../Sandbox.ts"
import { assert, assertEquals } from "./support/assert.ts"
import { gramClient, sandboxTest, startSandbox } from "./support/sandbox.ts"

// The main DC is not the one that stores files, so a download goes to another DC, as it does on Telegram.
const OPTIONS = { dcIds: [4, MEDIA_DC], channels: 2, posts: 400 }

/** The newest post of a kind in a public broadcast channel, its GramJS message and its sandbox post. */
async function newestWith(
  sandbox: Sandbox,
  client: TelegramClient,
  kind: Post["media"],
): Promise<{ message: Api.Message; post: Post }> {
  for (const channel of sandbox.descriptor.channels.filter((c) => !c.private)) {
    const messages = await client.getMessages(channel.username, { limit: 100 })
    for (const message of messages) {
      const post = sandbox.world.posts(channel.id, [message.id])[0]
      if (post?.media === kind) return { message, post }
    }
  }
  throw new Error(`no ${kind} post in the newest pages`)
}

/**
 * The rpc_error the sandbox answered to `call` (GramJS maps some errors to classes that drop their text, such as
 * FLOOD_PREMIUM_WAIT_X to a FloodWaitError "FLOOD"): the outcome its request log gives the newest call of `method`.
 */
async function refusal(sandbox: Sandbox, call: Promise<unknown>, method = "upload.GetFile"): Promise<string> {
  try {
    await call
  } catch {
    return sandbox.control.log.since(0, method).at(-1)!.outcome
  }
  throw new Error("an rpc_error expected")
}

/** An upload.getFile of `photo`'s size `m`, on the main DC (GramJS's `invoke`). */
function getPhotoPart(photo: Api.Photo, offset: number, limit: number, reference = photo.fileReference) {
  return new Api.upload.GetFile({
    location: new Api.InputPhotoFileLocation({
      id: photo.id,
      accessHash: photo.accessHash,
      fileReference: reference,
      thumbSize: "m",
    }),
    offset: offset as never,
    limit,
  })
}

sandboxTest("GramJS downloads a photo and a document byte for byte from the DC that stores them", async () => {
  const sandbox = await startSandbox(OPTIONS)
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const photo = await newestWith(sandbox, client, "photo")
    const largest = photoSizes(photo.post).at(-1)!
    const photoBytes = await client.downloadMedia(photo.message) as Buffer
    const photoId = mixPair(photo.post.channelId, photo.post.id, SALT_PHOTO)
    assertEquals(photoBytes.length, largest.size)
    assert(
      Buffer.from(fileContent(photoId, photoSizes(photo.post).length, 0, largest.size)).equals(photoBytes),
      "the photo's bytes",
    )
    const doc = await newestWith(sandbox, client, "document")
    const size = docSpec(doc.post, false).size
    const docBytes = await client.downloadMedia(doc.message) as Buffer
    assertEquals(docBytes.length, size)
    const docId = mixPair(doc.post.channelId, doc.post.id, SALT_DOC)
    assert(Buffer.from(fileContent(docId, 0, 0, size)).equals(docBytes), "the document's bytes")
    const served = sandbox.control.log.since(0).filter((e) => e.method === "upload.GetFile")
    // Served by DC 2 only; a part asked of DC 4 (GramJS asks its own DC for a document) was sent on with FILE_MIGRATE_2.
    const seen = JSON.stringify(served.map((e) => [e.dcId, e.outcome]))
    assert(served.filter((e) => e.outcome === "ok").length >= 2, seen)
    for (const e of served) {
      assertEquals([e.dcId, e.outcome], e.dcId === MEDIA_DC ? [MEDIA_DC, "ok"] : [4, "FILE_MIGRATE_2"], seen)
    }
  } finally {
    await client.destroy()
    await sandbox.stop()
  }
})

sandboxTest("upload.getFile answers Telegram's errors for a wrong DC, part, reference or file", async () => {
  const sandbox = await startSandbox(OPTIONS)
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const { message, post } = await newestWith(sandbox, client, "photo")
    const photo = (message.media as Api.MessageMediaPhoto).photo as Api.Photo
    const onMedia = (request: Api.upload.GetFile) => client.invoke(request, MEDIA_DC)
    assertEquals(await refusal(sandbox, client.invoke(getPhotoPart(photo, 0, 4096))), "FILE_MIGRATE_2")
    const part = await onMedia(getPhotoPart(photo, 4096, 4096)) as Api.upload.File
    const photoId = mixPair(post.channelId, post.id, SALT_PHOTO)
    assert(Buffer.from(fileContent(photoId, 1, 4096, 4096)).equals(part.bytes), "the second 4 KB of size m")
    assert(part.type instanceof Api.storage.FileJpeg, "a JPEG")
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 100, 4096))), "OFFSET_INVALID")
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 0, 3000))), "LIMIT_INVALID")
    // 12 KB does not divide 1 MB; a part across a 1 MB boundary is refused too.
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 0, 12288))), "LIMIT_INVALID")
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 1048576 - 4096, 8192))), "LIMIT_INVALID")
    // Past the end: no bytes.
    assertEquals((await onMedia(getPhotoPart(photo, 1048576, 4096)) as Api.upload.File).bytes.length, 0)
    const tampered = Buffer.from(photo.fileReference)
    tampered[0] = tampered[0]! ^ 1
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 0, 4096, tampered))), "FILE_REFERENCE_EXPIRED")
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 0, 4096, Buffer.alloc(0)))), "FILE_REFERENCE_EMPTY")
    const wrongHash = getPhotoPart(photo, 0, 4096)
    ;(wrongHash.location as Api.InputPhotoFileLocation).accessHash = photo.accessHash.add(1)
    assertEquals(await refusal(sandbox, onMedia(wrongHash)), "FILE_ID_INVALID")
    sandbox.world.delete(post.channelId, [post.id])
    assertEquals(await refusal(sandbox, onMedia(getPhotoPart(photo, 0, 4096))), "FILE_REFERENCE_EXPIRED")
  } finally {
    await client.destroy()
    await sandbox.stop()
  }
})

sandboxTest("a download faster than a Premium speed limit answers FLOOD_PREMIUM_WAIT_X", async () => {
  const sandbox = await startSandbox(OPTIONS)
  const client = gramClient(sandbox, { account: 0 })
  try {
    await client.connect()
    const { message } = await newestWith(sandbox, client, "photo")
    const photo = (message.media as Api.MessageMediaPhoto).photo as Api.Photo
    sandbox.control.flood.set({ method: "upload.getFile", rate: 0.01, burst: 2, premium: true })
    await client.invoke(getPhotoPart(photo, 0, 4096), MEDIA_DC)
    await client.invoke(getPhotoPart(photo, 4096, 4096), MEDIA_DC)
    const refused = await refusal(sandbox, client.invoke(getPhotoPart(photo, 8192, 4096), MEDIA_DC))
    assert(/^FLOOD_PREMIUM_WAIT_\d+$/.test(refused), `FLOOD_PREMIUM_WAIT_X, got ${refused}`)
    // Other methods' waits stay FLOOD_WAIT_X.
    sandbox.control.flood.set({ method: "help.getNearestDc", rate: 0.01, burst: 1 })
    await client.invoke(new Api.help.GetNearestDc())
    assert(
      /^FLOOD_WAIT_\d+$/.test(await refusal(sandbox, client.invoke(new Api.help.GetNearestDc()), "help.GetNearestDc")),
      "FLOOD_WAIT_X",
    )
  } finally {
    await client.destroy()
    await sandbox.stop()
  }
})
