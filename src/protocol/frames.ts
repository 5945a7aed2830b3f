/**
 * The WebSocket wire protocol: every frame is one JSON object in a text frame.
 * docs/protocol.md is the prose version of this file; keep the two in step.
 */
import type { ErrorCode } from './errors.ts'

export type RoomId = string
export type MessageId = string
/** A signed-in user's id: the token's `sub`. */
export type UserId = string

/** Echoed on the direct reply to the frame that carried it. */
export type Ref = string | number

// ── Client → server ────────────────────────────────────────────────────────────

interface Base {
  /** Echoed on the direct reply (joined, left, pong, history, error…). */
  ref?: Ref
}

export interface JoinFrame extends Base {
  action: 'join'
  room: RoomId
  /** Required unless signed in (then the token's name is used and this is ignored). */
  username?: string
  /** Required for private rooms. */
  password?: string
  /** The room's moderator token; joining with it grants moderator rights. */
  token?: string
}
export interface CreateFrame extends Base {
  action: 'create'
  name: string
  /** Required unless signed in (then the token's name is used and this is ignored). */
  username?: string
  max_users?: number
  is_private?: boolean
  password?: string
  /** `anyone` (the default) or `signed_in`: only signed-in users may join. */
  members?: string
}
export interface MessageFrame extends Base {
  action: 'message'
  room: RoomId
  content: string
  /** The id of a kept message of the same room that this one replies to. */
  reply_to?: MessageId
}
export interface RoomFrame extends Base {
  action: 'typing' | 'leave'
  room: RoomId
}
/** The member has read the room up to `id` (docs/protocol.md, "Read markers"). */
export interface ReadFrame extends Base {
  action: 'read'
  room: RoomId
  id: MessageId
}
export interface PingFrame extends Base {
  action: 'ping'
}
/** Signs in (AUTH_MODE `optional` or `required`), or refreshes the sign-in with a new token. */
export interface AuthFrame extends Base {
  action: 'auth'
  /** A JWT signed by the app's backend (docs/sign-in.md). */
  token: string
}
export interface HistoryFrame extends Base {
  action: 'history'
  room: RoomId
  before?: MessageId
  limit?: number
}
export interface ResumeFrame extends Base {
  action: 'resume'
  session: string
  /** Per room, the id of the last message the client saw. */
  last_ids?: Record<RoomId, MessageId>
}
export interface ModerationFrame extends Base {
  action: 'ban' | 'kick' | 'unban' | 'unmute'
  room: RoomId
  username: string
  /** A timed ban's length (the server API's `duration_ms`; not read from a WS frame). */
  duration_ms?: number
}
export interface MuteFrame extends Base {
  action: 'mute'
  room: RoomId
  username: string
  duration_ms: number
}
/** Replaces the text of one's own message. */
export interface EditFrame extends Base {
  action: 'edit'
  room: RoomId
  id: MessageId
  content: string
}
/** Deletes one's own message (a moderator: anyone's). */
export interface DeleteFrame extends Base {
  action: 'delete'
  room: RoomId
  id: MessageId
}
/** Sets (`on`) or clears one's reaction `emoji` on a message. */
export interface ReactFrame extends Base {
  action: 'react'
  room: RoomId
  id: MessageId
  emoji: string
  on: boolean
}
/** A change to a kept message: an edit, a delete or a reaction. */
export type AmendFrame = EditFrame | DeleteFrame | ReactFrame

/** Joins the direct room of this user and the other signed-in user `user_id` (created if new). */
export interface DirectFrame extends Base {
  action: 'direct'
  user_id: UserId
}
/** Asks for the user's direct rooms. */
export interface DirectsFrame extends Base {
  action: 'directs'
}

export type ClientFrame =
  | JoinFrame
  | CreateFrame
  | MessageFrame
  | RoomFrame
  | ReadFrame
  | PingFrame
  | AuthFrame
  | HistoryFrame
  | ResumeFrame
  | ModerationFrame
  | MuteFrame
  | EditFrame
  | DeleteFrame
  | ReactFrame
  | DirectFrame
  | DirectsFrame

export type Action = ClientFrame['action']

/** Every action a client may send. */
export const ACTIONS = [
  'join',
  'create',
  'message',
  'typing',
  'leave',
  'read',
  'ping',
  'auth',
  'history',
  'resume',
  'ban',
  'kick',
  'unban',
  'mute',
  'unmute',
  'edit',
  'delete',
  'react',
  'direct',
  'directs',
] as const satisfies readonly Action[]

// ── Server → client ────────────────────────────────────────────────────────────

export type PresenceStatus = 'online' | 'offline'

export interface UserView {
  username: string
  status: PresenceStatus
  moderator: boolean
  /** The signed-in user's id (AUTH_MODE); absent for an anonymous user. */
  user_id?: string
}

/** One emoji's reactions on a message: how many, and who (the first 50). */
export interface ReactionView {
  count: number
  users: string[]
}

/**
 * A message as the room keeps it, in its latest state: in `joined.history`, `history` and
 * over REST. A deleted message is a tombstone: `deleted: true` and no `content`.
 */
export interface StoredMessage {
  id: MessageId
  type: 'text' | 'system'
  sender: string
  /** Absent only on a tombstone. */
  content?: string
  /** Milliseconds since the epoch. */
  timestamp: number
  room_id: RoomId
  /** The sender's user id when they were signed in (AUTH_MODE). */
  user_id?: string
  /** The id of the message this one replies to. */
  reply_to?: MessageId
  /** When the text was last edited (ms). */
  edited_at?: number
  deleted?: true
  /** By emoji, in the order first used; none when nobody reacted. */
  reactions?: Record<string, ReactionView>
}

/** A change to a message, as the room's log keeps it: its place in the room's sequence and its frame. */
export interface LoggedChange {
  seq: number
  event: ChangeFrame
}

/** An entry of a room's log: a message (in its latest state) or a change to one. */
export type LogEntry = StoredMessage | LoggedChange

/** Whether a log entry is a change (else a message). */
export function isChange(entry: LogEntry): entry is LoggedChange {
  return (entry as LoggedChange).seq !== undefined
}

/** The frames of changes to kept messages, each with `event_id`, its place in the room's sequence. */
export type ChangeFrame =
  | {
      type: 'message_edited'
      room: RoomId
      id: MessageId
      content: string
      edited_at: number
      event_id: MessageId
    }
  | { type: 'message_deleted'; room: RoomId; id: MessageId; by: string; event_id: MessageId }
  | {
      type: 'reaction'
      room: RoomId
      id: MessageId
      emoji: string
      username: string
      user_id?: string
      on: boolean
      count: number
      event_id: MessageId
    }

/**
 * Read markers in `joined` and `resumed`: each member's last-read id by username (only your
 * own in a room above READ_MARKERS_MAX_MEMBERS), and how many kept text messages of others
 * come after your own marker.
 */
export interface ReadState {
  read: Record<string, MessageId>
  unread: number
}

export type ServerFrame =
  | { type: 'welcome'; session: string; resume_within_ms: number }
  | {
      type: 'authenticated'
      user: { id: string; name: string }
      /** When the token expires (ms since the epoch); refresh before with another `auth`. */
      expires_at: number
      ref?: Ref
    }
  | {
      type: 'joined'
      room: RoomId
      username: string
      moderator: boolean
      users: UserView[]
      history: StoredMessage[]
      read: Record<string, MessageId>
      unread: number
      moderator_token?: string
      ref?: Ref
    }
  | { type: 'left'; room: RoomId; reason?: 'access_revoked'; ref?: Ref }
  | {
      type: 'message'
      room: RoomId
      id: MessageId
      sender: string
      content: string
      ts: number
      user_id?: string
      reply_to?: MessageId
      /** Only on a replayed message (resume) that was edited or reacted to meanwhile. */
      edited_at?: number
      reactions?: Record<string, ReactionView>
    }
  | { type: 'system'; room: RoomId; id: MessageId; content: string; ts: number }
  | { type: 'user_joined'; room: RoomId; username: string; user_id?: string }
  | { type: 'user_left'; room: RoomId; username: string; user_id?: string }
  | {
      type: 'presence'
      room: RoomId
      username: string
      status: PresenceStatus
      user_id?: string
    }
  | { type: 'presence_diff'; room: RoomId; joins: UserView[]; leaves: string[] }
  | { type: 'typing'; room: RoomId; username: string; active: boolean; user_id?: string }
  /** A member's read marker moved (at most one per member per room per second). */
  | { type: 'read'; room: RoomId; username: string; user_id?: string; id: MessageId }
  | { type: 'history'; room: RoomId; messages: StoredMessage[]; has_more: boolean; ref?: Ref }
  | {
      type: 'resumed'
      room: RoomId
      username: string
      moderator: boolean
      recovered: boolean
      users: UserView[]
      read: Record<string, MessageId>
      unread: number
      ref?: Ref
    }
  | { type: 'banned'; room: RoomId; by: string }
  | { type: 'kicked'; room: RoomId; by: string }
  /** The room was deleted (the server API); you are no longer in it. */
  | { type: 'room_deleted'; room: RoomId }
  | {
      type: 'moderated'
      room: RoomId
      action: ModerationFrame['action'] | 'mute'
      /** The user acted on, when they were signed in. */
      user_id?: string
      ref?: Ref
    }
  | ChangeFrame
  | { type: 'pong'; ref?: Ref }
  /** Someone wrote the first message of a direct conversation with you (you are not in it). */
  | { type: 'direct'; room: RoomId; from: { user_id: UserId; username: string } }
  /** Your direct rooms, with the other user of each. */
  | { type: 'directs'; rooms: { room: RoomId; user_id: UserId }[]; ref?: Ref }
  | { type: 'shutdown'; reconnect_in_ms: number }
  | { type: 'error'; code: ErrorCode; message: string; room?: RoomId; ref?: Ref }

/** Adds `user_id` to a frame that names a user, when that user is signed in; returns the frame. */
export function withUserId<F extends ServerFrame>(frame: F, userId: string | undefined): F {
  if (userId !== undefined) (frame as { user_id?: string }).user_id = userId
  return frame
}

/**
 * The `joined` frame as JSON, around a user list and history that are already JSON (the
 * room keeps them serialized between changes). Same fields as the `joined` ServerFrame.
 */
export function joinedJson(
  room: RoomId,
  username: string,
  moderator: boolean,
  usersJson: string,
  historyJson: string,
  ref: Ref | undefined,
  moderatorToken: string | undefined,
  read: ReadState,
): string {
  let json = `{"type":"joined","room":${JSON.stringify(room)},"username":${JSON.stringify(username)},"moderator":${moderator},"users":${usersJson},"history":${historyJson}`
  json += `,"read":${JSON.stringify(read.read)},"unread":${read.unread}`
  if (moderatorToken !== undefined) json += `,"moderator_token":${JSON.stringify(moderatorToken)}`
  if (ref !== undefined) json += `,"ref":${JSON.stringify(ref)}`
  return `${json}}`
}

// ── Parsing ────────────────────────────────────────────────────────────────────

/** Thrown by {@link parseClientFrame}; the `ref` is kept so the error can echo it. */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly ref: Ref | undefined,
    readonly room: RoomId | undefined,
  ) {
    super(message)
  }
}

/** The longest `ref` a client frame may carry, in characters. */
export const MAX_REF_LENGTH = 64
/** The longest string field of a client frame, in characters, unless the field says otherwise. */
export const MAX_FIELD_LENGTH = 4096

type Obj = Record<string, unknown>

function str(f: Obj, key: string, required: true, max?: number): string
function str(f: Obj, key: string, required: false, max?: number): string | undefined
function str(f: Obj, key: string, required: boolean, max = MAX_FIELD_LENGTH): string | undefined {
  const v = f[key]
  if (v === undefined && !required) return undefined
  if (typeof v !== 'string') throw new TypeError(`"${key}" must be a string`)
  if (longer(v, max)) throw new TypeError(`"${key}" is too long`)
  return v
}

/**
 * Whether `s` has more than `max` characters, counted in code points as JSON Schema's
 * `maxLength` counts them (the AsyncAPI document states these limits). No string has more
 * code points than UTF-16 units, so only a long one is split.
 */
function longer(s: string, max: number): boolean {
  if (s.length <= max) return false
  let n = 0
  for (const _ of s) if (++n > max) return true
  return false
}

function int(f: Obj, key: string, min: number, max: number): number | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`"${key}" must be an integer from ${min} to ${max}`)
  }
  return v
}

/** A required message id: a string of up to 64 characters, or a number turned into one. */
function requiredId(f: Obj, key: string): MessageId {
  const v = f[key]
  return typeof v === 'number' ? String(v) : str(f, key, true, 64)
}

function bool(f: Obj, key: string): boolean | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw new TypeError(`"${key}" must be true or false`)
  return v
}

/** A message id: its string, or a number (as clients that parse ids send it) turned into one. */
function messageId(f: Obj, key: string): MessageId | undefined {
  const v = f[key]
  return typeof v === 'number' ? String(v) : str(f, key, false)
}

function lastIds(f: Obj): Record<RoomId, MessageId> | undefined {
  const v = f.last_ids
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError('"last_ids" must be an object')
  // A null-prototype copy: a parsed "__proto__" key stays a plain key.
  const out: Record<RoomId, MessageId> = Object.create(null)
  let n = 0
  for (const [room, id] of Object.entries(v)) {
    if (++n > 1000) throw new TypeError('"last_ids" names too many rooms')
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError('"last_ids" values must be message ids')
    }
    out[room] = String(id)
  }
  return out
}

/**
 * Checks one inbound frame (already JSON-parsed) against the protocol and returns it
 * typed. Throws {@link FrameError} with a message naming the offending field. Only
 * shape is checked here; names, lengths and permissions are the store's rules.
 */
export function parseClientFrame(raw: unknown): ClientFrame {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FrameError('A frame must be a JSON object', undefined, undefined)
  }
  const f = raw as Obj
  let ref: Ref | undefined
  const r = f.ref
  if (typeof r === 'string' && !longer(r, MAX_REF_LENGTH)) ref = r
  else if (typeof r === 'number' && Number.isFinite(r)) ref = r
  else if (r !== undefined) {
    throw new FrameError(
      `"ref" must be a string of at most ${MAX_REF_LENGTH} characters`,
      undefined,
      undefined,
    )
  }
  const room = typeof f.room === 'string' ? f.room : undefined
  try {
    const frame = parseAction(f)
    if (ref !== undefined) frame.ref = ref
    return frame
  } catch (e) {
    throw new FrameError((e as Error).message, ref, room)
  }
}

function parseAction(f: Obj): ClientFrame {
  switch (f.action) {
    case 'message':
      // No field cap on content: the store counts its characters (code points) against
      // MAX_CONTENT_CHARS, which may exceed 4096, and 4000 emoji are 8000 UTF-16 units.
      // The frame size limit already bounds it.
      return {
        action: 'message',
        room: str(f, 'room', true),
        content: str(f, 'content', true, Number.POSITIVE_INFINITY),
        reply_to: str(f, 'reply_to', false),
      }
    case 'typing':
    case 'leave':
      return { action: f.action, room: str(f, 'room', true) }
    case 'read': {
      // An id as a string, or as a number (as in `last_ids`).
      return { action: 'read', room: str(f, 'room', true), id: requiredId(f, 'id') }
    }
    case 'ping':
      return { action: 'ping' }
    case 'auth':
      // No field cap: a token over 8 KB is refused as `invalid_token` by the sign-in rules.
      return { action: 'auth', token: str(f, 'token', true, Number.POSITIVE_INFINITY) }
    case 'join':
      return {
        action: 'join',
        room: str(f, 'room', true),
        username: str(f, 'username', false),
        password: str(f, 'password', false),
        token: str(f, 'token', false),
      }
    case 'create':
      return {
        action: 'create',
        name: str(f, 'name', true),
        username: str(f, 'username', false),
        max_users: int(f, 'max_users', 1, 1_000_000),
        is_private: bool(f, 'is_private'),
        password: str(f, 'password', false),
        members: str(f, 'members', false),
      }
    case 'history':
      return {
        action: 'history',
        room: str(f, 'room', true),
        before: messageId(f, 'before'),
        limit: int(f, 'limit', 1, 100),
      }
    case 'resume':
      return { action: 'resume', session: str(f, 'session', true), last_ids: lastIds(f) }
    case 'ban':
    case 'kick':
    case 'unban':
    case 'unmute':
      return { action: f.action, room: str(f, 'room', true), username: str(f, 'username', true) }
    case 'mute': {
      const duration = int(f, 'duration_ms', 1, 7 * 24 * 3600 * 1000)
      if (duration === undefined) throw new TypeError('"duration_ms" is required')
      return {
        action: 'mute',
        room: str(f, 'room', true),
        username: str(f, 'username', true),
        duration_ms: duration,
      }
    }
    case 'edit':
      return {
        action: 'edit',
        room: str(f, 'room', true),
        id: requiredId(f, 'id'),
        content: str(f, 'content', true, Number.POSITIVE_INFINITY),
      }
    case 'delete':
      return { action: 'delete', room: str(f, 'room', true), id: requiredId(f, 'id') }
    case 'react': {
      const on = bool(f, 'on')
      if (on === undefined) throw new TypeError('"on" is required')
      return {
        action: 'react',
        room: str(f, 'room', true),
        id: requiredId(f, 'id'),
        emoji: str(f, 'emoji', true, 64),
        on,
      }
    }
    case 'direct':
      return { action: 'direct', user_id: str(f, 'user_id', true) }
    case 'directs':
      return { action: 'directs' }
    case undefined:
      throw new TypeError('"action" is required')
    default:
      throw new TypeError(`Unknown action ${JSON.stringify(String(f.action)).slice(0, 40)}`)
  }
}
