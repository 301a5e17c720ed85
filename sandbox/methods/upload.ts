/**
 * upload.getFile: the photos and documents of posts, from the DC that stores them, with Telegram's rules on offset and
 * limit (core.telegram.org/api/files, "Downloading files") and its errors (core.telegram.org/method/upload.getFile).
 * A file's content is deterministic noise of its identity (`fileContent`), so a download can be checked byte for byte.
 */
import { Buffer } from "node:buffer"
import { type Caller, fail } from "../session/Rpc.ts"
import {
  docSpec,
  fileContent,
  fileReference,
  MEDIA_DC,
  mixPair,
  photoSizes,
  referencedPost,
  SALT_DOC,
  SALT_DOC_HASH,
  SALT_PHOTO,
  SALT_PHOTO_HASH,
} from "../tl/Synthetic.ts"
import { Api, fromLong } from "../tl/Tl.ts"
import { bytesEqual, type Pair } from "../transport/Bytes.ts"
import type { Post } from "../world/Model.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"
import { mayRead } from "./Peers.ts"

const KB = 1024
const MB = 1024 * KB

/**
 * The part asked for, as Telegram checks it: offset and limit multiples of 4 KB (1 KB with `precise`), 1 MB a multiple
 * of the limit (with `precise`: the limit at most 1 MB), and the part within one 1 MB chunk.
 */
function checkPart(offset: number, limit: number, precise: boolean): void {
  const unit = precise ? KB : 4 * KB
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % unit !== 0) fail(400, "OFFSET_INVALID")
  if (!Number.isInteger(limit) || limit <= 0 || limit % unit !== 0 || limit > MB) fail(400, "LIMIT_INVALID")
  if (!precise && MB % limit !== 0) fail(400, "LIMIT_INVALID")
  if (Math.floor(offset / MB) !== Math.floor((offset + limit - 1) / MB)) fail(400, "LIMIT_INVALID")
}

const pairLong = ([hi, lo]: Pair): bigint => (BigInt(hi) << 32n) | BigInt(lo)

interface File {
  readonly id: Pair
  readonly size: number
  /** Tells a photo's sizes apart (0 for a document). */
  readonly variant: number
  readonly type: Api.storage.TypeFileType
}

/** The file a location names, checked against the post its file reference names. */
function fileAt(ctx: MethodContext, location: unknown, caller: Caller): { post: Post; file: File } {
  const photo = location instanceof Api.InputPhotoFileLocation
  if (!photo && !(location instanceof Api.InputDocumentFileLocation)) return fail(400, "LOCATION_INVALID")
  const reference = location.fileReference
  if (!reference || reference.length === 0) fail(400, "FILE_REFERENCE_EMPTY")
  const named = referencedPost(reference)
  const info = named && ctx.world.channel(named.channelId)
  if (!named || !info) return fail(400, "FILE_REFERENCE_EXPIRED")
  mayRead(info, caller)
  // A deleted post, or another file's reference: the reference no longer holds, as when Telegram's expire.
  const post = ctx.world.posts(info.id, [named.postId])[0]
  const salt = photo ? SALT_PHOTO : SALT_DOC
  if (!post || !bytesEqual(fileReference(post, salt), reference)) return fail(400, "FILE_REFERENCE_EXPIRED")
  const id = mixPair(post.channelId, post.id, salt)
  const hash = mixPair(post.channelId, post.id, photo ? SALT_PHOTO_HASH : SALT_DOC_HASH)
  if (fromLong(location.id) !== pairLong(id) || fromLong(location.accessHash) !== pairLong(hash)) {
    return fail(400, "FILE_ID_INVALID")
  }
  if (photo) {
    const sizes = photoSizes(post)
    const index = sizes.findIndex((s) => s.type === location.thumbSize)
    if (index < 0) return fail(400, "LOCATION_INVALID")
    return { post, file: { id, size: sizes[index]!.size, variant: index + 1, type: new Api.storage.FileJpeg() } }
  }
  if (location.thumbSize !== "" || (post.media !== "document" && post.media !== "video")) {
    return fail(400, "LOCATION_INVALID")
  }
  const size = docSpec(post, post.media === "video").size
  return { post, file: { id, size, variant: 0, type: new Api.storage.FilePartial() } }
}

function getFile(ctx: MethodContext, request: Api.upload.GetFile, caller: Caller): Api.upload.File {
  // Files live on one DC; a client asking another is sent there, as Telegram sends it (FILE_MIGRATE_X).
  if (ctx.thisDc !== MEDIA_DC) fail(303, `FILE_MIGRATE_${MEDIA_DC}`)
  const offset = Number(fromLong(request.offset))
  checkPart(offset, request.limit, request.precise === true)
  const { post, file } = fileAt(ctx, request.location, caller)
  const length = Math.max(0, Math.min(request.limit, file.size - offset))
  return new Api.upload.File({
    type: file.type,
    mtime: post.date,
    bytes: Buffer.from(fileContent(file.id, file.variant, offset, length)),
  })
}

export const uploadMethods: Handlers = {
  "upload.GetFile": getFile,
}
