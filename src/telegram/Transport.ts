/**
 * GramJS's transport as tgpulse needs it: connection classes that route every DC to the sandbox and report what
 * goes wrong on the wire (a refused or failed connection, naming where; transport error -404, the server not knowing
 * the session's key), and GramJS's own log routed through a sink with every secret scrubbed, so that GramJS never
 * prints anything (error objects with proxy passwords included) by itself.
 */
import { Logger } from "telegram"
import { LogLevel } from "telegram/extensions/Logger.js"
import {
  Connection,
  ConnectionTCPAbridged,
  ConnectionTCPFull,
  ConnectionTCPObfuscated,
} from "telegram/network/connection/index.js"
import { _serverKeys } from "telegram/crypto/RSA.js"
import bigInt from "big-integer"
import { createPublicKey } from "node:crypto"
import { Buffer } from "node:buffer"
import type { Descriptor } from "@tgpulse/sandbox/descriptor"
import { describeNetworkError } from "../domain/NetworkError.ts"

export type TransportName = "full" | "abridged" | "obfuscated"

/** Any GramJS connection class. */
export type ConnectionClass = typeof Connection

export const CONNECTIONS: Readonly<Record<TransportName, ConnectionClass>> = {
  full: ConnectionTCPFull,
  abridged: ConnectionTCPAbridged,
  obfuscated: ConnectionTCPObfuscated,
}

/** A GramJS connection class whose every connection goes to the sandbox DC with the same id (GramJS ignores ports). */
export function routedConnection(descriptor: Descriptor, base: ConnectionClass): ConnectionClass {
  const ports = new Map(descriptor.dcs.map((dc) => [dc.id, dc]))
  return class RoutedConnection extends base {
    constructor(params: ConstructorParameters<ConnectionClass>[0]) {
      const dc = ports.get(params.dcId) ?? ports.get(descriptor.mainDc)!
      super({ ...params, ip: dc.host, port: dc.port })
    }
  } as ConnectionClass
}

/** Makes GramJS trust the sandbox's RSA key (GramJS keeps known keys in a module-level map). */
export function trustSandboxKey(descriptor: Descriptor): void {
  const jwk = createPublicKey(descriptor.rsaPublicKey.pem).export({ format: "jwk" }) as { n: string; e: string }
  const n = bigInt(Buffer.from(jwk.n, "base64url").toString("hex"), 16)
  const e = Number.parseInt(Buffer.from(jwk.e, "base64url").toString("hex"), 16)
  _serverKeys.set(descriptor.rsaPublicKey.fingerprint, { n, e })
}

/** What a watched connection reports. */
export interface WireEvents {
  /** A connection could not be opened: why and where, e.g. `connection refused by 127.0.0.1:443 (DC 2)`. */
  readonly connectFailed?: (description: string) => void
  /** The server answered transport error -404: it does not know the session's auth key. */
  readonly unknownKey?: (dc: number) => void
}

/** The transport error a server sends for an auth key id it does not know (MTProto: "-404"). */
const UNKNOWN_KEY = -404

/**
 * `base`, reporting failures to `events`. `through` names the proxy (masked) a connection goes through, so that a
 * failure names the proxy rather than the DC behind it.
 */
export function watchedConnection(
  base: ConnectionClass,
  events: WireEvents,
  through: string | undefined,
): ConnectionClass {
  const watched = class extends base {
    override async _connect(): Promise<void> {
      try {
        await super._connect()
      } catch (error) {
        const self = this as unknown as { _ip: string; _port: number; _dcId: number }
        const where = through === undefined
          ? `${self._ip}:${self._port} (DC ${self._dcId})`
          : `proxy ${through} (to DC ${self._dcId})`
        const what = describeNetworkError(error) ?? "failed"
        events.connectFailed?.(`${what === "failed" ? "connection failed" : what}: ${where}`)
        throw error
      }
    }

    override async recv(): Promise<Buffer> {
      const data = await super.recv()
      if (data.length === 4 && data.readInt32LE(0) === UNKNOWN_KEY) {
        events.unknownKey?.((this as unknown as { _dcId: number })._dcId)
      }
      return data
    }
  }
  // GramJS names a connection by its class in its log ("Connecting to 1.2.3.4:443/TCPFull").
  Object.defineProperty(watched, "name", { value: base.name })
  return watched as ConnectionClass
}

/** Where GramJS's own log lines go (already scrubbed): its level and its words. */
export type GramLogSink = (level: "error" | "warn" | "info" | "debug", message: string) => void

/** Replaces every occurrence of each secret (4 characters or longer) with `***`. */
export function scrubber(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const known = [...new Set(secrets.filter((s): s is string => s !== undefined && s.length >= 4))]
    .sort((a, b) => b.length - a.length)
  return (text) => known.reduce((out, secret) => out.split(secret).join("***"), text)
}

/**
 * GramJS's logger, made safe: it tells GramJS that nothing may be printed (`canSend` is false, so GramJS never dumps
 * an error object, whose fields may hold a proxy password) and hands its text lines, scrubbed, to `sink`.
 */
export class GramLog extends Logger {
  constructor(private readonly sink: GramLogSink | undefined, private readonly scrub: (text: string) => string) {
    super(sink ? LogLevel.DEBUG : LogLevel.NONE)
  }

  override canSend(_level: LogLevel): boolean {
    return false
  }

  override _log(level: LogLevel, message: string, _color: string): void {
    if (this.sink && level !== LogLevel.NONE) {
      this.sink(level as "error" | "warn" | "info" | "debug", this.scrub(String(message)))
    }
  }
}
