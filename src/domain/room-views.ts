import type { StoredMessage } from '../protocol/frames.ts'
import { checkPassword } from './password-check.ts'
import type { Logger, PasswordHasher } from './ports.ts'
import type { Room } from './room.ts'
import { pageSize, parseBefore } from './rules.ts'
import type { TokenBucket } from './token-bucket.ts'

/** Verifies a room password against the room's bucket and the caller's; see checkPassword. */
export function verifyPassword(
  hasher: PasswordHasher,
  room: Room,
  password: string,
  buckets: TokenBucket[],
  logger: Logger,
  address: string,
): Promise<boolean> {
  return checkPassword({
    hasher,
    hash: room.passwordHash,
    password,
    room: { id: room.id, bucket: room.passwordAttempts },
    local: buckets,
    logger,
    address,
  })
}

/**
 * A page of a room's history, the newest `limit` messages before the id `before`
 * (the newest of all without it); for REST and the `history` frame alike.
 */
export function historyPage(
  room: Room,
  before: string | undefined,
  limit: number | undefined,
  historyLimit: number,
): { messages: StoredMessage[]; has_more: boolean } {
  const beforeSeq = parseBefore(before)
  const size = pageSize(limit, historyLimit)
  const { messages, hasMore } = room.history.page(beforeSeq, size)
  return { messages, has_more: hasMore }
}
