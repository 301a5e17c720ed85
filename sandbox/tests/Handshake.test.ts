/**
 * The key exchange's req_DH_params with either RSA padding: RSA_PAD (what GramJS sends, covered end to end in
 * Mtproto.test.ts) and the padding before it, which Telegram still accepts and several libraries still send.
 */
import { bigintFromBytes, bigintToBytes, Reader, Writer } from "../transport/Bytes.ts"
import { makeRsaKey, modPow, random, sha1 } from "../transport/Crypto.ts"
import { Handshake, HandshakeError, REQ_DH_PARAMS, REQ_PQ_MULTI } from "../transport/Handshake.ts"
import { assert, assertEquals, assertThrows } from "./support/assert.ts"
import { factor, tlNumber } from "./support/tempKeys.ts"

const SERVER_DH_PARAMS_OK = 0xd0e8075c
const P_Q_INNER_DATA_DC = 0xa9f55f95

Deno.test("Handshake: req_DH_params with the padding before RSA_PAD is answered; a corrupted one is refused", async () => {
  const rsa = await makeRsaKey()
  for (const corrupt of [false, true]) {
    const handshake = new Handshake(rsa, () => Math.floor(Date.now() / 1000))
    const nonce = random(16)
    const resPq = new Reader(handshake.step(new Writer().uint32(REQ_PQ_MULTI).raw(nonce).finish()).answer)
    resPq.uint32()
    resPq.raw(16)
    const serverNonce = resPq.raw(16)
    const pq = bigintFromBytes(resPq.bytes())
    const [p, q] = factor(pq)
    const inner = new Writer().uint32(P_Q_INNER_DATA_DC).bytes(tlNumber(pq)).bytes(tlNumber(p)).bytes(tlNumber(q))
      .raw(nonce).raw(serverNonce).raw(random(32)).int32(2).finish()
    // SHA1(data) ‖ data ‖ random bytes: 255 bytes, then raw RSA with the server's public key.
    const withHash = new Uint8Array(255)
    withHash.set(sha1(inner), 0)
    withHash.set(inner, 20)
    withHash.set(random(255 - 20 - inner.length), 20 + inner.length)
    if (corrupt) withHash[30]! ^= 1
    const encrypted = bigintToBytes(modPow(bigintFromBytes(withHash), BigInt(rsa.e), rsa.n), 256)
    const request = new Writer().uint32(REQ_DH_PARAMS).raw(nonce).raw(serverNonce).bytes(tlNumber(p))
      .bytes(tlNumber(q)).int64(rsa.fingerprint).bytes(encrypted).finish()
    if (corrupt) {
      assertThrows(() => handshake.step(request), (error) => {
        assert(error instanceof HandshakeError, String(error))
        assert(error.message.includes("Neither RSA_PAD nor the legacy padding"), error.message)
      })
    } else {
      assertEquals(new Reader(handshake.step(request).answer).uint32(), SERVER_DH_PARAMS_OK)
    }
  }
})
