/**
 * The empty-room rule, once for both engines: a room that is not permanent and has had no
 * member for ROOM_EMPTY_TTL_MS is deleted, with its history, bans and mutes, and the app's
 * backend hears `room.deleted` with reason `empty`. When to look is the engine's (memory: a
 * timer per room; Redis: the janitor's deadlines); whether the room may go is decided here,
 * and checked inside the deletion's atomic step, so a join racing it wins or loses whole.
 */
import type { RoomId } from '../protocol/frames.ts'
import type { RoomEngine } from './engine.ts'
import { type Maybe, then } from './records.ts'

/**
 * When an empty room's deletion is due (ms), or undefined: never for a permanent room, nor
 * for one that has members (`emptiedAt` undefined).
 */
export function emptyRoomDue(
  permanent: boolean,
  emptiedAt: number | undefined,
  ttlMs: number,
): number | undefined {
  if (permanent || emptiedAt === undefined) return undefined
  return emptiedAt + ttlMs
}

/**
 * Deletes the room if it has stayed empty since `now - ttlMs` or before; true if it did (and
 * only one caller, on any node, ever gets true for a room).
 */
export function deleteEmptyRoom(
  engine: RoomEngine,
  room: RoomId,
  now: number,
  ttlMs: number,
): Maybe<boolean> {
  const out = engine.change(room, {
    guards: [
      { is: 'live', fail: 'room_not_found' },
      { is: 'emptySince', at: now - ttlMs, fail: 'not_empty' },
    ],
    writes: [{ op: 'deleteRoom' }],
    notes: [],
    now,
  })
  return then(out, (outcome) => {
    if (outcome.failed !== undefined) return false
    engine.logger.info('empty room deleted', { room })
    engine.events.emit('room.deleted', { room, reason: 'empty' })
    return true
  })
}
