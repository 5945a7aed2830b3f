/**
 * The guards of a change on the memory engine (src/chat/change.ts's Guard), read from the
 * room's own objects, and the small lookups the engine shares with them.
 */

import type { Guard } from '../chat/change.ts'
import { type Ban, holderCount, inForce, type Member, type Room } from './room.ts'

/** The ban record a `ban` write makes. */
export function banOf(w: { username: string; by: string; at: number; until?: number }): Ban {
  const ban: Ban = { username: w.username, by: w.by, at: w.at }
  if (w.until !== undefined) ban.until = w.until
  return ban
}

/** Whether the name `key` or the session `identity` is under a ban in force at `now`. */
export function identityBanned(room: Room, key: string, identity: unknown, now: number): boolean {
  if (inForce(room.bans.get(key), now)) return true
  const under = room.bannedClients.get(identity)
  return under !== undefined && inForce(room.bans.get(under), now)
}

/** The holder of `member`'s membership that is `session`, if it holds it. */
export function holderOf(member: Member | undefined, session: unknown): Member | undefined {
  if (member === undefined) return undefined
  const group = member.group
  if (group === undefined) return member.client === session ? member : undefined
  for (const m of group) if (m.client === session) return m
  return undefined
}

/** Whether `session` holds `member`'s membership. */
export function heldBy(member: Member | undefined, session: unknown): boolean {
  return holderOf(member, session) !== undefined
}

/** Whether the guard holds in `room` at `now` (src/chat/change.ts's Guard). */
export function holds(room: Room, guard: Guard, now: number): boolean {
  switch (guard.is) {
    case 'member':
      return heldBy(room.members.get(guard.key), guard.session)
    case 'moderator':
      return room.members.get(guard.key)?.moderator === true
    case 'present':
      return room.members.has(guard.key)
    case 'same': {
      const m = room.members.get(guard.key)
      return guard.session === null ? m === undefined : heldBy(m, guard.session)
    }
    case 'banned':
      return inForce(room.bans.get(guard.key), now)
    case 'muted':
      return room.mutes.has(guard.key)
    case 'live':
      return true
    case 'away':
      return holderOf(room.members.get(guard.key), guard.session)?.client.peer === undefined
    case 'shared': {
      const m = room.members.get(guard.key)
      return m !== undefined && heldBy(m, guard.session) && holderCount(m) > 1
    }
    case 'alone': {
      const m = room.members.get(guard.key)
      return m !== undefined && heldBy(m, guard.session) && holderCount(m) === 1
    }
    case 'sameUser': {
      const user = room.members.get(guard.key)?.client.user
      return user !== undefined && user.id === guard.userId
    }
    case 'notBanned':
      return !identityBanned(room, guard.key, guard.identity, now)
    case 'notHeldBy':
      return !heldBy(room.members.get(guard.key), guard.session)
    case 'absent':
      return !room.members.has(guard.key)
    case 'seat':
      return room.members.size < guard.max
    case 'emptySince':
      return room.members.size === 0 && room.emptiedAt !== undefined && room.emptiedAt <= guard.at
  }
}
