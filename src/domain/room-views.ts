import type { Config } from '../config.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId, StoredMessage, UserView } from '../protocol/frames.ts'
import type { Guard } from './guard.ts'
import { checkPassword } from './password-check.ts'
import type { Logger, PasswordHasher } from './ports.ts'
import type { Room, RoomView } from './room.ts'
import {
  pageSize,
  parseBefore,
  ROOM_PAGE_DEFAULT,
  type RoomCredentials,
  sortRoomsPage,
} from './rules.ts'
import type { TokenBucket } from './token-bucket.ts'

/** Where the views find rooms; RoomStore provides it. */
export interface ViewSource {
  /** Every room, in no particular order. */
  rooms(): Iterable<Room>
  /** The room with this id or name; throws `room_not_found`. */
  room(id: RoomId): Room
}

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

/** The read-only REST views of the rooms: the room list, a room, its history, its bans. */
export class RoomViews {
  constructor(
    private readonly source: ViewSource,
    private readonly guard: Guard,
    private readonly hasher: PasswordHasher,
    private readonly config: Pick<Config, 'historyLimit'>,
    private readonly logger: Logger,
  ) {}

  /** Public rooms, sorted by id, filtered by a name substring, one page after `cursor`. */
  listRooms(
    q: string | undefined,
    limit = ROOM_PAGE_DEFAULT,
    cursor?: string,
  ): { rooms: RoomView[]; next_cursor: string | null } {
    const needle = q?.normalize('NFC').toLowerCase()
    const matching: Room[] = []
    for (const room of this.source.rooms()) {
      if (room.isPrivate) continue
      if (cursor !== undefined && room.id <= cursor) continue
      if (needle && !room.name.toLowerCase().includes(needle)) continue
      matching.push(room)
    }
    const { page, next_cursor } = sortRoomsPage(matching, limit)
    return { rooms: page.map((r) => r.view()), next_cursor }
  }

  /** A room's REST view; the user list only for public rooms. */
  roomDetails(id: RoomId): RoomView & { users?: UserView[] } {
    const room = this.source.room(id)
    return room.isPrivate ? room.view() : { ...room.view(), users: room.users() }
  }

  /** A page of a room's history for REST; private rooms need the password or the moderator token. */
  async messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const room = this.source.room(id)
    if (room.isPrivate) await this.authorize(room, credentials, address)
    return historyPage(room, before, limit, this.config.historyLimit)
  }

  /** The bans of a room; only with its moderator token. */
  bansOf(
    id: RoomId,
    token: string | undefined,
  ): { bans: { username: string; by: string; at: number }[] } {
    const room = this.source.room(id)
    if (token === undefined)
      throw new ChatError('not_authorized', 'The room moderator token is required', undefined, 401)
    if (!room.checkToken(token)) throw new ChatError('not_authorized', 'Wrong moderator token')
    return { bans: [...room.bans.values()] }
  }

  /** Lets REST into a private room with its moderator token or its (throttled) password. */
  private async authorize(
    room: Room,
    credentials: RoomCredentials,
    address: string,
  ): Promise<void> {
    if (credentials.token !== undefined && room.checkToken(credentials.token)) return
    if (credentials.password === undefined) {
      throw new ChatError(
        'not_authorized',
        'This room needs a password or the moderator token',
        undefined,
        401,
      )
    }
    const buckets = [this.guard.passwordBucket(address)]
    if (
      !(await verifyPassword(
        this.hasher,
        room,
        credentials.password,
        buckets,
        this.logger,
        address,
      ))
    ) {
      throw new ChatError('not_authorized', 'Wrong password')
    }
  }
}
