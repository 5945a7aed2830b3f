/**
 * The REST views of the rooms, once for both engines (direct rooms are none of them): the room list (public rooms only,
 * sorted by id, filtered by name, paged by cursor), a room (its user list only when
 * public), its history (a private room's needs its password or its moderator token) and
 * its bans (the moderator token only).
 */
import type { Ban, RoomView } from '../domain/room.ts'
import {
  type CreateRoomInput,
  ROOM_PAGE_DEFAULT,
  type RoomCredentials,
  sortRoomsPage,
} from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId, UserView } from '../protocol/frames.ts'
import { isDirectRoom } from './direct-ids.ts'
import type { RoomEngine } from './engine.ts'
import type { Page, RoomInfo } from './records.ts'
import { type CreationContext, createRoom } from './rooms.ts'

/** Public rooms, sorted by id, whose name holds `q`, one page after `cursor`. */
export async function listRooms(
  engine: RoomEngine,
  q: string | undefined,
  limit = ROOM_PAGE_DEFAULT,
  cursor?: string,
): Promise<{ rooms: RoomView[]; next_cursor: string | null }> {
  const needle = q?.normalize('NFC').toLowerCase()
  const matching = (await engine.rooms()).filter(
    (room) =>
      !room.isPrivate &&
      (cursor === undefined || room.id > cursor) &&
      (!needle || room.name.toLowerCase().includes(needle)),
  )
  const { page, next_cursor } = sortRoomsPage(matching, limit)
  return { rooms: await engine.views(page.map((room) => room.id)), next_cursor }
}

/** A room's REST view; the user list only for a public room. */
export async function roomDetails(
  engine: RoomEngine,
  id: RoomId,
): Promise<RoomView & { users?: UserView[] }> {
  const room = await engine.room(id)
  hideDirect(room, id)
  const [view] = await engine.views([room.id])
  if (!view) throw new ChatError('room_not_found', `No room with id "${id}"`)
  return room.isPrivate ? view : { ...view, users: await engine.users(room.id) }
}

/** A page of a room's history; a private room's needs its moderator token or its password. */
export async function messagesFor(
  engine: RoomEngine,
  id: RoomId,
  credentials: RoomCredentials,
  address: string,
  /** The address's own wrong-password bucket. */
  bucket: TokenBucket,
  before?: string,
  limit?: number,
): Promise<Page> {
  const room = await engine.room(id)
  hideDirect(room, id)
  if (room.isPrivate) await authorize(engine, room, credentials, address, bucket)
  return engine.page(room.id, before, limit)
}

/** The bans in force of a room, oldest first, for its moderator token only. */
export async function bansOf(
  engine: RoomEngine,
  id: RoomId,
  token: string | undefined,
): Promise<{ bans: Ban[] }> {
  const room = await engine.room(id)
  if (token === undefined)
    throw new ChatError('not_authorized', 'The room moderator token is required', undefined, 401)
  if (!engine.checkToken(room, token))
    throw new ChatError('not_authorized', 'Wrong moderator token')
  const bans = await engine.bans(room.id)
  bans.sort((a, b) => a.at - b.at || (a.username < b.username ? -1 : 1))
  return { bans }
}

/** A direct room is nobody else's business: REST knows it not (src/chat/direct.ts). */
function hideDirect(room: RoomInfo, id: RoomId): void {
  if (isDirectRoom(room.id)) throw new ChatError('room_not_found', `No room with id "${id}"`)
}

/** Lets REST into a private room with its moderator token or its (throttled) password. */
async function authorize(
  engine: RoomEngine,
  room: RoomInfo,
  credentials: RoomCredentials,
  address: string,
  bucket: TokenBucket,
): Promise<void> {
  if (credentials.token !== undefined && engine.checkToken(room, credentials.token)) return
  if (credentials.password === undefined) {
    throw new ChatError(
      'not_authorized',
      'This room needs a password or the moderator token',
      undefined,
      401,
    )
  }
  if (!(await engine.checkPassword(room, credentials.password, [bucket], address)))
    throw new ChatError('not_authorized', 'Wrong password')
}

/**
 * A store's REST views and room creation, the same over either engine: RoomStore and
 * ClusterStore extend it and say where their engine, wrong-password buckets and creation
 * context are.
 */
export abstract class StoreViews {
  protected abstract readonly engine: RoomEngine
  /** The per-address wrong-password bucket of a REST caller. */
  protected abstract passwordBucket(address: string): TokenBucket
  /** What creating a room needs besides the engine (src/chat/rooms.ts). */
  protected abstract creationContext(): CreationContext

  /** Public rooms, sorted by id, filtered by a name substring, one page after `cursor`. */
  listRooms(
    q: string | undefined,
    limit?: number,
    cursor?: string,
  ): Promise<{ rooms: RoomView[]; next_cursor: string | null }> {
    return listRooms(this.engine, q, limit, cursor)
  }

  /** A room's REST view; the user list only for public rooms. */
  roomDetails(id: RoomId): Promise<RoomView & { users?: UserView[] }> {
    return roomDetails(this.engine, id)
  }

  /** A page of a room's history for REST; private rooms need the password or the moderator token. */
  messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<Page> {
    const bucket = this.passwordBucket(address)
    return messagesFor(this.engine, id, credentials, address, bucket, before, limit)
  }

  /** The bans of a room; only with its moderator token. */
  bansOf(id: RoomId, token: string | undefined): Promise<{ bans: Ban[] }> {
    return bansOf(this.engine, id, token)
  }

  /** `POST /rooms`: creates a room, with its moderator token. */
  async createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }> {
    const { view, token } = await createRoom(this.engine, this.creationContext(), input, address)
    return { ...view, moderator_token: token }
  }
}
