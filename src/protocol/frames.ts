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
