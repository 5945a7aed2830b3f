/**
 * The error codes of the wire protocol. Clients branch on these strings, so they are a
 * closed set: adding one means deciding its HTTP status, default message and whether a
 * client may retry the same request later.
 */
export type ErrorCode =
  /** The room id names no room (never created, or deleted after being empty). */
  | 'room_not_found'
  /** The room already holds `max_users` members (offline members in their resume grace count). */
  | 'room_full'
  /** Someone in the room already uses that name (compared case-insensitively). */
  | 'username_taken'
  /** Wrong or missing password, token or session; banned; muted; not a moderator. */
  | 'not_authorized'
  /** Too many requests of this kind; wait and retry. */
  | 'rate_limited'
  /** The frame or body is malformed, has a wrong field, or breaks an input limit. */
  | 'invalid_message'
  /** `POST /rooms` or `create` with a name whose id is already taken. */
  | 'room_exists'
  /** The server holds `MAX_ROOMS` rooms and creates no more until some are deleted. */
  | 'room_limit_reached'
  /** No such HTTP route (REST only). */
  | 'not_found'
  /** The HTTP path exists but not with this method; the `Allow` header lists those it takes (REST only). */
  | 'method_not_allowed'
  /** The request body is over MAX_BODY_BYTES (413), or its line and headers over 16 KiB (431); REST only. */
  | 'payload_too_large'
  /** The server is shutting down and accepts no new connections or rooms. */
  | 'shutting_down'
  /** A shared service (Redis, in a cluster) is out of reach; nothing was done, retry later. */
  | 'unavailable'
  /** An unexpected server fault; details are logged, never sent. */
  | 'internal_error'
  /** `auth` with a token that does not check out (signature, algorithm, time, issuer, audience, claims). */
  | 'invalid_token'
  /** `AUTH_MODE=required` and the connection has not signed in: only `auth` and `ping` are accepted. */
  | 'unauthenticated'
  /** The connection's token expired without a refresh; the connection is closed with 4401. */
  | 'token_expired'
  /** The id names no message kept in the room's history (`reply_to`, `edit`, `delete`, `react`). */
  | 'message_not_found'
  /** The message already has the most distinct reactions it may have (20); an existing one may still be added to. */
  | 'reaction_limit'

export interface ErrorSpec {
  /** HTTP status used when the error is answered over REST. */
  readonly status: number
  /** Message sent when the thrower gives none. */
  readonly message: string
  /** Whether the same request may succeed later without changing it. */
  readonly retryable: boolean
}

export const ERRORS: Readonly<Record<ErrorCode, ErrorSpec>> = {
  room_not_found: { status: 404, message: 'Room not found', retryable: false },
  room_full: { status: 409, message: 'Room is full', retryable: true },
  username_taken: { status: 409, message: 'Username is taken in this room', retryable: false },
  not_authorized: { status: 403, message: 'Not authorized', retryable: false },
  rate_limited: { status: 429, message: 'Too many requests, slow down', retryable: true },
  invalid_message: { status: 400, message: 'Invalid message', retryable: false },
  room_exists: { status: 409, message: 'A room with this id already exists', retryable: false },
  room_limit_reached: {
    status: 503,
    message: 'The server holds its maximum number of rooms',
    retryable: true,
  },
  not_found: { status: 404, message: 'No such route', retryable: false },
  method_not_allowed: {
    status: 405,
    message: 'This path does not take this method',
    retryable: false,
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is too large',
    retryable: false,
  },
  shutting_down: { status: 503, message: 'The server is shutting down', retryable: true },
  unavailable: {
    status: 503,
    message: 'The chat backend is unavailable; nothing was done, retry shortly',
    retryable: true,
  },
  internal_error: { status: 500, message: 'Internal server error', retryable: true },
  invalid_token: { status: 401, message: 'The token is not valid', retryable: false },
  unauthenticated: {
    status: 401,
    message: 'Sign in first: send {"action":"auth","token":…}',
    retryable: false,
  },
  token_expired: { status: 401, message: 'The token has expired', retryable: false },
  message_not_found: {
    status: 404,
    message: 'No such message is kept in this room',
    retryable: false,
  },
  reaction_limit: {
    status: 409,
    message: 'This message has as many different reactions as it may have',
    retryable: false,
  },
}

/**
 * The only error the domain throws on purpose. The transports render it: over WS as an
 * `error` frame, over HTTP as `{"error":{"code","message"}}` with the table's status.
 */
export class ChatError extends Error {
  readonly code: ErrorCode
  /** Seconds a client should wait before retrying (sent as `Retry-After` over HTTP). */
  readonly retryAfterS: number | undefined
  /** HTTP status when it differs from the table's (401 for missing credentials). */
  readonly httpStatus: number | undefined

  constructor(code: ErrorCode, message?: string, retryAfterS?: number, httpStatus?: number) {
    super(message ?? ERRORS[code].message)
    this.name = 'ChatError'
    this.code = code
    this.retryAfterS = retryAfterS
    this.httpStatus = httpStatus
  }
}
