/** Tiny assertion helpers (JSR's @std/assert is unreachable here): the sandbox package's own, one copy for both. */
export * from "../../sandbox/tests/support/assert.ts"
