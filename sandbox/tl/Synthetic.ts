/**
 * What rendered posts carry that the world does not hold: ids, access hashes, file references and sizes of their media,
 * poll and web page texts. Deterministic, and shared by the object renderer and the byte encoder
 * (both must produce identical bytes).
 */
import { Buffer } from "node:buffer"
import type { Pair } from "../transport/Bytes.ts"
import type { Post } from "../world/Model.ts"

/** DC that stores every sandbox file (photos, documents). */
export const MEDIA_DC = 2

/** 32-bit mix of a few integers (deterministic ids, hashes and sizes of fake media). */
export function mix32(...parts: ReadonlyArray<number>): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x01000193)
    h = Math.imul(h ^ Math.floor(p / 0x100000000), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

export function mixPair(a: number, b: number, salt: number): Pair {
  return [mix32(a, b, salt, 1) & 0x7fffffff, mix32(a, b, salt, 2)]
}

export const SALT_PHOTO = 0x70686f74
export const SALT_PHOTO_HASH = 0x61636365
export const SALT_DOC = 0x646f6375
export const SALT_DOC_HASH = 0x61636364
export const SALT_POLL = 0x706f6c6c
export const SALT_WEB = 0x77656270
export const SALT_USER = 0x75736572

/**
 * A file reference: 8 bytes that only this post's file has, then the post it comes from (channel id and post id), from
 * which upload.getFile finds the file (references are opaque to clients, as Telegram's are).
 */
export function fileReference(post: Post, salt: number): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt32LE(mix32(post.channelId, post.id, salt, 3), 0)
  b.writeUInt32LE(mix32(post.channelId, post.id, salt, 4), 4)
  b.writeUInt32LE(post.channelId, 8)
  b.writeUInt32LE(post.id, 12)
  return b
}

/** The post a file reference names, or undefined when it is no sandbox file reference. */
export function referencedPost(reference: Uint8Array): { channelId: number; postId: number } | undefined {
  if (reference.length !== 16) return undefined
  const view = new DataView(reference.buffer, reference.byteOffset, reference.byteLength)
  return { channelId: view.getUint32(8, true), postId: view.getUint32(12, true) }
}

/**
 * `length` bytes of a file's content from `offset`: deterministic noise of the file's identity, so a download can be
 * checked byte for byte. `file` is the file's id (its two 32-bit halves) and `variant` tells its sizes apart.
 */
export function fileContent(file: Pair, variant: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  // Whole 4-byte words of the file; the first and last may be cut.
  const first = Math.floor(offset / 4)
  const last = Math.ceil((offset + length) / 4)
  const word = new DataView(new ArrayBuffer(4))
  for (let i = first; i < last; i++) {
    const v = mix32(file[0], file[1], variant, i)
    const at = i * 4 - offset
    if (at >= 0 && at + 4 <= length) {
      view.setUint32(at, v, true)
      continue
    }
    word.setUint32(0, v, true)
    for (let b = 0; b < 4; b++) if (at + b >= 0 && at + b < length) out[at + b] = word.getUint8(b)
  }
  return out
}

export interface SizeSpec {
  readonly type: string
  readonly w: number
  readonly h: number
  readonly size: number
}

export function photoSizes(post: Post): ReadonlyArray<SizeSpec> {
  const h = mix32(post.channelId, post.id, SALT_PHOTO)
  return [
    { type: "m", w: 320, h: 240, size: 8_000 + (h % 8_000) },
    { type: "x", w: 800, h: 600, size: 40_000 + (h % 40_000) },
  ]
}

export interface DocSpec {
  readonly mimeType: string
  readonly size: number
  readonly duration: number
  readonly fileName: string
}

export function docSpec(post: Post, video: boolean): DocSpec {
  const h = mix32(post.channelId, post.id, SALT_DOC)
  return video ? { mimeType: "video/mp4", size: 1_000_000 + (h % 9_000_000), duration: 5 + (h % 300), fileName: "" } : {
    mimeType: "application/pdf",
    size: 20_000 + (h % 500_000),
    duration: 0,
    fileName: `document-${post.channelId}-${post.id}.pdf`,
  }
}

export const VIDEO_W = 1280
export const VIDEO_H = 720

export function pollAnswerCount(post: Post): number {
  return 2 + (mix32(post.channelId, post.id, SALT_POLL) % 3)
}

export function pollQuestion(post: Post): string {
  return `Poll ${post.id}?`
}

export function pollOption(i: number): string {
  return `Option ${i + 1}`
}

export function pollVoters(post: Post): number {
  return Math.floor(post.views / 10)
}

export function webPath(post: Post): string {
  return `example.com/${post.channelId}/${post.id}`
}

export const WEB_TYPE = "article"
export const WEB_SITE = "Example"

export function webTitle(post: Post): string {
  return `Article ${post.id}`
}
