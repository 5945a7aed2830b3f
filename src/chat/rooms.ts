/**
 * Creating a room, once for both engines (`POST /rooms` and the `create` frame): the
 * input's checks, the creations allowed per address, then the room registered in one
 * guarded step: one winner for one name, and never more than MAX_ROOMS.
 */
import type { Config } from '../config.ts'
import type { Guard } from '../domain/guard.ts'
import { normalizeName, slugify } from '../domain/names.ts'
import type { Logger, PasswordHasher } from '../domain/ports.ts'
import type { RoomView } from '../domain/room.ts'
import { type CreateRoomInput, randomToken, validateCreateInput } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { RoomEngine } from './engine.ts'
import type { Creatable, NewRoom, RoomInfo } from './records.ts'

/** What room creation needs besides the engine. */
export interface CreationContext {
  readonly config: Pick<Config, 'maxRooms' | 'maxUsersLimit' | 'defaultMaxUsers' | 'authMode'>
  readonly guard: Guard
  readonly hasher: PasswordHasher
  readonly logger: Logger
  isDraining(): boolean
  now(): number
}

/**
 * Creates a room; `address` is charged one creation (undefined: the server API, not
 * limited per address). Returns the room, its view and its moderator token.
 */
export async function createRoom(
  engine: RoomEngine,
  ctx: CreationContext,
  input: CreateRoomInput,
  address: string | undefined,
  /** The signed-in user who creates it (the `create` frame), if any. */
  createdBy?: string,
): Promise<{ room: RoomInfo; view: RoomView; token: string }> {
  if (ctx.isDraining()) throw new ChatError('shutting_down')
  const { name, id, maxUsers, isPrivate, password, signedIn } = validateCreateInput(
    input,
    ctx.config,
  )
  if (signedIn && ctx.config.authMode === 'off')
    throw new ChatError('invalid_message', 'members "signed_in" needs sign-in (AUTH_MODE)')
  if (address !== undefined) ctx.guard.takeRoomCreation(address)
  // Before the slow hash; the registration checks again, in its atomic step.
  refuse(await engine.creatable(id, ctx.config.maxRooms), id)
  const passwordHash = password !== undefined ? await ctx.hasher.hash(password) : undefined
  if (ctx.isDraining()) throw new ChatError('shutting_down')
  const token = randomToken()
  const createdAt = ctx.now()
  const init = {
    id,
    name,
    isPrivate,
    maxUsers,
    signedIn,
    createdBy,
    passwordHash,
    token,
    createdAt,
  }
  refuse(await engine.createRoom(init, ctx.config.maxRooms), id)
  ctx.logger.info('room created', { room: id, private: isPrivate })
  const view: RoomView = {
    id,
    name,
    is_private: isPrivate,
    max_users: maxUsers,
    user_count: 0,
    created_at: createdAt,
  }
  if (signedIn) view.members = 'signed_in'
  engine.events.emit('room.created', { room: view })
  return { room: { id, name, isPrivate, maxUsers, signedIn, createdBy }, view, token }
}

/**
 * The default rooms (DEFAULT_ROOMS): public, of DEFAULT_MAX_USERS, never deleted, with a
 * moderator token nobody is told; a name whose id is empty or taken by an earlier one is
 * skipped.
 */
export function defaultRooms(
  config: Pick<Config, 'defaultRooms' | 'defaultMaxUsers'>,
  now: number,
): NewRoom[] {
  const out = new Map<RoomId, NewRoom>()
  for (const raw of config.defaultRooms) {
    const name = normalizeName(raw, 'room name')
    const id = slugify(name)
    if (!id || out.has(id)) continue
    out.set(id, {
      id,
      name,
      isPrivate: false,
      maxUsers: config.defaultMaxUsers,
      signedIn: false,
      passwordHash: undefined,
      token: randomToken(),
      createdAt: now,
    })
  }
  return [...out.values()]
}

function refuse(outcome: Creatable, id: RoomId): void {
  if (outcome === 'exists')
    throw new ChatError('room_exists', `A room with id "${id}" already exists`)
  if (outcome === 'limit') throw new ChatError('room_limit_reached')
}
