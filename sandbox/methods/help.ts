/** help.*: the DC configuration and the nearest DC. */
import { Api } from "../tl/Tl.ts"
import type { Handlers, MethodContext } from "./MethodContext.ts"

/**
 * help.getConfig: every DC of the sandbox, this one, and Telegram's limits; dated by the sandbox's clock (the wall
 * clock plus the admin's moves), as clients schedule their next reload by `expires`.
 */
function getConfig(ctx: MethodContext): Api.Config {
  const { thisDc, dcs, mainDc } = ctx
  const date = ctx.world.now()
  return new Api.Config({
    date,
    expires: date + 3600,
    testMode: false,
    thisDc,
    dcOptions: dcs.map((dc) => new Api.DcOption({ id: dc.id, ipAddress: dc.host, port: dc.port })),
    dcTxtDomainName: "sandbox.invalid",
    chatSizeMax: 200,
    megagroupSizeMax: 200_000,
    forwardedCountMax: 100,
    onlineUpdatePeriodMs: 210_000,
    offlineBlurTimeoutMs: 5_000,
    offlineIdleTimeoutMs: 30_000,
    onlineCloudTimeoutMs: 300_000,
    notifyCloudDelayMs: 30_000,
    notifyDefaultDelayMs: 1_500,
    pushChatPeriodMs: 60_000,
    pushChatLimit: 2,
    editTimeLimit: 172_800,
    revokeTimeLimit: 2_147_483_647,
    revokePmTimeLimit: 2_147_483_647,
    ratingEDecay: 2_419_200,
    stickersRecentLimit: 200,
    channelsReadMediaPeriod: 604_800,
    callReceiveTimeoutMs: 20_000,
    callRingTimeoutMs: 90_000,
    callConnectTimeoutMs: 30_000,
    callPacketTimeoutMs: 10_000,
    meUrlPrefix: "https://t.me/",
    captionLengthMax: 1024,
    messageLengthMax: 4096,
    webfileDcId: mainDc,
  })
}

function getNearestDc(ctx: MethodContext): Api.NearestDc {
  return new Api.NearestDc({ country: "ZZ", thisDc: ctx.thisDc, nearestDc: ctx.mainDc })
}

export const helpMethods: Handlers = {
  "help.GetConfig": getConfig,
  "help.GetNearestDc": getNearestDc,
}
