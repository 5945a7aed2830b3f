import type { Config } from '../config.ts'
import type { Clock } from '../domain/clock.ts'
import type { Logger } from '../domain/ports.ts'
import { withUserId } from '../protocol/frames.ts'
import type { ClusterRooms } from './cluster-rooms.ts'
import type { Keys } from './keys.ts'
import type { RedisLink } from './redis-link.ts'

/** What every piece of a cluster node's store works with: its settings and its Redis. */
export interface NodeParts {
  readonly config: Config
  readonly keys: Keys
  readonly link: RedisLink
  readonly rooms: ClusterRooms
  readonly clock: Clock
  readonly logger: Logger
}

/** A member's `presence` frame, as this node sends it to its own members. */
export function presenceJson(
  room: string,
  username: string,
  status: 'online' | 'offline',
  userId: string | undefined,
): string {
  return JSON.stringify(withUserId({ type: 'presence', room, username, status }, userId))
}

/**
 * A member's `presence` frame for a script, with the byte 0x01 where the script puts the
 * name it reads from the room (`named` in lua/prelude.lua), as a JSON string.
 */
export function presenceTemplate(room: string, status: 'online' | 'offline'): string {
  const json = presenceJson(room, '\x01', status, undefined).replace('"\\u0001"', '\x01')
  return `${json.slice(0, -1)}\x02}`
}
