/**
 * One session per auth key, as Telegram enforces it: an authorized key used at the same time by two sessions on two
 * live connections of one DC is AUTH_KEY_DUPLICATED (406), after which Telegram invalidates the key. The sandbox
 * always counts such sessions; it refuses them (and every later call with that key) only when told to, because many
 * tests share the descriptor's sessions between clients on purpose.
 */
export interface KeyStats {
  /** Sessions that called while another session of their auth key was live on another connection (each once). */
  readonly authKeyDuplicated: number
  /** Calls answered 406 AUTH_KEY_DUPLICATED (only when duplicated keys are refused). */
  readonly authKeyDuplicatedRefused: number
  /** Whether a duplicated key is refused (else only counted). */
  readonly refuseDuplicateKeys: boolean
}

export class KeyWatch {
  private duplicated = 0
  private refusedCalls = 0

  constructor(readonly refuse: boolean) {}

  /** A session found its key live elsewhere. */
  sessionShared(): void {
    this.duplicated++
  }

  /** A call was answered AUTH_KEY_DUPLICATED. */
  refused(): void {
    this.refusedCalls++
  }

  stats(): KeyStats {
    return {
      authKeyDuplicated: this.duplicated,
      authKeyDuplicatedRefused: this.refusedCalls,
      refuseDuplicateKeys: this.refuse,
    }
  }
}
