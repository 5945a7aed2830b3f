/**
 * The rules of `resume`, once for both engines: when a connection may resume, what the
 * client is told about each room (`resumed`, then every message and every change to a
 * message after its `last_ids` entry, in the room's order, `recovered: false` where some fell out of the kept history), and why a room it
 * was in is gone. How a session is found and its memberships taken over is the engine's
 * (memory: the session object moves to the new connection; Redis: each membership is
 * claimed for the new session on whichever node it lived).
 */
import { parseId, seqOfEntry } from '../domain/history.ts'
import { replayFrame } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { LogEntry, ReadState, Ref, RoomId, ServerFrame, UserView } from '../protocol/frames.ts'

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
