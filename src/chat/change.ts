/**
 * A guarded change to one room: what a rule hands the engine (src/chat/engine.ts's
 * `change`). The engine checks the guards in order, inside its atomic step, and either
 * applies all of it (writes, then the notes appended to the history with the next sequence
 * numbers, then everything published to the room in that order) or none of it, naming the
 * first guard that failed. A guard is how a rule pins what it read (`same`) and how a race
 * gets exactly one winner.
 */

import type { RoomSnapshot, SessionHandle } from './records.ts'

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
