/**
 * Every error the page can meet, in plain words. Pure (no DOM), so it is unit-tested.
 * The codes are the protocol's (docs/protocol.md, "Error codes") and ChatClient's own.
 */
import { ChatRequestError } from '../client/index.ts'

/** What the page was doing, to say which room or name an error is about. */
export interface ErrorContext {
  /** The room as the person knows it (its name, or what they typed). */
  room?: string
  username?: string
  /** The failed request: a few codes read differently for a message than for a join. */
  action?:
    | 'join'
    | 'create'
    | 'send'
    | 'moderate'
    | 'leave'
    | 'history'
    | 'edit'
    | 'delete'
    | 'react'
    | 'direct'
}

/** Whatever a request threw, as a ChatRequestError: a code to put in plain words. */
export const asRequestError = (error: unknown): ChatRequestError =>
  error instanceof ChatRequestError
    ? error
    : new ChatRequestError('internal_error', error instanceof Error ? error.message : String(error))

const quoted = (text: string | undefined) => (text ? `“${text}”` : 'this room')

/** A sentence for the error `code` (with the server's `message` where it says more). */
export function plainError(code: string, message: string, ctx: ErrorContext = {}): string {
  const room = quoted(ctx.room)
  switch (code) {
    case 'room_full':
      return `${room} is full. Try again later, or pick another room.`
    case 'username_taken':
      return `The name ${quoted(ctx.username)} is already taken in ${room}. Choose another username.`
    case 'room_not_found':
      return `There is no room ${room}. Check the name, or create it.`
    case 'room_exists':
      return `A room named ${room} already exists. Join it, or pick another name.`
    case 'room_limit_reached':
      return 'The server holds as many rooms as it can. Try again later.'
    case 'rate_limited':
      return ctx.action === 'send'
        ? 'You are sending messages too fast (rate limited). Wait a moment, then send again.'
        : 'Too many attempts in a short time (rate limited). Wait a moment, then try again.'
    case 'not_authorized':
      return notAuthorized(message, room, ctx.action)
    case 'invalid_message':
      return `That was not accepted: ${message}`
    case 'shutting_down':
      return 'The server is restarting. The page reconnects by itself; try again in a moment.'
    case 'unavailable':
      return 'The server is briefly unavailable. Try again in a moment.'
    case 'invalid_token':
      return `Your sign-in was not accepted: ${message}`
    case 'unauthenticated':
      // The page meets it without a token (it signs in before anything else when it has one).
      return 'This chat needs you to sign in: open it from the app with a sign-in link (#token=…).'
    case 'token_expired':
      return 'Your sign-in has expired. Sign in again to go on chatting.'
    case 'payload_too_large':
      return 'That is too large for the server to take.'
    case 'method_not_allowed':
      return 'The server does not take that request here.'
    case 'message_not_found':
      return 'That message is no longer in the room.'
    case 'reaction_limit':
      return 'That message has as many different reactions as it can take: add to one of them.'
    case 'timeout':
      return 'The server did not answer in time. Try again.'
    case 'disconnected':
      return ctx.action === 'send'
        ? 'The connection dropped while sending: your message may not have been sent.'
        : 'The connection dropped before the server answered. Try again.'
    case 'closed':
      return 'Not connected to the server. Reload the page to connect again.'
    default:
      return 'Something went wrong on the server. Try again.'
  }
}

/** `not_authorized` covers several cases; the server's message tells which. */
function notAuthorized(message: string, room: string, action: ErrorContext['action']): string {
  if (/only its sender or a moderator/i.test(message))
    return 'Only its sender or a moderator may delete that message.'
  if (/only its sender/i.test(message)) return 'Only its sender may edit that message.'
  if (/system note/i.test(message)) return 'A system note cannot be changed.'
  if (/muted/i.test(message) && (action === 'edit' || action === 'react'))
    return `You are muted in ${room}: you cannot edit or react for now.`
  if (/wrong password/i.test(message)) return `Wrong password for ${room}.`
  if (/needs a password/i.test(message)) return `${room} is private: enter its password.`
  if (/banned/i.test(message)) return `You are banned from ${room}.`
  if (/muted/i.test(message)) return `You are muted in ${room}: your message was not sent.`
  if (/moderator/i.test(message)) return `Only a moderator of ${room} may do that.`
  if (/not joined/i.test(message)) return `You are no longer in ${room}.`
  return `Not allowed: ${message}`
}

/** Whether a refused join asks for the room's password (rather than refusing for good). */
export function needsPassword(code: string, message: string): boolean {
  return code === 'not_authorized' && /needs a password/i.test(message)
}
