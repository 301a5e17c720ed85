/** A malformed MTProto message: the connection it came on is closed. */
export class ProtocolError extends Error {
  override name = "ProtocolError"
}
