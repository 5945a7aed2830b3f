/**
 * The server API of one store (`/api/…`, src/transport/api.ts): the rules of ./api.ts over
 * the store's engine, the same for both stores.
 */
import type { Clock } from '../domain/clock.ts'
import type { RoomView } from '../domain/room.ts'
import type { CreateRoomInput } from '../domain/rules.ts'
import type { RoomId, StoredMessage } from '../protocol/frames.ts'
import {
  type ApiBan,
  type ApiMember,
  type ApiMessage,
  type BanOutcome,
  ban,
  deleteRoom,
  type Idempotency,
  members,
  postMessage,
  unban,
} from './api.ts'
import type { RoomEngine } from './engine.ts'
import { type CreationContext, createRoom } from './rooms.ts'
import { type DisconnectBody, disconnectUser, type UserControl } from './users.ts'

export class ServerApi {
  constructor(
    private readonly engine: RoomEngine,
    private readonly idempotency: Idempotency,
    private readonly creation: () => CreationContext,
    private readonly clock: Clock,
    private readonly maxContentChars: number,
    private readonly users: UserControl,
  ) {}

  /** `POST /api/rooms/{id}/messages`. */
  postMessage(room: RoomId, body: ApiMessage): Promise<StoredMessage> {
    const { engine, idempotency, clock } = this
    return postMessage(engine, idempotency, room, body, clock.now(), this.maxContentChars)
  }

  /** `GET /api/rooms/{id}/members`. */
  members(room: RoomId): Promise<ApiMember[]> {
    return members(this.engine, room)
  }

  /** `POST /api/rooms/{id}/bans`. */
  ban(room: RoomId, body: ApiBan): Promise<BanOutcome> {
    return ban(this.engine, room, body, this.clock.now())
  }

  /** `DELETE /api/rooms/{id}/bans/{user}`. */
  unban(room: RoomId, user: string): Promise<void> {
    return unban(this.engine, room, user, this.clock.now())
  }

  /** `POST /api/rooms`: as `POST /rooms`, without the per-address creation limit. */
  async createRoom(input: CreateRoomInput): Promise<RoomView & { moderator_token: string }> {
    const { view, token } = await createRoom(this.engine, this.creation(), input, undefined)
    return { ...view, moderator_token: token }
  }

  /** `POST /api/users/{id}/disconnect`. */
  disconnectUser(userId: string, body: DisconnectBody): Promise<void> {
    return disconnectUser(this.users, userId, body)
  }

  /** `DELETE /api/rooms/{id}`. */
  deleteRoom(room: RoomId): Promise<void> {
    return deleteRoom(this.engine, room, this.clock.now())
  }
}
