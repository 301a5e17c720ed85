/**
 * What this runner owns now: the accounts whose entities run here, the channels whose entities' shards it holds (it
 * syncs, follows and refreshes those) and the collectors (cluster singletons) it runs (for `/info`, the `mtproto_cluster_owned` gauge and the tests that prove one owner per session).
 */
import { Context, Effect, Layer, Metric, Ref, type Scope } from "effect"
import { clusterOwned } from "../observe/Metrics.ts"

export type Owned = "account" | "channel" | "collector"
type Held = Exclude<Owned, "channel">

export class Ownership extends Context.Service<Ownership, {
  /** Where this runner is reached (host:port as resolved; in-process: undefined). */
  readonly address: Ref.Ref<string | undefined>
  /** This runner owns `id` for the caller's scope. */
  hold(kind: Held, id: string): Effect.Effect<void, never, Scope.Scope>
  /** The channels this runner owns now (replacing the ones it owned). */
  ownChannels(ids: ReadonlyArray<string>): Effect.Effect<void>
  /** What it owns now, sorted. */
  readonly now: Effect.Effect<
    {
      readonly accounts: ReadonlyArray<string>
      readonly channels: ReadonlyArray<string>
      readonly collectors: ReadonlyArray<string>
    }
  >
}>()("tgpulse/cluster/Ownership") {
  static readonly layer = Layer.effect(
    Ownership,
    Effect.gen(function* () {
      const owned = yield* Ref.make<Record<Owned, ReadonlySet<string>>>({
        account: new Set(),
        channel: new Set(),
        collector: new Set(),
      })
      const change = (kind: Owned, f: (s: Set<string>) => void) =>
        Ref.updateAndGet(owned, (o) => {
          const next = new Set(o[kind])
          f(next)
          return { ...o, [kind]: next }
        }).pipe(
          Effect.flatMap((o) => Metric.update(Metric.withAttributes(clusterOwned, { kind }), o[kind].size)),
        )
      return Ownership.of({
        address: yield* Ref.make<string | undefined>(undefined),
        hold: (kind, id) =>
          Effect.acquireRelease(change(kind, (s) => s.add(id)), () => change(kind, (s) => s.delete(id))),
        ownChannels: (ids) =>
          change("channel", (s) => {
            s.clear()
            for (const id of ids) s.add(id)
          }),
        now: Effect.map(Ref.get(owned), (o) => ({
          accounts: [...o.account].sort(),
          channels: [...o.channel].sort(),
          collectors: [...o.collector].sort(),
        })),
      })
    }),
  )
}
