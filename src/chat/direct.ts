/**
 * Direct conversations between two signed-in users, once for both engines (issue 16,
 * docs/protocol.md "Direct conversations"). A direct room is an ordinary room with a
 * server-derived id (`directRoomId`): private, signed-in only, capacity 2, no moderator,
 * never listed by REST, and joinable only by its two users, which the id itself names, so
 * no engine keeps anything more about it. Each user's book of direct rooms (the
 * `directs` frame) and the `direct` notice are the only state of their own.
 */
import type { Identity } from '../auth/tokens.ts'
import { randomToken } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type {
  DirectFrame,
  DirectsFrame,
  JoinFrame,
  RoomId,
  ServerFrame,
  UserId,
} from '../protocol/frames.ts'
import { directPair, directRoomId } from './direct-ids.ts'
import type { RoomEngine } from './engine.ts'
import type { Joiner } from './membership.ts'
import type { Maybe } from './records.ts'
import type { CreationContext } from './rooms.ts'

/** The same bound as the server API's user ids. */
const MAX_USER_ID_CHARS = 256
/** How often `direct` tries again when the room it found is gone or not ready yet. */
const ATTEMPTS = 5

/**
 * Each user's direct rooms, by room id, with the other user's id: one process (`MemoryDirectBook`)
 * or every node (src/cluster/redis-direct.ts). A room gone meanwhile may still be named; the
 * `directs` frame drops it then.
 */
export interface DirectBook {
  /** Notes the room among `owner`'s direct rooms; true if it was not there yet (one winner). */
  add(owner: UserId, room: RoomId, other: UserId): Maybe<boolean>
  remove(owner: UserId, room: RoomId): Maybe<void>
  /** `owner`'s direct rooms: room id → the other user's id. */
  list(owner: UserId): Maybe<Map<RoomId, UserId>>
  /** Sends `frame` to every connection of the signed-in user `userId`, on every node. */
  tell(userId: UserId, frame: ServerFrame): Maybe<void>
}

/** What the direct rules need besides the engine. */
export interface DirectContext {
  readonly book: DirectBook
  readonly creation: CreationContext
  /** The rule of the `join` frame (src/chat/membership.ts), which lets the two users in. */
  join(who: Joiner, frame: JoinFrame): Promise<void>
}

/**
 * `direct`: joins the user to the direct room of the two users, creating it first if it
 * does not exist (one atomic step: when both users ask at once, on any nodes, one room is
 * made and both join it). A new room counts against MAX_ROOMS and against the address's
 * room creations, like any other.
 */
export async function openDirect(
  engine: RoomEngine,
  ctx: DirectContext,
  who: Joiner,
  frame: DirectFrame,
): Promise<void> {
  const user = who.user
  if (!user) throw new ChatError('not_authorized', 'Only signed-in users have direct conversations')
  const other = frame.user_id
  if (other.length === 0 || other.length > MAX_USER_ID_CHARS)
    throw new ChatError('invalid_message', `"user_id" must be 1–${MAX_USER_ID_CHARS} characters`)
  if (other === user.id)
    throw new ChatError('invalid_message', 'A direct conversation needs another user')
  const id = directRoomId(user.id, other)
  const join: JoinFrame = { action: 'join', room: id }
  if (frame.ref !== undefined) join.ref = frame.ref
  for (let attempt = 1; ; attempt++) {
    await ensureRoom(engine, ctx, id, other, who.address)
    if (!who.live()) return
    await ctx.book.add(user.id, id, other)
    try {
      await ctx.join(who, join)
      return
    } catch (e) {
      // Deleted since (the empty-room rule), or made on another node that has not finished
      // starting it: look again.
      if (!(e instanceof ChatError && e.code === 'room_not_found') || attempt >= ATTEMPTS) throw e
    }
  }
}

/** Creates the direct room `id` unless it exists; a new conversation starts unseen by `other`. */
async function ensureRoom(
  engine: RoomEngine,
  ctx: DirectContext,
  id: RoomId,
  other: UserId,
  address: string,
): Promise<void> {
  const { creation } = ctx
  if (creation.isDraining()) throw new ChatError('shutting_down')
  const maxRooms = creation.config.maxRooms
  const first = await engine.creatable(id, maxRooms)
  if (first === 'exists') return
  if (first === 'limit') throw new ChatError('room_limit_reached')
  creation.guard.takeRoomCreation(address)
  const outcome = await engine.createRoom(
    {
      id,
      name: 'Direct conversation',
      isPrivate: true,
      maxUsers: 2,
      signedIn: true,
      createdBy: undefined,
      passwordHash: undefined,
      // Nobody is told it: a direct room has no moderator.
      token: randomToken(),
      createdAt: creation.now(),
    },
    maxRooms,
  )
  if (outcome === 'limit') throw new ChatError('room_limit_reached')
  if (outcome === 'ok') {
    creation.logger.info('room created', { room: id, private: true, direct: true })
    // A stale entry of an earlier room of the same id would keep the other user's notice back.
    await ctx.book.remove(other, id)
  }
}

/**
 * After a message of `from` in the direct room `room`: if the other user is not a member
 * of it, and the room is not among their direct rooms yet (the first such message of the
 * conversation), it becomes one and they are told on every connection, on any node.
 */
export async function noticeDirect(
  engine: RoomEngine,
  book: DirectBook,
  room: RoomId,
  from: { readonly userId: UserId | undefined; readonly username: string },
): Promise<void> {
  const pair = directPair(room)
  if (!pair || from.userId === undefined || !pair.includes(from.userId)) return
  const other = pair[0] === from.userId ? pair[1] : pair[0]
  const users = await engine.users(room)
  if (users.some((u) => u.user_id === other)) return
  if (!(await book.add(other, room, from.userId))) return
  await book.tell(other, {
    type: 'direct',
    room,
    from: { user_id: from.userId, username: from.username },
  })
}

/**
 * `directs`: the user's direct rooms that still exist, sorted by the other user's id;
 * entries of rooms gone meanwhile are dropped from the book.
 */
export async function listDirects(
  engine: RoomEngine,
  book: DirectBook,
  user: Identity | undefined,
  frame: DirectsFrame,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  if (!user) throw new ChatError('not_authorized', 'Only signed-in users have direct conversations')
  const entries = await book.list(user.id)
  const live = new Set((await engine.views([...entries.keys()])).map((v) => v.id))
  const rooms: { room: RoomId; user_id: UserId }[] = []
  for (const [room, other] of entries) {
    if (live.has(room)) rooms.push({ room, user_id: other })
    else await book.remove(user.id, room)
  }
  rooms.sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0))
  const out: ServerFrame = { type: 'directs', rooms }
  if (frame.ref !== undefined) out.ref = frame.ref
  reply(out)
}

/** The direct book of one process; `tell` reaches this process's connections. */
export class MemoryDirectBook implements DirectBook {
  private readonly books = new Map<UserId, Map<RoomId, UserId>>()

  constructor(private readonly send: (userId: UserId, frame: ServerFrame) => void) {}

  add(owner: UserId, room: RoomId, other: UserId): boolean {
    let book = this.books.get(owner)
    if (!book) {
      book = new Map()
      this.books.set(owner, book)
    }
    if (book.has(room)) return false
    book.set(room, other)
    return true
  }

  remove(owner: UserId, room: RoomId): void {
    const book = this.books.get(owner)
    book?.delete(room)
    if (book?.size === 0) this.books.delete(owner)
  }

  list(owner: UserId): Map<RoomId, UserId> {
    return new Map(this.books.get(owner))
  }

  tell(userId: UserId, frame: ServerFrame): void {
    this.send(userId, frame)
  }
}

/** Sends `frame` to each of these sessions that is signed in as `userId` and connected. */
export function tellHere(
  sessions: Iterable<
    | { readonly peer: { send(f: ServerFrame): void } | undefined; readonly user?: Identity }
    | undefined
  >,
  userId: UserId,
  frame: ServerFrame,
): void {
  for (const session of sessions) if (session?.user?.id === userId) session.peer?.send(frame)
}
