/** Test support for the sandbox world: getHistory queries (a first page of 100 unless overridden). */
export { historyQuery } from "@tgpulse/sandbox"
