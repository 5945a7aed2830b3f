/**
 * What a check is. A check throws to fail and throws `Skip` when it cannot run against this
 * server (a missing option, a feature the server turned off); see assert.ts.
 */
import type { Context } from './context.ts'

export interface Check {
  /** Short, reads as behaviour: "answers ping with pong, echoing ref". */
  name: string
  run(ctx: Context): Promise<void>
  /** Bound for the whole check; default the runner's `--timeout-ms`. */
  timeoutMs?: number
}

/** A group of checks, one file per area of the protocol (checks/*.ts). */
export interface Area {
  area: string
  checks: Check[]
}
