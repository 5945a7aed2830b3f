/**
 * The REST views of the rooms, once for both engines (direct rooms are none of them): the room list (public rooms only,
 * sorted by id, filtered by name, paged by cursor), a room (its user list only when
 * public), its history (a private room's needs its password or its moderator token) and
 * its bans (the moderator token only).
 */
import type { Ban, RoomView } from '../domain/room.ts'
import { ROOM_PAGE_DEFAULT, type RoomCredentials, sortRoomsPage } from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId, UserView } from '../protocol/frames.ts'
import { isDirectRoom } from './direct-ids.ts'
import type { Page, RoomEngine, RoomInfo } from './engine.ts'

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
