import { randomBytes } from 'node:crypto'
import type { Config } from '../config.ts'
import { ChatError } from '../protocol/errors.ts'
import { isChange, type LogEntry, type RoomId, type ServerFrame } from '../protocol/frames.ts'
import { parseId } from './history.ts'
import { normalizeName, slugify } from './names.ts'
import type { Logger, Peer } from './ports.ts'
import type { TokenBucket } from './token-bucket.ts'

// The rules any room store follows, in-memory or shared: pure functions and constants, no state.

/** WebSocket close codes the store uses; see docs/protocol.md. */
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  unjoined: 4000,
  replaced: 4001,
  /** Not signed in (in time), or the token expired (AUTH_MODE). */
  unauthenticated: 4401,
  /** Disconnected by the app's backend (the server API). */
  forbidden: 4403,
} as const

export const MAX_PASSWORD_CHARS = 128
export const HISTORY_PAGE_DEFAULT = 50
export const ROOM_PAGE_DEFAULT = 50
export const ROOM_PAGE_MAX = 200

/** Content with nothing visible: whitespace and zero-width characters only. */
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}]*$/u

/** A fresh unguessable token: session tokens and moderator tokens. */
export function randomToken(): string {
  return randomBytes(24).toString('base64url')
}

export interface CreateRoomInput {
  name: string
  max_users?: number
  is_private?: boolean
  password?: string
  /** Who may join: `anyone` (the default) or `signed_in` users only (AUTH_MODE optional). */
  members?: string
}

/** Who may join a room. */
export type RoomMembers = 'anyone' | 'signed_in'

/** Credentials that open a private room's REST views. */
export interface RoomCredentials {
  password?: string
  token?: string
}

/**
 * Checks a room creation request and returns the room it describes, or throws
 * `invalid_message`. Checks, in order: the name (normalized, and it must slug to an id),
 * max_users (an integer from 1 to `maxUsersLimit`, default `defaultMaxUsers`), that a
 * private room has a password and a public one has none (`is_private` defaults to
 * whether a password is given), the password's length, and `members`.
 */
export function validateCreateInput(
  input: CreateRoomInput,
  config: Pick<Config, 'defaultMaxUsers' | 'maxUsersLimit'>,
): {
  name: string
  id: RoomId
  maxUsers: number
  isPrivate: boolean
  password: string | undefined
  signedIn: boolean
} {
  const name = normalizeName(input.name, 'room name')
  const id = slugify(name)
  if (!id) throw new ChatError('invalid_message', 'The room name needs a letter or digit')
  const maxUsers = input.max_users ?? config.defaultMaxUsers
  if (!Number.isInteger(maxUsers) || maxUsers < 1 || maxUsers > config.maxUsersLimit) {
    throw new ChatError('invalid_message', `max_users must be from 1 to ${config.maxUsersLimit}`)
  }
  const isPrivate = input.is_private ?? input.password !== undefined
  if (isPrivate && (input.password === undefined || input.password.length === 0)) {
    throw new ChatError('invalid_message', 'A private room needs a password')
  }
  if (!isPrivate && input.password !== undefined) {
    throw new ChatError('invalid_message', 'Only a private room takes a password')
  }
  if (input.password !== undefined && input.password.length > MAX_PASSWORD_CHARS) {
    throw new ChatError(
      'invalid_message',
      `The password is longer than ${MAX_PASSWORD_CHARS} characters`,
    )
  }
  const members = input.members ?? 'anyone'
  if (members !== 'anyone' && members !== 'signed_in')
    throw new ChatError('invalid_message', 'members must be "anyone" or "signed_in"')
  return {
    name,
    id,
    maxUsers,
    isPrivate,
    password: input.password,
    signedIn: members === 'signed_in',
  }
}

/**
 * Checks a chat message's content: `invalid_message` when nothing in it is visible, or
 * when it has more than `maxContentChars` code points.
 */
export function checkContent(content: string, maxContentChars: number): void {
  if (BLANK.test(content)) throw new ChatError('invalid_message', 'The message is empty')
  // Counting code points is costly; UTF-16 length is never below it, so test that first.
  if (content.length > maxContentChars && [...content].length > maxContentChars) {
    throw new ChatError(
      'invalid_message',
      `The message is longer than ${maxContentChars} characters`,
    )
  }
}

/**
 * The sequence number a history page ends before: MAX_SAFE_INTEGER (the newest) when
 * `before` is absent or empty, else the message id's; `invalid_message` for a bad id.
 */
export function parseBefore(before: string | undefined): number {
  if (before === undefined || before === '') return Number.MAX_SAFE_INTEGER
  const seq = parseId(before)
  if (seq === undefined) throw new ChatError('invalid_message', '"before" must be a message id')
  return seq
}

/** A history page's size: `limit` (default HISTORY_PAGE_DEFAULT) rounded down, from 1 to `historyLimit`. */
export function pageSize(limit: number | undefined, historyLimit: number): number {
  return Math.min(
    Math.max(1, Math.floor(limit === undefined ? HISTORY_PAGE_DEFAULT : limit)),
    historyLimit,
  )
}

/**
 * One page of a room list: sorts `rooms` (already filtered to those after the cursor) by
 * id and keeps the first `limit` (from 1 to ROOM_PAGE_MAX); `next_cursor` is the last id
 * kept when more are left, else null.
 */
export function sortRoomsPage<T extends { id: string }>(
  rooms: T[],
  limit: number,
): { page: T[]; next_cursor: string | null } {
  const size = Math.min(Math.max(1, limit), ROOM_PAGE_MAX)
  rooms.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const page = rooms.slice(0, size)
  const last = page[page.length - 1]
  return { page, next_cursor: rooms.length > size && last ? last.id : null }
}

/**
 * An entry of a room's log as the live frame it was (or would have been) sent as, for a
 * resume or a node catching up: a message in its latest state (with `edited_at` and
 * `reactions` when it has them), or a change's frame. A deleted message replays as nothing:
 * its `message_deleted` follows in the log.
 */
export function replayFrame(entry: LogEntry): ServerFrame | undefined {
  if (isChange(entry)) return entry.event
  const m = entry
  if (m.deleted) return undefined
  const content = m.content ?? ''
  if (m.type !== 'text')
    return { type: 'system', room: m.room_id, id: m.id, content, ts: m.timestamp }
  const frame: ServerFrame = {
    type: 'message',
    room: m.room_id,
    id: m.id,
    sender: m.sender,
    content,
    ts: m.timestamp,
  }
  if (m.user_id !== undefined) frame.user_id = m.user_id
  if (m.reply_to !== undefined) frame.reply_to = m.reply_to
  if (m.edited_at !== undefined) frame.edited_at = m.edited_at
  if (m.reactions !== undefined) frame.reactions = m.reactions
  return frame
}

/** What the flood check needs of a session: its patience, its connection, its address. */
export interface Limited {
  readonly patience: TokenBucket
  readonly peer: Peer | undefined
  readonly address: string
}

/**
 * Counts a frame against `bucket`. Past it: throws `rate_limited` (or, `silent`, returns
 * false), and each refusal also drains the session's patience; when that runs dry the
 * connection is closed with 1008 as a flood, logged once at `warn` with the address.
 */
export function takeFrame(
  client: Limited,
  bucket: TokenBucket,
  logger: Logger,
  silent = false,
): boolean {
  if (bucket.take()) return true
  if (!client.patience.take()) {
    logger.warn('closing flooding connection', { address: client.address })
    client.peer?.close(CLOSE.policy, 'Flooding: too many refused frames')
  }
  if (silent) return false
  throw new ChatError('rate_limited', undefined, bucket.retryAfterS())
}
