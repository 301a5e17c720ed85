/** What the admin API's routes reach: the world, the operator controls, the activity generator and publishing. */
import type { PushControl, SandboxControl, StatsControl } from "../control/Control.ts"
import type { Activity } from "../world/Activity.ts"
import type { WorldApi } from "../world/Model.ts"
import type { Publisher } from "./Publisher.ts"

export interface AdminContext {
  readonly world: WorldApi
  readonly control: SandboxControl
  /** The statistics switches (the control's, or the admin API's own). */
  readonly stats: StatsControl
  /** Pushed updates (the control's, or an empty log of the admin API's own). */
  readonly pushes: PushControl
  readonly activity: Activity
  readonly publisher: Publisher
  /** The sandbox descriptor (served as is by `GET /descriptor`). */
  readonly descriptor: () => unknown
}
