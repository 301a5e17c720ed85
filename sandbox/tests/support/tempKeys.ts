/**
 * Test support for temporary keys: a client's side of the key exchange over the wire (RSA_PAD, permanent or
 * temporary), the MTProto 1.0 binding message of auth.bindTempAuthKey, and reading an answer as a value or an error.
 */
import { Buffer } from "node:buffer"
import { igeDecrypt, igeEncrypt } from "../../transport/Aes.ts"
import { bigintFromBytes, bigintToBytes, bytesEqual, concat, Reader, Writer } from "../../transport/Bytes.ts"
import { authKeyId, deriveAesKeyIvV1, modPow, random, sha1, sha256 } from "../../transport/Crypto.ts"
import { RawClient, type ServerMessage } from "../../session/RawClient.ts"
import type { Sandbox } from "../../Sandbox.ts"
import { assert, assertEquals } from "./assert.ts"
import { decode, rpcResult } from "./session.ts"

const REQ_PQ_MULTI = 0xbe7e8ef1
const REQ_DH_PARAMS = 0xd712e4be
const SET_CLIENT_DH_PARAMS = 0xf5045f1f
const SERVER_DH_PARAMS_OK = 0xd0e8075c
const DH_GEN_OK = 0x3bcbf734
const P_Q_INNER_DATA_DC = 0xa9f55f95
const P_Q_INNER_DATA_TEMP_DC = 0x56fddf88
const CLIENT_DH_INNER_DATA = 0x6643b654
const BIND_AUTH_KEY_INNER = 0x75a3f765
const RPC_ERROR = 0x2144ca19

/** A key the DC made with the client, and its first salt. */
export interface ExchangedKey {
  readonly authKey: Uint8Array
  readonly id: bigint
  readonly salt: bigint
}

/**
 * Runs the key exchange of core.telegram.org/mtproto/auth_key on a connection of its own to the sandbox's main DC:
 * p_q_inner_data_temp_dc with `expiresIn` (a temporary key), p_q_inner_data_dc without.
 */
export async function exchangeKey(
  sandbox: Sandbox,
  options: { readonly expiresIn?: number } = {},
): Promise<ExchangedKey> {
  const dc = sandbox.descriptor.dcs[0]!
  const wire = await PlainConnection.open(dc.host, dc.port)
  try {
    const nonce = random(16)
    const resPq = new Reader(await wire.ask(new Writer().uint32(REQ_PQ_MULTI).raw(nonce).finish()))
    resPq.uint32()
    assert(bytesEqual(resPq.raw(16), nonce), "resPQ nonce")
    const serverNonce = Uint8Array.from(resPq.raw(16))
    const pq = bigintFromBytes(resPq.bytes())
    const [p, q] = factor(pq)
    const newNonce = random(32)
    const inner = new Writer().uint32(options.expiresIn === undefined ? P_Q_INNER_DATA_DC : P_Q_INNER_DATA_TEMP_DC)
      .bytes(tlNumber(pq)).bytes(tlNumber(p)).bytes(tlNumber(q)).raw(nonce).raw(serverNonce).raw(newNonce).int32(dc.id)
    if (options.expiresIn !== undefined) inner.int32(options.expiresIn)
    const dhParams = new Reader(
      await wire.ask(
        new Writer().uint32(REQ_DH_PARAMS).raw(nonce).raw(serverNonce).bytes(tlNumber(p)).bytes(tlNumber(q))
          .int64(sandbox.rsa.fingerprint).bytes(rsaPad(inner.finish(), sandbox.rsa)).finish(),
      ),
    )
    assertEquals(dhParams.uint32(), SERVER_DH_PARAMS_OK)
    dhParams.raw(32)
    const tmpKey = concat(sha1(newNonce, serverNonce), sha1(serverNonce, newNonce).subarray(0, 12))
    const tmpIv = concat(
      sha1(serverNonce, newNonce).subarray(12, 20),
      sha1(newNonce, newNonce),
      newNonce.subarray(0, 4),
    )
    const dhInner = new Reader(igeDecrypt(dhParams.bytes(), tmpKey, tmpIv).subarray(20))
    dhInner.raw(4 + 32)
    const g = BigInt(dhInner.int32())
    const prime = bigintFromBytes(dhInner.bytes())
    const ga = bigintFromBytes(dhInner.bytes())
    const b = bigintFromBytes(random(256))
    const data = new Writer().uint32(CLIENT_DH_INNER_DATA).raw(nonce).raw(serverNonce).int64(0n)
      .bytes(bigintToBytes(modPow(g, b, prime), 256)).finish()
    const withHash = concat(sha1(data), data)
    const padded = concat(withHash, random((16 - (withHash.length % 16)) % 16))
    const genOk = new Reader(
      await wire.ask(
        new Writer().uint32(SET_CLIENT_DH_PARAMS).raw(nonce).raw(serverNonce).bytes(igeEncrypt(padded, tmpKey, tmpIv))
          .finish(),
      ),
    )
    assertEquals(genOk.uint32(), DH_GEN_OK)
    genOk.raw(32)
    const authKey = bigintToBytes(modPow(ga, b, prime), 256)
    const hash1 = sha1(newNonce, Uint8Array.of(1), sha1(authKey).subarray(0, 8)).subarray(4, 20)
    assert(bytesEqual(genOk.raw(16), hash1), "new_nonce_hash1")
    const salt = Buffer.from(newNonce.subarray(0, 8).map((x, i) => x ^ serverNonce[i]!)).readBigInt64LE(0)
    return { authKey: Uint8Array.from(authKey), id: authKeyId(authKey), salt }
  } finally {
    wire.close()
  }
}

/** A raw client on the main DC speaking with `key` from its first salt. */
export async function connectedWith(sandbox: Sandbox, key: ExchangedKey): Promise<RawClient> {
  const dc = sandbox.descriptor.dcs[0]!
  const client = await RawClient.connect(dc.host, dc.port, key.authKey)
  client.salt = key.salt
  return client
}

/** The fields of bind_auth_key_inner and the msg_id of the request that carries it. */
export interface Binding {
  readonly msgId: bigint
  readonly nonce: bigint
  readonly tempAuthKeyId: bigint
  readonly permAuthKeyId: bigint
  readonly tempSessionId: bigint
  readonly expiresAt: number
}

/** Spoilers of a binding message's form, for tests of its refusal. */
export interface MessageFaults {
  /** The msg_key of another plaintext (one bit of the random prefix flipped). */
  readonly wrongMsgKey?: boolean
  /** Bytes of padding (a multiple of 8; 0-15 is MTProto 1.0's). @default 8 */
  readonly padding?: number
  /** The auth_key_id written before msg_key. @default the permanent key's */
  readonly keyId?: bigint
  /** The seqno in its header. @default 0 */
  readonly seqNo?: number
}

/**
 * auth.bindTempAuthKey's encrypted_message (core.telegram.org/method/auth.bindTempAuthKey): random:int128, msg_id,
 * seqno 0 and msg_len 40 before bind_auth_key_inner; msg_key the lower 128 bits of its SHA1; encrypted with MTProto
 * 1.0's keys from the permanent key; perm_auth_key_id and msg_key before it.
 */
export function bindingMessage(permKey: Uint8Array, binding: Binding, faults: MessageFaults = {}): Uint8Array {
  const plain = new Writer().raw(random(16)).int64(binding.msgId).int32(faults.seqNo ?? 0).int32(40)
    .uint32(BIND_AUTH_KEY_INNER).int64(binding.nonce).int64(binding.tempAuthKeyId).int64(binding.permAuthKeyId)
    .int64(binding.tempSessionId).int32(binding.expiresAt).finish()
  const hashed = faults.wrongMsgKey ? Uint8Array.from(plain, (x, i) => i === 0 ? x ^ 1 : x) : plain
  const msgKey = sha1(hashed).subarray(4, 20)
  const { key, iv } = deriveAesKeyIvV1(permKey, msgKey, 0)
  const keyId = Buffer.alloc(8)
  keyId.writeBigUInt64LE(faults.keyId ?? authKeyId(permKey), 0)
  return concat(keyId, msgKey, igeEncrypt(concat(plain, random(faults.padding ?? 8)), key, iv))
}

/** An rpc_result's value (decoded by GramJS), or its rpc_error as "CODE MESSAGE". */
export function outcome(m: ServerMessage): unknown {
  const { result } = rpcResult(m)
  const r = new Reader(result)
  if (r.uint32() !== RPC_ERROR) return decode(result)
  const code = r.int32()
  return `${code} ${new TextDecoder().decode(r.bytes())}`
}

/** One connection for the unencrypted messages of a key exchange, over the intermediate transport. */
class PlainConnection {
  private buffered: Uint8Array = new Uint8Array(0)

  private constructor(private readonly conn: Deno.Conn) {}

  static async open(host: string, port: number): Promise<PlainConnection> {
    const conn = await Deno.connect({ hostname: host, port })
    await conn.write(Uint8Array.of(0xee, 0xee, 0xee, 0xee))
    return new PlainConnection(conn)
  }

  /** Sends `body` as an unencrypted message and returns the body of the answer. */
  async ask(body: Uint8Array): Promise<Uint8Array> {
    const message = new Writer().int64(0n).int64(BigInt(Date.now()) << 22n).int32(body.length).raw(body).finish()
    await this.conn.write(new Writer().int32(message.length).raw(message).finish())
    const length = new Reader(await this.read(4)).int32()
    const answer = new Reader(await this.read(length))
    if (length === 4) throw new Error(`transport error ${answer.int32()} in the key exchange`)
    answer.raw(16) // auth_key_id 0, msg_id
    return answer.raw(answer.int32())
  }

  close(): void {
    this.conn.close()
  }

  private async read(n: number): Promise<Uint8Array> {
    const chunk = new Uint8Array(4096)
    while (this.buffered.length < n) {
      const got = await this.conn.read(chunk)
      if (got === null) throw new Error("the DC closed the key exchange")
      this.buffered = concat(this.buffered, chunk.subarray(0, got))
    }
    const out = this.buffered.subarray(0, n)
    this.buffered = this.buffered.subarray(n)
    return out
  }
}

/** RSA_PAD(data, server_public_key) of core.telegram.org/mtproto/auth_key, step 4.1. */
function rsaPad(data: Uint8Array, rsa: { readonly n: bigint; readonly e: number }): Uint8Array {
  const withPadding = concat(data, random(192 - data.length))
  const reversed = Uint8Array.from(withPadding).reverse()
  for (;;) {
    const tempKey = random(32)
    const aesEncrypted = igeEncrypt(concat(reversed, sha256(tempKey, withPadding)), tempKey, new Uint8Array(32))
    const shaAes = sha256(aesEncrypted)
    const keyAesEncrypted = bigintFromBytes(concat(tempKey.map((x, i) => x ^ shaAes[i]!), aesEncrypted))
    if (keyAesEncrypted < rsa.n) return bigintToBytes(modPow(keyAesEncrypted, BigInt(rsa.e), rsa.n), 256)
  }
}

/** p < q with p * q = pq (Pollard's rho; the sandbox's pq is a product of two primes below 2^32). */
export function factor(pq: bigint): readonly [bigint, bigint] {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b))
  for (let c = 1n;; c++) {
    let x = 2n, y = 2n, d = 1n
    while (d === 1n) {
      x = (x * x + c) % pq
      y = (y * y + c) % pq
      y = (y * y + c) % pq
      d = gcd(x > y ? x - y : y - x, pq)
    }
    if (d !== pq) return d < pq / d ? [d, pq / d] : [pq / d, d]
  }
}

/** A number as TL bytes (big-endian, no leading zeros). */
export const tlNumber = (v: bigint) => bigintToBytes(v, Math.ceil(v.toString(16).length / 2))
