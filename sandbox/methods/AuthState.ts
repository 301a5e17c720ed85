/** Sign-in state of one sandbox DC: test codes, exported authorizations and 2FA by Telegram's SRP (core.telegram.org/api/srp). */
import { Buffer } from "node:buffer"
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto"
import { bigintFromBytes, bigintToBytes } from "../transport/Bytes.ts"
import { DH_G, DH_PRIME, dhValueInRange, modPow, sha256 } from "../transport/Crypto.ts"
import type { Account, WorldApi } from "../world/Model.ts"
import { fail } from "../session/Rpc.ts"
import { Api, fromLong, toLong } from "../tl/Tl.ts"

/** SRP runs in Telegram's DH group (the only one GramJS accepts). */
const SRP_P_BYTES = bigintToBytes(DH_PRIME, 256)
/** Outstanding challenges kept per DC (older ones are forgotten). */
const MAX_CHALLENGES = 256

const pad256 = (n: bigint): Buffer => bigintToBytes(n, 256)

/** x = PH2(password, salt1, salt2). */
function passwordHash(password: string, salt1: Uint8Array, salt2: Uint8Array): bigint {
  const sh = (data: Uint8Array, salt: Uint8Array) => sha256(salt, data, salt)
  const ph1 = sh(sh(Buffer.from(password, "utf8"), salt1), salt2)
  return bigintFromBytes(sh(pbkdf2Sync(ph1, salt1, 100_000, 64, "sha512"), salt2))
}

interface Verifier {
  readonly salt1: Buffer
  readonly salt2: Buffer
  /** v = g^x mod p. */
  readonly v: bigint
}

interface Challenge {
  readonly userId: number
  readonly authKeyId: bigint
  readonly b: bigint
  readonly bBytes: Buffer
}

/** Per-DC sign-in state: code steps passed, SRP verifiers and outstanding SRP challenges. */
export class AuthState {
  private readonly pending = new Map<bigint, number>()
  private readonly verifiers = new Map<number, Verifier>()
  private readonly challenges = new Map<string, Challenge>()
  private readonly k = bigintFromBytes(sha256(SRP_P_BYTES, pad256(BigInt(DH_G))))

  constructor(private readonly world: WorldApi) {}

  accountByPhone(phone: unknown): Account | undefined {
    if (typeof phone !== "string") return undefined
    const digits = phone.replace(/[\s+]/g, "")
    return this.world.accountByPhone(digits) ?? this.world.accounts.find((a) => a.phone.replace(/^\+/, "") === digits)
  }

  phoneCodeHash(account: Account): string {
    return createHash("sha256").update(`tgpulse-sandbox-code/${this.world.seed}/${account.phone}`).digest("hex")
      .slice(0, 18)
  }

  codePassed(authKeyId: bigint, userId: number): void {
    this.pending.set(authKeyId, userId)
  }

  pendingUser(authKeyId: bigint): number | undefined {
    return this.pending.get(authKeyId)
  }

  /** 32 bytes that let `userId` import its authorization on `dcId`. */
  exportBytes(userId: number, dcId: number): Buffer {
    return createHmac("sha256", `tgpulse-sandbox-export/${this.world.seed}`).update(`${userId}:${dcId}`).digest()
  }

  private verifier(account: Account): Verifier {
    let v = this.verifiers.get(account.userId)
    if (!v) {
      const salt = (label: string, n: number) =>
        createHash("sha256").update(`tgpulse-sandbox-srp/${this.world.seed}/${account.userId}/${label}`).digest()
          .subarray(0, n)
      // Telegram's salt1 is 8 server bytes plus 32 bytes the client appended when it set the password.
      const salt1 = Buffer.concat([salt("salt1", 8), salt("salt1-client", 32)])
      const salt2 = Buffer.from(salt("salt2", 16))
      v = { salt1, salt2, v: modPow(BigInt(DH_G), passwordHash(account.password ?? "", salt1, salt2), DH_PRIME) }
      this.verifiers.set(account.userId, v)
    }
    return v
  }

  private algo(salt1: Buffer, salt2: Buffer): Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
    return new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
      salt1,
      salt2,
      g: DH_G,
      p: SRP_P_BYTES,
    })
  }

  /** account.password with a fresh SRP challenge (B = k·v + g^b mod p). */
  passwordChallenge(account: Account, authKeyId: bigint): Api.account.Password {
    const { salt1, salt2, v } = this.verifier(account)
    let b = 0n
    let gb = 0n
    do {
      b = bigintFromBytes(randomBytes(256)) % DH_PRIME
      gb = modPow(BigInt(DH_G), b, DH_PRIME)
    } while (!dhValueInRange(gb))
    const B = (this.k * v + gb) % DH_PRIME
    const bBytes = pad256(B)
    const srpId = bigintFromBytes(randomBytes(8)) & ((1n << 63n) - 1n)
    this.challenges.set(srpId.toString(), { userId: account.userId, authKeyId, b, bBytes })
    while (this.challenges.size > MAX_CHALLENGES) {
      const first = this.challenges.keys().next()
      if (first.done) break
      this.challenges.delete(first.value)
    }
    return new Api.account.Password({
      hasPassword: true,
      currentAlgo: this.algo(salt1, salt2),
      srp_B: bBytes,
      srpId: toLong(srpId),
      newAlgo: this.algo(salt1.subarray(0, 8), salt2),
      newSecureAlgo: new Api.SecurePasswordKdfAlgoSHA512({ salt: Buffer.from(salt1.subarray(0, 8)) }),
      secureRandom: randomBytes(32),
    })
  }

  /** Verifies an InputCheckPasswordSRP; returns the account it proves, or throws the Telegram error. */
  checkPassword(input: any, authKeyId: bigint): Account {
    if (input?.className !== "InputCheckPasswordSRP") return fail(400, "PASSWORD_HASH_INVALID")
    const id = fromLong(input.srpId).toString()
    const challenge = this.challenges.get(id)
    if (!challenge || challenge.authKeyId !== authKeyId) return fail(400, "SRP_ID_INVALID")
    this.challenges.delete(id)
    const account = this.world.account(challenge.userId) ?? fail(400, "SRP_ID_INVALID")
    const { salt1, salt2, v } = this.verifier(account)
    const aBytes = Buffer.from(input.A ?? [])
    const A = bigintFromBytes(aBytes)
    if (aBytes.length > 256 || A <= 1n || A >= DH_PRIME - 1n) fail(400, "PASSWORD_HASH_INVALID")
    const aPad = pad256(A)
    const u = bigintFromBytes(sha256(aPad, challenge.bBytes))
    const S = modPow((A * modPow(v, u, DH_PRIME)) % DH_PRIME, challenge.b, DH_PRIME)
    const K = sha256(pad256(S))
    const hp = sha256(SRP_P_BYTES)
    const hg = sha256(pad256(BigInt(DH_G)))
    for (let i = 0; i < hp.length; i++) hp[i] = hp[i]! ^ hg[i]!
    const m1 = sha256(hp, sha256(salt1), sha256(salt2), aPad, challenge.bBytes, K)
    const given = Buffer.from(input.M1 ?? [])
    if (given.length !== m1.length || !timingSafeEqual(given, m1)) fail(400, "PASSWORD_HASH_INVALID")
    this.pending.delete(authKeyId)
    return account
  }
}
