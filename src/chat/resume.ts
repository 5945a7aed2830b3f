/**
 * The rules of `resume`, once for both engines (`resume` below): the order of its checks and
 * errors, when the room hears that a member is back, what the client is told about each room
 * (`resumed`, then every message and every change to a message after its `last_ids` entry,
 * in the room's order, `recovered: false` where some fell out of the kept history), and why
 * a room it was in is gone. How a session is found and its memberships pass to the resuming
 * connection is the store's, behind `ResumePort` (memory: the session object moves to the
 * new connection, src/domain/resume.ts; Redis: each membership is claimed for the new
 * session on whichever node it lived, src/cluster/cluster-resume.ts).
 */
import { parseId, seqOfEntry } from '../domain/history.ts'
import { replayFrame } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type {
  LogEntry,
  ReadState,
  Ref,
  ResumeFrame,
  RoomId,
  ServerFrame,
  UserView,
} from '../protocol/frames.ts'
import { type Maybe, then } from './records.ts'

/** Why a session that was away lost a room. */
export type AwayReason = 'banned' | 'kicked' | 'deleted'

/** A resume must be a connection's first frame but pings, and come once. */
export function checkResumable(alreadyResumed: boolean, roomsJoined: number): void {
  if (alreadyResumed || roomsJoined > 0)
    throw new ChatError('invalid_message', 'Resume must come before any join, once per connection')
}

/**
 * A session is resumable while it is in some room or has a room to be told it lost: one in
 * no room has nothing to resume, and is refused as an unknown one.
 */
export function checkSomethingToResume(rooms: number, lost: number): void {
  if (rooms === 0 && lost === 0) throw unknownSession()
}

export function unknownSession(): ChatError {
  return new ChatError('not_authorized', 'Unknown or expired session')
}

/** The error frame that tells a resumed client why it is no longer in `room`. */
export function awayError(room: RoomId, how: AwayReason, ref: Ref | undefined): ServerFrame {
  const err: ServerFrame = {
    type: 'error',
    code: how === 'deleted' ? 'room_not_found' : 'not_authorized',
    message:
      how === 'banned'
        ? 'You were banned from this room'
        : how === 'kicked'
          ? 'You were kicked from this room'
          : 'The room was deleted',
    room,
  }
  if (ref !== undefined) err.ref = ref
  return err
}

/** What a resumed member of one room is sent, in order, and whether nothing was lost. */
export function resumedRoom(
  member: { room: RoomId; username: string; moderator: boolean; users: UserView[] },
  /** The room's kept log, oldest first, and the sequence number of its last entry. */
  kept: { history: LogEntry[]; lastSeq: number },
  lastId: string | undefined,
  ref: Ref | undefined,
  /** The read markers as they are now: a resumed client needs no replay of missed `read` frames. */
  read: ReadState,
): { frames: ServerFrame[]; recovered: boolean } {
  const seen = lastId === undefined ? 0 : (parseId(lastId) ?? 0)
  const first = kept.lastSeq - kept.history.length + 1
  const recovered = seen + 1 >= first
  const resumed: ServerFrame = {
    type: 'resumed',
    room: member.room,
    username: member.username,
    moderator: member.moderator,
    recovered,
    users: member.users,
    read: read.read,
    unread: read.unread,
  }
  if (ref !== undefined) resumed.ref = ref
  const frames: ServerFrame[] = [resumed]
  for (const entry of kept.history) {
    if (seqOfEntry(entry) <= seen) continue
    const frame = replayFrame(entry)
    if (frame) frames.push(frame)
  }
  return { frames, recovered }
}

/** A session found by its resume token. */
export interface FoundSession {
  /** Its signed-in user's identity (only that user may resume it); undefined if anonymous. */
  readonly user: string | undefined
  /** How many rooms it is in, and how many it lost while away (banned, kicked, deleted). */
  readonly rooms: number
  readonly lost: number
}

/** A room of the resumed session, as it passed to the resuming connection. */
export interface ClaimedRoom {
  readonly room: RoomId
  readonly username: string
  readonly moderator: boolean
  /**
   * The member was online just before: the session's old connection still looked open (a
   * takeover), or another tab or device of the user is in the room. The room then hears
   * no `presence`.
   */
  readonly wasOnline: boolean
  /** The user list as the claim left it (the member online). */
  readonly users: UserView[]
  /** The room's kept log, oldest first, and the sequence number of its last entry. */
  readonly kept: { history: LogEntry[]; lastSeq: number }
  readonly read: ReadState
}

/** What the resuming connection holds once the claim is made. */
export interface Claim<R extends ClaimedRoom> {
  /** The rooms it is in now (rooms gone meanwhile are left out). */
  readonly rooms: readonly R[]
  /** The rooms the session lost while it was away, and how. */
  readonly lost: readonly (readonly [RoomId, AwayReason])[]
}

/** What the rules of `resume` need of the store that keeps sessions, for one resuming connection. */
export interface ResumePort<R extends ClaimedRoom> {
  /** The session named by `token`: undefined if it is unknown, expired, or the connection's own. */
  find(token: string): Maybe<FoundSession | undefined>
  /**
   * The session's memberships pass to the resuming connection, online, and the token is
   * spent; its old connection, if it still looked open, has its typing ended and is closed
   * (`replaced`). The other nodes' members hear `presence` online where the member was offline.
   */
  claim(token: string): Maybe<Claim<R>>
  /** The resuming connection is still open (it did not close while the claim awaited). */
  live(claim: Claim<R>): boolean
  send(frame: ServerFrame): void
  /**
   * The member is in the room on this connection, before its `resumed`; with `announce`,
   * this node's members of the room hear `presence` online.
   */
  enter(room: R, announce: boolean): void
  /** After its `resumed` and replay: the connection gets what the room sends from now on. */
  admitted(room: R): void
  /** A `resumed` frame went out (for the metrics). */
  resumed(recovered: boolean): void
  /** The connection is in `rooms` rooms now: in none, it is closed unless it joins one in time. */
  settled(rooms: number): void
}

/**
 * `resume`: the connection (whose session is in `roomsJoined` rooms, and has `resumed`
 * once already or not) takes over the session named by the frame's token. `checkUser`
 * refuses a signed-in session to another user (src/chat/sign-in.ts). The token is spent:
 * next time the client uses the session of this connection's `welcome`.
 */
export function resume<R extends ClaimedRoom>(
  port: ResumePort<R>,
  conn: { resumed: boolean },
  roomsJoined: number,
  frame: ResumeFrame,
  checkUser: (user: string | undefined) => void,
): Maybe<void> {
  checkResumable(conn.resumed, roomsJoined)
  return then(port.find(frame.session), (found) => {
    if (!found) throw unknownSession()
    checkSomethingToResume(found.rooms, found.lost)
    checkUser(found.user)
    conn.resumed = true
    return then(port.claim(frame.session), (claim) => {
      if (claim.rooms.length === 0 && claim.lost.length === 0) {
        // Every room went while the claim was made: nothing was resumed.
        conn.resumed = false
        throw unknownSession()
      }
      if (!port.live(claim)) return
      for (const [room, how] of claim.lost) port.send(awayError(room, how, frame.ref))
      for (const room of claim.rooms) {
        port.enter(room, !room.wasOnline)
        const { frames, recovered } = resumedRoom(
          room,
          room.kept,
          frame.last_ids?.[room.room],
          frame.ref,
          room.read,
        )
        for (const f of frames) port.send(f)
        port.resumed(recovered)
        port.admitted(room)
      }
      port.settled(claim.rooms.length)
    })
  })
}
