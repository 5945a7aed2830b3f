/**
 * The protocol's error codes (docs/protocol.md, "Error codes"). The `satisfies` below makes
 * the type check fail when src/protocol/errors.ts gains or loses a code, so the suite cannot
 * drift from the catalog; the suite itself imports nothing else of the server.
 */
import type { ErrorCode } from '../../src/protocol/errors.ts'

const CODES = {
  room_not_found: true,
  room_full: true,
  username_taken: true,
  not_authorized: true,
  rate_limited: true,
  invalid_message: true,
  room_exists: true,
  room_limit_reached: true,
  not_found: true,
  method_not_allowed: true,
  payload_too_large: true,
  shutting_down: true,
  unavailable: true,
  internal_error: true,
  invalid_token: true,
  unauthenticated: true,
  token_expired: true,
  message_not_found: true,
  reaction_limit: true,
} as const satisfies Record<ErrorCode, true>

export type Code = keyof typeof CODES

/** Whether `code` is one of the catalog's codes. */
export function isCatalogCode(code: unknown): code is Code {
  return typeof code === 'string' && Object.hasOwn(CODES, code)
}
