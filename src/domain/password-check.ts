import { ChatError } from '../protocol/errors.ts'
import type { Logger, PasswordHasher } from './ports.ts'
import type { TokenBucket } from './token-bucket.ts'

/**
 * The room's share of the wrong-password limit, the same in both engines: 100 attempts,
 * then 5 a second, and a right password gives its attempt back. On one node it is the
 * room's TokenBucket; on the Redis engine one bucket per room shared by every node.
 */
export const ROOM_PASSWORD_BUCKET = { capacity: 100, perSecond: 5 } as const

/** A bucket the engine keeps for a room (a TokenBucket in memory, a Redis hash in a cluster). */
export interface RoomBucket {
  take(): boolean | Promise<boolean>
  refund(): void | Promise<void>
}

export interface PasswordAttempt {
  hasher: PasswordHasher
  /** The room's password hash; undefined for a room without one (never verifies). */
  hash: string | undefined
  password: string
  room: { id: string; bucket: RoomBucket }
  /** The caller's own buckets (its address, its session). */
  local: TokenBucket[]
  logger: Logger
  address: string
}

/**
 * Verifies a room password, throttled before the (slow, ~100 ms) hash is checked: the
 * caller's buckets must each have a token, then the room's bucket must give one; only
 * then are the caller's taken and the hash verified. A right password gives every token
 * back. Refused: `rate_limited`, logged at `warn` with the address.
 */
export async function checkPassword(a: PasswordAttempt): Promise<boolean> {
  const throttled = () => {
    a.logger.warn('password attempts throttled', { address: a.address, room: a.room.id })
    return new ChatError('rate_limited', 'Too many password attempts, wait a little', 5)
  }
  if (!a.local.every((b) => b.peek())) throw throttled()
  if (!(await a.room.bucket.take())) throw throttled()
  for (const b of a.local) b.take()
  const ok = a.hash !== undefined && (await a.hasher.verify(a.password, a.hash))
  if (ok) {
    for (const b of a.local) b.refund()
    await a.room.bucket.refund()
  }
  return ok
}
