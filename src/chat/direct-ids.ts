/**
 * The ids of direct rooms (src/chat/direct.ts): derived by the server from the two user
 * ids, the same from either side, and read back to tell who may join.
 */
import type { Identity } from '../auth/tokens.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId, UserId } from '../protocol/frames.ts'

/** The prefix of every direct room id; no slug has a `:`, so no other room can take one. */
const PREFIX = 'dm:'

/**
 * The direct room of two users: `dm:` and both user ids, base64url-encoded (a user id may
 * hold any character) and sorted, joined by `:`. The same from either side.
 *
 * @example directRoomId('bob', 'alice') === 'dm:YWxpY2U:Ym9i'
 */
export function directRoomId(a: UserId, b: UserId): RoomId {
  const [x, y] = [encode(a), encode(b)].sort()
  return `${PREFIX}${x}:${y}`
}

/** The two user ids a direct room id names, or undefined for any other room id. */
export function directPair(id: RoomId): [UserId, UserId] | undefined {
  if (!id.startsWith(PREFIX)) return undefined
  const parts = id.slice(PREFIX.length).split(':')
  if (parts.length !== 2) return undefined
  const [x, y] = parts as [string, string]
  const a = decode(x)
  const b = decode(y)
  if (a === undefined || b === undefined || directRoomId(a, b) !== id) return undefined
  return [a, b]
}

/** Whether `id` is a direct room's id. */
export function isDirectRoom(id: RoomId): boolean {
  return directPair(id) !== undefined
}

/**
 * The other user of the direct room `id`, for `user`; throws `not_authorized` for an
 * anonymous connection and for anyone who is not one of its two users.
 */
export function otherUser(id: RoomId, user: Identity | undefined): UserId {
  const pair = directPair(id)
  if (!user || !pair?.includes(user.id))
    throw new ChatError('not_authorized', 'Only its two users may join a direct conversation')
  return pair[0] === user.id ? pair[1] : pair[0]
}

function encode(id: UserId): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

function decode(part: string): UserId | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined
  const id = Buffer.from(part, 'base64url').toString('utf8')
  return encode(id) === part ? id : undefined
}
