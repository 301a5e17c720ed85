/** Every migration, keyed `NNNN_name` for the record loader (static imports keep bundling and compiling possible). */
import history from "./0001_history.ts"
import accounts from "./0002_accounts.ts"
import stats from "./0003_stats.ts"
import refresh from "./0004_refresh.ts"
import deletions from "./0005_deletions.ts"
import metricsTime from "./0006_metrics_time.ts"
import contentRead from "./0007_content_read.ts"
import rollups from "./0008_rollups.ts"
import comments from "./0009_comments.ts"
import versions from "./0010_versions.ts"
import dialogs from "./0011_dialogs.ts"

export const migrations = {
  "0001_history": history,
  "0002_accounts": accounts,
  "0003_stats": stats,
  "0004_refresh": refresh,
  "0005_deletions": deletions,
  "0006_metrics_time": metricsTime,
  "0007_content_read": contentRead,
  "0008_rollups": rollups,
  "0009_comments": comments,
  "0010_versions": versions,
  "0011_dialogs": dialogs,
} as const
