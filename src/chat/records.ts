/**
 * What the room engine (src/chat/engine.ts) and the chat rules hand each other, other than
 * a guarded change (src/chat/change.ts): the records a rule reads before it decides, a chat
 * message and a change to a kept message with their outcomes, a page of history.
 */

import type { ChangeFrame, MessageId, RoomId, StoredMessage } from '../protocol/frames.ts'

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
