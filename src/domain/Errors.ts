/** Cross-module tagged errors that are not owned by one adapter. */
import { Schema } from "effect"

/**
 * A setting is missing or bad. `message` names the variable (or flag), the value (secrets masked) and what was
 * expected; tasks print it as it is and exit with code 2.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  variable: Schema.String,
  message: Schema.String,
}) {}
