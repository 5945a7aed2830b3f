/**
 * Leaving a room, once for both engines: a `leave` frame, and a session that went away
 * with no resume grace.
 */
import { NOTES } from '../domain/notes.ts'
import type { Ref, RoomId, ServerFrame } from '../protocol/frames.ts'
import type { RoomEngine, SessionHandle } from './engine.ts'

/** A member of a room, as the node that holds them knows them. */
export interface Held {
  readonly room: RoomId
  readonly key: string
  readonly username: string
  readonly session: SessionHandle
}

/**
 * The member leaves `room` for good: the others hear `user_left`, the history keeps
 * "X left". True if the room still had them.
 */
export async function leaveRoom(engine: RoomEngine, member: Held, now: number): Promise<boolean> {
  const { room, key, username, session } = member
  const out = await engine.change(room, {
    guards: [{ is: 'member', key, session, fail: 'gone' }],
    writes: [{ op: 'dropMember', key, username }],
    notes: [NOTES.left(username)],
    quiet: true,
    now,
  })
  if (out.failed === undefined) return true
  await engine.forget(room, key, session)
  return false
}

/** `leave`: the member leaves and gets `left`, after everything the room sent before. */
export async function leave(
  engine: RoomEngine,
  member: Held,
  ref: Ref | undefined,
  now: number,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  await leaveRoom(engine, member, now)
  const left: ServerFrame = { type: 'left', room: member.room }
  if (ref !== undefined) left.ref = ref
  reply(left)
}
