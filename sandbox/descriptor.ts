/**
 * The sandbox descriptor: what a client needs to reach a running sandbox (written by `deno task sandbox`). It imports
 * nothing, so that a client reads it without loading the sandbox.
 */

export interface Descriptor {
  readonly mainDc: number
  readonly dcs: ReadonlyArray<{ readonly id: number; readonly host: string; readonly port: number }>
  /** pem: PKCS#1 "RSA PUBLIC KEY"; fingerprint: the signed 64-bit value in decimal. */
  readonly rsaPublicKey: { readonly pem: string; readonly fingerprint: string }
  readonly apiId: number
  readonly apiHash: string
  /** session: a GramJS StringSession for the main DC, already authorized. */
  readonly accounts: ReadonlyArray<{ readonly phone: string; readonly userId: number; readonly session: string }>
  readonly channels: ReadonlyArray<{
    readonly id: number
    readonly accessHash: string
    readonly username: string
    readonly title: string
    readonly kind: "broadcast" | "megagroup"
    readonly posts: number
    /** Private channels: no username (empty), reached by id and access hash (from dialogs) or the invite link. */
    readonly private?: boolean
    /** A private channel's invite link, `https://t.me/+HASH`. */
    readonly inviteLink?: string
    /** User ids of the test accounts that are members or admins at the start (they see it in their dialogs). */
    readonly memberUserIds?: ReadonlyArray<number>
    /** The channel's linked discussion group (a megagroup holding its posts' comments), null when it has none. */
    readonly discussionGroupId?: number | null
  }>
  readonly admin: string
}

/** Checks the shape of a parsed descriptor file; throws an Error naming the first bad field. */
export function parseDescriptor(value: unknown): Descriptor {
  const fail = (field: string, expected: string): never => {
    throw new Error(`Invalid sandbox descriptor: field "${field}" must be ${expected}`)
  }
  if (!value || typeof value !== "object") return fail("(root)", "an object")
  const d = value as Record<string, any>
  if (!Number.isInteger(d.mainDc)) fail("mainDc", "an integer")
  if (!Array.isArray(d.dcs) || d.dcs.length === 0) fail("dcs", "a non-empty array")
  for (const [i, dc] of (d.dcs as Array<any>).entries()) {
    if (!Number.isInteger(dc?.id) || typeof dc?.host !== "string" || !Number.isInteger(dc?.port)) {
      fail(`dcs[${i}]`, "{id, host, port}")
    }
  }
  if (typeof d.rsaPublicKey?.pem !== "string" || typeof d.rsaPublicKey?.fingerprint !== "string") {
    fail("rsaPublicKey", "{pem, fingerprint}")
  }
  if (!Number.isInteger(d.apiId)) fail("apiId", "an integer")
  if (typeof d.apiHash !== "string") fail("apiHash", "a string")
  if (!Array.isArray(d.accounts)) fail("accounts", "an array")
  if (!Array.isArray(d.channels)) fail("channels", "an array")
  if (typeof d.admin !== "string") fail("admin", "a URL string")
  return d as Descriptor
}
