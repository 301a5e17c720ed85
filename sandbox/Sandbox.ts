/** A running sandbox: its DCs, world, operator controls, admin API, pushed updates and descriptor. */
import { Buffer } from "node:buffer"
import type { Activity } from "./world/Activity.ts"
import { makeAdminApp } from "./admin/Admin.ts"
import type { FloodBudget, SandboxControl } from "./control/Control.ts"
import { makeRsaKey, type RsaKey, sha256 } from "./transport/Crypto.ts"
import { CONNECTION_LIMITS, type ConnectionLimits, Dc, type DcEnvironment, type LogFn } from "./session/Dc.ts"
import type { Descriptor } from "./descriptor.ts"
import { makeDispatcher } from "./session/Dispatch.ts"
import { KeyWatch } from "./control/KeyWatch.ts"
import { Faults } from "./control/Faults.ts"
import { Flood } from "./control/Flood.ts"
import { allowedBeforeLogin, makeMethods } from "./methods/Methods.ts"
import { Pushes } from "./session/Pushes.ts"
import { MemoryRequestLog } from "./control/RequestLog.ts"
import { StatsSwitches } from "./stats/StatsSwitches.ts"
import { STATS_TOKEN_TTL_MS, StatsTokens } from "./stats/StatsTokens.ts"
import { World } from "./world/World.ts"
import { methodName } from "./tl/MethodNames.ts"

export interface SandboxOptions {
  /** @default 1 */
  readonly seed?: number
  /** Public channels in the world. @default 4 */
  readonly channels?: number
  /** Posts per channel. @default 1000 */
  readonly posts?: number
  /** Test accounts. @default 3 */
  readonly accounts?: number
  /** DC ids to serve; the first is the main DC. @default [2, 4] */
  readonly dcIds?: ReadonlyArray<number>
  /** Address the DCs listen on. @default "127.0.0.1" */
  readonly host?: string
  /** Host the descriptor and the session strings name for the DCs (another container's view). @default host */
  readonly advertiseHost?: string
  /** Address of the admin API. Keep it on loopback unless the network is private (it can change the world). */
  readonly adminHost?: string
  /** Port of the first DC; the others follow it. 0 picks free ports. @default 0 */
  readonly port?: number
  /** Admin API port (loopback only). 0 picks a free port. @default 0 */
  readonly adminPort?: number
  /** PKCS#8 PEM of a fixed RSA key; a fresh key is made when absent. */
  readonly rsaPrivatePem?: string
  /** Flood budgets in force from the start (the admin API can change them). @default none: no flood waits */
  readonly flood?: ReadonlyArray<FloodBudget>
  /** Answer bad_server_salt to a wrong salt. @default true */
  readonly strictSalt?: boolean
  /** Results at least this large go gzip_packed when smaller. 0 disables. @default 16384 */
  readonly gzipThreshold?: number
  /**
   * When a connection is closed for saying nothing (`idleMs`) or for not finishing a packet it began
   * (`unfinishedPacketMs`). @default CONNECTION_LIMITS (10 minutes, 60 s)
   */
  readonly connectionLimits?: Partial<ConnectionLimits>
  /**
   * The wall clock in milliseconds. The sandbox's one clock is it plus the admin API's moves (`POST /clock`): msg_ids,
   * salts, dates, flood budgets and statistics tokens all run on that. @default Date.now
   */
  readonly clock?: () => number
  /** How long statistics graph tokens (async and zoom) stay valid, in wall-clock ms. @default 300_000 (5 minutes) */
  readonly statsTokenTtlMs?: number
  /** Changes kept in each channel's pts log (older pts: channelDifferenceTooLong). @default PTS_LOG_SIZE (100,000) */
  readonly ptsLogSize?: number
  /** Pushes kept in the push log (`GET /pushes`). @default PUSH_LOG_SIZE (100,000) */
  readonly pushLogSize?: number
  /**
   * Answer 406 AUTH_KEY_DUPLICATED, as Telegram does, when an authorized key is used by two sessions on two live
   * connections at once, and refuse that key afterwards (default: only count them, `GET /stats`).
   */
  readonly refuseDuplicateKeys?: boolean
  readonly log?: LogFn
}

export const SANDBOX_API_ID = 17349

export class Sandbox {
  private constructor(
    readonly world: World,
    readonly dcs: ReadonlyMap<number, Dc>,
    readonly control: SandboxControl & {
      readonly flood: Flood
      readonly faults: Faults
      readonly log: MemoryRequestLog
      readonly stats: StatsSwitches
      readonly pushes: Pushes
      /** Background changes (the admin API's `/channels/<id>/activity`). */
      readonly activity: Activity
    },
    readonly descriptor: Descriptor,
    readonly rsa: RsaKey,
    private readonly closers: ReadonlyArray<() => Promise<void> | void>,
  ) {}

  static async start(options: SandboxOptions = {}): Promise<Sandbox> {
    const seed = options.seed ?? 1
    const bindHost = options.host ?? "127.0.0.1"
    const host = options.advertiseHost ?? bindHost
    const dcIds = options.dcIds ?? [2, 4]
    const mainDc = dcIds[0]!
    const log: LogFn = options.log ?? (() => {})
    const world = World.create({
      seed,
      channels: options.channels ?? 4,
      posts: options.posts ?? 1000,
      accounts: options.accounts ?? 3,
      statsDcs: dcIds,
      ...(options.ptsLogSize === undefined ? {} : { ptsLogSize: options.ptsLogSize }),
      clock: options.clock ?? Date.now,
    })
    // One clock for everything the sandbox says (issue 19): the world's, the wall clock plus the admin's moves.
    const clock = () => world.nowMs()
    const rsa = await makeRsaKey(options.rsaPrivatePem)
    const apiHash = Buffer.from(sha256(new TextEncoder().encode(`tgpulse-sandbox-api-${seed}`)).subarray(0, 16))
      .toString("hex")
    const flood = new Flood(clock, methodName)
    for (const budget of options.flood ?? []) flood.set(budget)
    const faults = new Faults(methodName)
    const requestLog = new MemoryRequestLog()
    const statsSwitches = new StatsSwitches()
    const statsTokens = new StatsTokens({
      secret: `${seed}/${rsa.fingerprint}`,
      nowMs: clock,
      ttlMs: options.statsTokenTtlMs ?? STATS_TOKEN_TTL_MS,
      bornExpired: () => statsSwitches.takeBornExpired(),
    })
    const dcs = new Map<number, Dc>()
    const pushTargets: Array<Dc> = []
    const pushes = new Pushes({
      world,
      targets: pushTargets,
      nowMs: clock,
      log,
      ...(options.pushLogSize === undefined ? {} : { logSize: options.pushLogSize }),
    })
    const keys = new KeyWatch(options.refuseDuplicateKeys ?? false)
    const control = {
      flood,
      faults,
      log: requestLog,
      stats: statsSwitches,
      pushes,
      dropConnections: (filter: { readonly userId?: number; readonly dcId?: number }) => {
        let dropped = 0
        for (const dc of dcs.values()) {
          if (filter.dcId !== undefined && dc.id !== filter.dcId) continue
          for (const c of [...dc.connections]) {
            if (filter.userId !== undefined && c.entry?.userId !== filter.userId) continue
            c.close("dropped by admin")
            dropped++
          }
        }
        return dropped
      },
      sessions: () => {
        const connections: Record<string, number> = {}
        for (const dc of dcs.values()) {
          for (const c of dc.connections) {
            if (c.closed || c.entry === undefined) continue
            const who = c.entry.userId === undefined ? "unauthorized" : String(c.entry.userId)
            connections[who] = (connections[who] ?? 0) + 1
          }
        }
        return { ...keys.stats(), connections }
      },
    }
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
    // Listen first (ports may be ephemeral), then build the method tables that advertise them.
    const pending = new Map<number, DcEnvironment["invoke"]>()
    dcIds.forEach((id, i) => {
      const dc = new Dc({ id, host: bindHost, port: options.port ? options.port + i : 0 }, {
        rsa,
        nowMs: clock,
        log,
        gzipThreshold: options.gzipThreshold ?? 16384,
        strictSalt: options.strictSalt ?? true,
        limits: { ...CONNECTION_LIMITS, ...options.connectionLimits },
        spoilKeyExchange: () => faults.takeKeyExchangeFault(),
        admitConnection: (authKeyId) => flood.admitConnection(authKeyId),
        keys,
        invoke: (bytes, caller) => pending.get(id)!(bytes, caller),
      })
      dcs.set(id, dc)
      pushTargets.push(dc)
    })
    try {
      for (const dc of dcs.values()) dc.start()
    } catch (error) {
      // A port in use: release the DCs that did start, so that a failed start leaves nothing listening.
      await Promise.all([...dcs.values()].map((dc) => dc.stop()))
      throw error
    }
    const dcList = [...dcs.values()].map((dc) => ({ id: dc.id, host, port: dc.port }))
    for (const dc of dcs.values()) {
      pending.set(
        dc.id,
        makeDispatcher({
          dcId: dc.id,
          apiId: SANDBOX_API_ID,
          world,
          methods: makeMethods({
            world,
            dcs: dcList,
            mainDc,
            thisDc: dc.id,
            stats: { tokens: statsTokens, switches: statsSwitches },
          }),
          allowedBeforeLogin,
          flood,
          faults,
          keys,
          log: requestLog,
          nowMs: clock,
          sleep,
          onInternalError: (method, error) =>
            log("error", "method failed", {
              dc: dc.id,
              method,
              error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            }),
        }),
      )
    }
    // Provisioned keys: each account is authorized on the main DC through its ready session string.
    const main = dcs.get(mainDc)!
    const sessions = world.accounts.map((a) => {
      main.addKey(a.authKey, a.userId)
      return { phone: a.phone, userId: a.userId, session: stringSession(mainDc, host, a.authKey) }
    })
    const unsubscribe = world.subscribe((event) => pushes.enqueue(event))

    const published: { descriptor?: Descriptor } = {}
    const admin = makeAdminApp({ world, control, descriptor: () => published.descriptor })
    let adminServer: Deno.HttpServer<Deno.NetAddr>
    try {
      adminServer = Deno.serve(
        { hostname: options.adminHost ?? "127.0.0.1", port: options.adminPort ?? 0, onListen: () => {} },
        admin.app.fetch,
      )
    } catch (error) {
      unsubscribe()
      await Promise.all([...dcs.values()].map((dc) => dc.stop()))
      throw error
    }
    const descriptor: Descriptor = {
      mainDc,
      dcs: dcList,
      rsaPublicKey: { pem: rsa.publicPem, fingerprint: rsa.fingerprint.toString() },
      apiId: SANDBOX_API_ID,
      apiHash,
      accounts: sessions,
      channels: world.channels.map((c) => ({
        id: c.id,
        accessHash: c.accessHash.toString(),
        username: c.username,
        title: c.title,
        kind: c.kind,
        posts: world.postCount(c.id),
        ...(c.isPrivate ? { private: true } : {}),
        ...(c.inviteHash === undefined ? {} : { inviteLink: `https://t.me/+${c.inviteHash}` }),
        memberUserIds: [...new Set([...c.adminUserIds, ...c.memberUserIds])],
        discussionGroupId: c.discussionGroupId ?? null,
      })),
      admin: `http://${options.adminHost === undefined ? "127.0.0.1" : host}:${adminServer.addr.port}`,
    }
    published.descriptor = descriptor
    log("info", "sandbox started", {
      dcs: dcList.map((d) => `${d.id}@${d.host}:${d.port}`).join(","),
      admin: descriptor.admin,
      channels: world.channels.length,
      seed,
    })
    return new Sandbox(world, dcs, { ...control, activity: admin.activity }, descriptor, rsa, [
      unsubscribe,
      () => admin.close(),
      () => adminServer.shutdown(),
      ...[...dcs.values()].map((dc) => () => dc.stop()),
    ])
  }

  async stop(): Promise<void> {
    for (const close of this.closers) await close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}

/** A GramJS StringSession ("1" + base64(dc ‖ ip length ‖ ip ‖ port ‖ auth key)); the port is not used for routing. */
export function stringSession(dcId: number, host: string, authKey: Uint8Array): string {
  const ip = Buffer.from(host)
  const head = Buffer.alloc(3 + ip.length + 2)
  head.writeUInt8(dcId, 0)
  head.writeInt16BE(ip.length, 1)
  ip.copy(head, 3)
  head.writeInt16BE(443, 3 + ip.length)
  return "1" + Buffer.concat([head, authKey]).toString("base64")
}
