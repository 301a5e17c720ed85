/** The state of one session of an auth key, kept across its connections. */
import { Answers } from "./Answers.ts"
import type { Connection } from "./Connection.ts"

/** One session of an auth key: the msg_ids it sent lately, its content-related messages, the connection it is on. */
export interface SessionState {
  readonly id: bigint
  readonly seen: Set<bigint>
  readonly seenOrder: Array<bigint>
  outContent: number
  connection: Connection | undefined
  /** It made a call not wrapped in invokeWithoutUpdates: updates are pushed to it. */
  updates: boolean
  /** Its answers, kept until acknowledged. */
  readonly answers: Answers
  /** Counted once as sharing its key with another live session. */
  shared?: boolean
}

/** A new session on `connection` (undefined: one that answers a message without opening, a bad_server_salt). */
export function newSession(id: bigint, connection: Connection | undefined): SessionState {
  return { id, seen: new Set(), seenOrder: [], outContent: 0, connection, updates: false, answers: new Answers() }
}
