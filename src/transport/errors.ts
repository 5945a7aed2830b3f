/**
 * The one place where errors become responses: ChatError → HTTP body or WS error frame.
 * Anything that is not a ChatError is an internal error: logged once, details hidden.
 */
import type { Logger } from '../domain/ports.ts'
import { ChatError, ERRORS, type ErrorCode } from '../protocol/errors.ts'
import type { Ref, RoomId, ServerFrame } from '../protocol/frames.ts'
import { FrameError } from '../protocol/parse.ts'

export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

/** Turns any thrown value into a ChatError, logging the ones nobody meant to throw. */
export function toChatError(error: unknown, logger: Logger): ChatError {
  if (error instanceof ChatError) return error
  if (error instanceof FrameError) return new ChatError('invalid_message', error.message)
  logger.error('unexpected error', {
    error:
      error instanceof Error
        ? { name: error.name, message: error.message, stack: error.stack }
        : String(error),
  })
  return new ChatError('internal_error')
}

/** The HTTP response for an error. */
export function errorResponse(error: ChatError): Response {
  const body: ErrorBody = { error: { code: error.code, message: error.message } }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (error.retryAfterS !== undefined)
    headers['retry-after'] = String(Math.max(1, error.retryAfterS))
  return new Response(JSON.stringify(body), {
    status: error.httpStatus ?? ERRORS[error.code].status,
    headers,
  })
}

/** The WS `error` frame for an error, echoing the request's `ref` and room. */
export function errorFrame(
  error: ChatError,
  ref: Ref | undefined,
  room: RoomId | undefined,
): ServerFrame {
  const frame: ServerFrame = { type: 'error', code: error.code, message: error.message }
  if (room !== undefined) frame.room = room
  if (ref !== undefined) frame.ref = ref
  return frame
}
