import type { RoomId } from '../protocol/frames.ts'
import type { Room } from './room.ts'
import type { Sessions } from './sessions.ts'

/**
 * Checks the store's invariants and returns what is broken (empty when all is well):
 * the two indexes (room → members, session → rooms) agree, no more sessions are live than
 * connections are open, empty rooms are scheduled for deletion, and the cached user lists match.
 * For tests and debugging; it walks everything.
 */
export function selfCheck(
  rooms: ReadonlyMap<RoomId, Room>,
  sessions: Pick<Sessions, 'openConnections' | 'live' | 'byToken'>,
): string[] {
  const problems: string[] = []
  if (sessions.live().length > sessions.openConnections())
    problems.push('more live sessions than open connections')
  for (const [id, room] of rooms) {
    if (room.id !== id) problems.push(`room ${id} filed under another id`)
    for (const [key, m] of room.members) {
      if (m.key !== key || m.room !== room) problems.push(`${id}: member ${key} misfiled`)
      if (m.client.rooms.get(id) !== m) problems.push(`${id}: ${key} missing from its session`)
      if (sessions.byToken.get(m.client.session) !== m.client) {
        problems.push(`${id}: ${key} has no session`)
      }
    }
    if (room.members.size === 0 && !room.permanent && room.emptyTimer === undefined) {
      problems.push(`${id}: empty and not scheduled for deletion`)
    }
    if (room.usersJson() !== JSON.stringify(room.users())) problems.push(`${id}: stale user list`)
  }
  for (const [token, client] of sessions.byToken) {
    if (client.session !== token) problems.push('session filed under another token')
    for (const [id, m] of client.rooms) {
      if (rooms.get(id)?.members.get(m.key) !== m)
        problems.push(`session member of ${id} not in the room`)
    }
    if (!client.peer && client.graceTimer === undefined && client.rooms.size > 0) {
      problems.push('offline session with rooms but no grace timer')
    }
  }
  return problems
}
