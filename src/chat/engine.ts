/**
 * The room engine: what the chat rules (this folder) need from wherever rooms live. Two
 * engines implement it: memory (src/domain/memory-engine.ts: one process, synchronous) and
 * Redis (src/cluster/redis-engine.ts: several nodes, one atomic script per change).
 *
 * An engine knows rooms, members, bans, mutes, sessions, history and sequence numbers; it
 * knows no chat rule. A rule reads what it needs (`member`), decides in TypeScript, and
 * hands the engine one guarded change for one room. The engine checks the change's guards
 * in order, inside its atomic step, and either applies all of it (writes, then the notes
 * appended to the history with the next sequence numbers, then everything published to
 * the room in that order) or none of it, naming the first guard that failed. A guard is
 * how a rule pins what it read (`same`) and how a race gets exactly one winner.
 */

import type { Logger } from '../domain/ports.ts'
import type { Ban, RoomView } from '../domain/room.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import type { ChangeFrame, MessageId, RoomId, StoredMessage, UserView } from '../protocol/frames.ts'
import type { ChatEvents } from './events.ts'

/** The engine's handle of a session: compared with `===`, never looked into by the rules. */
export type SessionHandle = unknown

/**
 * A member of a room, as the rules see them. A member is held by one session, or, for a
 * signed-in user, by each of the user's sessions in the room (one per connection: tabs,
 * devices, nodes): one member, online while any of them is.
 */
export interface MemberRecord {
  readonly username: string
  readonly moderator: boolean
  readonly online: boolean
  /** One session that holds this membership now (the first; see `holders`). */
  readonly session: SessionHandle
  /** The session's identity for bans: the same across its resumes. */
  readonly identity: SessionHandle
  /** The signed-in user's id; undefined for an anonymous member. */
  readonly userId: string | undefined
  /** How many sessions hold the membership, and how many of them are online. */
  readonly holders: number
  readonly onlineHolders: number
  /**
   * The sequence number of the member's join note. A name is one member's at a time, from
   * their join on: a kept message of that name after it is theirs.
   */
  readonly joinSeq: number
}

/** What the rules read of a room before they decide (found by id, or by a name that slugs to it). */
export interface RoomInfo {
  readonly id: RoomId
  readonly name: string
  readonly isPrivate: boolean
  readonly maxUsers: number
  /** Only signed-in users may join (`"members":"signed_in"`). */
  readonly signedIn: boolean
  /** The user id of the signed-in user who created it: a moderator of it on every device. */
  readonly createdBy: string | undefined
}

/** A room about to be created; `token` is its moderator token (the engine keeps a hash of it). */
export interface NewRoom {
  readonly id: RoomId
  readonly name: string
  readonly isPrivate: boolean
  readonly maxUsers: number
  /** Only signed-in users may join. */
  readonly signedIn: boolean
  /** The signed-in user who created it, if any. */
  readonly createdBy?: string | undefined
  /** argon2id hash of the password (private rooms only). */
  readonly passwordHash: string | undefined
  readonly token: string
  readonly createdAt: number
}

/** Whether a room can be made: `exists` (the id is taken) or `limit` (MAX_ROOMS reached). */
export type Creatable = 'ok' | 'exists' | 'limit'

/** A room as a newcomer first sees it: the user list and the kept history, as JSON, and the read markers. */
export interface RoomSnapshot {
  readonly users: string
  readonly history: string
  readonly read: ReadMarks
}

/** A room's read markers as a snapshot holds them (src/chat/read-markers.ts). */
export interface ReadMarks {
  /** Each member's last-read sequence number by username (a member with no marker of their own left out). */
  readonly byName: Readonly<Record<string, number>>
  /** How many members the room has. */
  readonly members: number
  /** The kept history as objects, when the engine holds it so (memory): `unread` then needs no parse. */
  readonly history?: readonly StoredMessage[]
}

/** What a joiner would meet: read before the password is checked, so a refused joiner costs none. */
export interface Admission {
  /** The name or the session is banned. */
  readonly banned: boolean
  readonly taken: boolean
  readonly count: number
}

/** A condition checked inside the change's atomic step; `fail` is the outcome when it does not hold. */
export type Guard = { fail: string } & (
  | /** `key` is a member, held by `session` (among its holders). */ {
      is: 'member'
      key: string
      session: SessionHandle
    }
  | /** The member `key` is a moderator. */ { is: 'moderator'; key: string }
  | /** Someone is a member under `key`. */ { is: 'present'; key: string }
  | /** The member `key` is held by `session`, or (`null`) nobody is a member under `key`. */ {
      is: 'same'
      key: string
      session: SessionHandle | null
    }
  | /** A ban of `key` is in force (a timed ban that ended is not). */ {
      is: 'banned'
      key: string
    }
  | /** A mute of `key` is on record (ended or not). */ { is: 'muted'; key: string }
  | /** The room exists (and is not being deleted). */ { is: 'live' }
  | /** `session` holds the member `key` and is away (in its resume grace). */ {
      is: 'away'
      key: string
      session: SessionHandle
    }
  | /** `session` holds the member `key` and so does another session. */ {
      is: 'shared'
      key: string
      session: SessionHandle
    }
  | /** `session` holds the member `key`, and no other session does. */ {
      is: 'alone'
      key: string
      session: SessionHandle
    }
  | /** `key` is a member of the signed-in user `userId`. */ {
      is: 'sameUser'
      key: string
      userId: string
    }
  | /** No ban of the name `key`, nor of the session `identity`, is in force. */ {
      is: 'notBanned'
      key: string
      identity: SessionHandle
    }
  | /** `key` is not a member held by `session` (else: a repeat of a join that landed). */ {
      is: 'notHeldBy'
      key: string
      session: SessionHandle
    }
  | /** Nobody is a member under `key`. */ { is: 'absent'; key: string }
  | /** The room has fewer than `max` members. */ { is: 'seat'; max: number }
  | /** The room has no member, and has had none since `at` (ms) or before. */ {
      is: 'emptySince'
      at: number
    }
)

/** One write of a change. */
export type Write =
  /**
   * Makes `session` a member under `key`, online: the room hears `user_joined`, and the
   * node that holds the session takes them in, greeted with the change's `greet`.
   */
  | {
      op: 'putMember'
      key: string
      username: string
      moderator: boolean
      session: SessionHandle
      identity: SessionHandle
      /** The signed-in user's id, shown as `user_id` in the frames about the member. */
      userId: string | undefined
    }
  /** Bans `key`; a timed ban (`until`, ms) is no longer in force from then on. */
  | { op: 'ban'; key: string; username: string; by: string; at: number; until?: number }
  /**
   * Adds `session` (of the user that is the member `key`) as another holder of the
   * membership, online: the room hears nothing (the member was already there; `presence`
   * online if they were away), and the node that holds the session takes it in, greeted
   * with the change's `greet`.
   */
  | { op: 'hold'; key: string; session: SessionHandle; identity: SessionHandle }
  /**
   * `session` stops holding the member `key`, whom other sessions still hold: its node takes
   * it out of the room there, and the room hears nothing (`presence` offline if the holders
   * left are all away).
   */
  | { op: 'release'; key: string; session: SessionHandle }
  /**
   * `session`, an online holder of the member `key` on this node, goes away until `until`
   * (its resume grace; the engine looks again then): the room hears `presence` offline if
   * no other holder is online. Nothing happens if it is not such a holder.
   */
  | { op: 'away'; key: string; session: SessionHandle; until: number }
  /** Bans the session `identity` as well, under `key` (a ban holds against the session). */
  | { op: 'banSession'; key: string; identity: SessionHandle }
  /** Lifts the ban of `key` and the bans of the sessions banned under it. */
  | { op: 'unban'; key: string }
  | { op: 'mute'; key: string; until: number }
  | { op: 'unmute'; key: string }
  /**
   * Removes the member `key` (named `username`) from the room: the room hears `user_left`,
   * and the node that holds the member takes them out there (off the room's broadcasts,
   * typing ended) after everything the room sent before. A `banned` or `kicked` target is
   * told so first.
   */
  | { op: 'dropMember'; key: string; username: string }
  /**
   * Deletes the room, with its history, bans and mutes: every member is out at once, told
   * `room_deleted` by the node that holds them (on resume if they are away), and nobody
   * hears `user_left`; a change racing it fails its `live` guard.
   */
  | { op: 'deleteRoom' }

/**
 * What the node that holds a member must do to them, in the same delivery step as the
 * change: tell them they were banned or kicked and take them out of the room here, or note
 * a mute (typing stops, messages are refused until `until`).
 */
export interface Target {
  key: string
  how: 'banned' | 'kicked' | 'muted' | 'unmuted' | 'deleted'
  by: string
  until: number
}

/** A text message from `sender` that is not a member's post (the server API's, src/chat/api.ts). */
export interface PostedNote {
  readonly content: string
  readonly sender: string
  readonly userId: string | undefined
}

export interface Change {
  /** Checked in order; the first that fails is the outcome and nothing is written. */
  guards: Guard[]
  writes: Write[]
  /**
   * Messages stored in the history and sent to the room, in order, after the writes: a
   * system note (its text), or a text message posted for a named sender (the server API).
   */
  notes: (string | PostedNote)[]
  /** The notes are stored and not sent live (a leave: the room hears `user_left` instead). */
  quiet?: boolean
  target?: Target
  /**
   * For a change with `putMember` or `hold`: the frame the newcomer gets first, built from the room
   * as the change left it, before anything the room sends after the change.
   */
  greet?: (room: RoomSnapshot) => void
  /** The rules' time (ms) of the change: the notes' timestamps and the empty-room mark. */
  now: number
}

/** `failed`: the `fail` of the first guard that did not hold (nothing changed); else applied. */
export type Outcome =
  | { failed: string }
  | { failed?: undefined /** The last note's sequence number (0 without notes). */; seq: number }

export type Maybe<T> = T | Promise<T>

/** `next` of the value, at once when the engine answered synchronously (memory), else when it resolves. */
export function then<T, R>(value: Maybe<T>, next: (value: T) => Maybe<R>): Maybe<R> {
  return value instanceof Promise ? value.then(next) : next(value)
}

/** A chat message for `post`, the dedicated path of the commonest change. */
export interface Post {
  readonly key: string
  readonly session: SessionHandle
  readonly username: string
  readonly content: string
  readonly now: number
  /** The sender's user id when signed in (AUTH_MODE): kept with the message, sent as `user_id`. */
  readonly userId: string | undefined
  /** A kept message of the room this one replies to (else the post is `no_reply`). */
  readonly replyTo?: MessageId | undefined
}

/** A kept message as the rules read it before they change it. */
export interface MessageRecord {
  readonly type: 'text' | 'system'
  readonly deleted: boolean
  /** The signed-in sender's user id; undefined for an anonymous sender (or a system note). */
  readonly userId: string | undefined
  /** The sender's name as the message shows it. */
  readonly sender: string
}

/**
 * A change to a kept message by the member `key` held by `session`, with the frame the room
 * gets (the engine fills its `event_id`, and a reaction's `count`): the message's latest
 * state changes, the change is logged with the next number of the room's sequence and
 * published, in one step; refused if the member or the message (not deleted) is gone.
 */
export type Amendment = {
  readonly key: string
  readonly session: SessionHandle
  readonly id: MessageId
  readonly now: number
} & (
  | { readonly kind: 'edit'; readonly content: string; readonly frame: ChangeFrame }
  | { readonly kind: 'delete'; readonly frame: ChangeFrame }
  | {
      readonly kind: 'react'
      readonly emoji: string
      readonly on: boolean
      /** The reactor as the message's `reactions` lists them. */
      readonly username: string
      /** Most distinct emoji on one message: a new one past it is `reaction_limit`. */
      readonly maxEmoji: number
      /** Most usernames `reactions` lists per emoji (the count stays exact). */
      readonly maxUsers: number
      readonly frame: ChangeFrame
    }
)

/** The change's place in the sequence (and a reaction's count after it), or why it was refused. */
export type AmendOutcome =
  | { readonly seq: number; readonly count: number }
  | 'not_member'
  | 'no_message'
  | 'reaction_limit'

/**
 * `ok`, or why the room refused the message: not a member (of this session), muted, or its
 * `replyTo` is no kept message of the room.
 */
export type PostOutcome = { readonly posted: MessageId } | 'not_member' | 'muted' | 'no_reply'

/** A page of history, oldest first. */
export interface Page {
  messages: StoredMessage[]
  has_more: boolean
}

export interface RoomEngine {
  /** Where the rules report what happened, for the app's backend (src/chat/events.ts). */
  readonly events: ChatEvents
  /** Where the rules log what happened to rooms (a deletion). */
  readonly logger: Logger
  /** The room with this id (or a name that slugs to it); throws `room_not_found`. */
  room(id: RoomId): Maybe<RoomInfo>
  /** Whether `token` is the room's moderator token (compared in constant time). */
  checkToken(room: RoomInfo, token: string): boolean
  /**
   * Checks a private room's password against the room's shared wrong-password bucket and
   * the caller's own `buckets` (see domain/password-check.ts).
   */
  checkPassword(
    room: RoomInfo,
    password: string,
    buckets: TokenBucket[],
    address: string,
  ): Promise<boolean>
  admission(room: RoomId, key: string, identity: SessionHandle): Maybe<Admission>
  /** Whether a room `id` could be created now (a first look, before the slow hash). */
  creatable(id: RoomId, maxRooms: number): Maybe<Creatable>
  /** Creates the room if its id is free and there are fewer than `maxRooms`, in one step. */
  createRoom(room: NewRoom, maxRooms: number): Maybe<Creatable>
  /** Every room, in no particular order. */
  rooms(): Maybe<RoomInfo[]>
  /** The REST views of these rooms (with their member counts); rooms gone meanwhile are left out. */
  views(ids: RoomId[]): Maybe<RoomView[]>
  /** The room's members as its user list shows them, in the order they joined. */
  users(room: RoomId): Maybe<UserView[]>
  /** How many of each member's sessions are online, by user key (members with none left out). */
  connections(room: RoomId): Maybe<Map<string, number>>
  /** The bans in force now (a timed ban that ended is left out), in no particular order. */
  bans(room: RoomId): Maybe<Ban[]>
  /** The room now, for a member who asks to join it again. */
  snapshot(room: RoomId): Maybe<RoomSnapshot>
  /** The member `key` of the room, or undefined. */
  member(room: RoomId, key: string): Maybe<MemberRecord | undefined>
  /**
   * Stores a chat message of the member `key` held by `session`, unless they are muted
   * (an ended mute is dropped), and sends it to the room: one step, like a change.
   */
  post(room: RoomId, message: Post): Maybe<PostOutcome>
  /** The kept message with this id (a tombstone counts, as `deleted`), or undefined. */
  message(room: RoomId, id: MessageId): Maybe<MessageRecord | undefined>
  /** Applies a change to a kept message, all or nothing (see Amendment). */
  amend(room: RoomId, amendment: Amendment): Maybe<AmendOutcome>
  /** Up to `limit` messages before the id `before` (the newest without it), oldest first. */
  page(room: RoomId, before: string | undefined, limit: number | undefined): Maybe<Page>
  /** Applies a guarded change to one room, all or nothing. */
  change(room: RoomId, change: Change): Maybe<Outcome>
  /**
   * This node stops holding the member `key` of `session`, whatever the room says: for a
   * member the room had already lost (a node taken for dead was reaped meanwhile).
   */
  forget(room: RoomId, key: string, session: SessionHandle): Maybe<void>
}
