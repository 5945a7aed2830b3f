/**
 * The server API's rules (`/api/…`, for the app's backend; docs/sign-in.md), once for both
 * engines: a message posted into a room for a named user, or as a system notice, at most
 * once per idempotency key; the member list.
 */

import { formatId } from '../domain/history.ts'
import { normalizeName, userKey } from '../domain/names.ts'
import { NOTES } from '../domain/notes.ts'
import { checkContent } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { ModerationFrame, RoomId, StoredMessage, UserView } from '../protocol/frames.ts'
import type { RoomEngine } from './engine.ts'
import { moderate, serverActor } from './moderation.ts'
import type { Maybe } from './records.ts'

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000
/** Longest timed ban: a year. */
const MAX_BAN_MS = 365 * 24 * 3600 * 1000
/** Longest idempotency key, user id. */
const MAX_KEY_CHARS = 256

/** Results kept by idempotency key: in memory for one process, in Redis for a cluster. */
export interface Idempotency {
  /** Claims `key` for a first request (true), or false when it was seen. */
  claim(key: string, ttlMs: number): Maybe<boolean>
  /** The result stored for `key` ('' while its first request is still running). */
  get(key: string): Maybe<string | undefined>
  /** Stores the first request's result. */
  set(key: string, value: string, ttlMs: number): Maybe<void>
  /** Lets the key go again (the first request failed). */
  release(key: string): Maybe<void>
}

export interface ApiMessage {
  content: string
  sender?: { id: string; name: string }
  idempotency_key?: string
}

export interface ApiMember {
  user_id: string | null
  username: string
  online: boolean
  connections: number
  moderator: boolean
}

/**
 * `POST /api/rooms/{id}/messages`: with a sender, a message from that user (delivered as
 * `message`, kept in history); without one, a `system` notice. The same idempotency key
 * within 24 h answers the first result and posts nothing.
 */
export async function postMessage(
  engine: RoomEngine,
  idempotency: Idempotency,
  roomId: RoomId,
  body: ApiMessage,
  now: number,
  maxContentChars: number,
): Promise<StoredMessage> {
  checkContent(body.content, maxContentChars)
  const sender = body.sender && {
    id: checkId(body.sender.id, 'sender.id'),
    name: normalizeName(body.sender.name, 'username'),
  }
  const room = await engine.room(roomId)
  const key = body.idempotency_key
  if (key !== undefined) {
    const idem = `${room.id}\t${checkId(key, 'idempotency_key')}`
    if (!(await idempotency.claim(idem, IDEMPOTENCY_TTL_MS))) {
      const first = await idempotency.get(idem)
      if (!first)
        throw new ChatError('rate_limited', 'A request with this idempotency_key is in progress', 1)
      return JSON.parse(first) as StoredMessage
    }
    try {
      const stored = await post(engine, room.id, body.content, sender, now)
      await idempotency.set(idem, JSON.stringify(stored), IDEMPOTENCY_TTL_MS)
      return stored
    } catch (e) {
      await idempotency.release(idem)
      throw e
    }
  }
  return post(engine, room.id, body.content, sender, now)
}

async function post(
  engine: RoomEngine,
  room: RoomId,
  content: string,
  sender: { id: string; name: string } | undefined,
  now: number,
): Promise<StoredMessage> {
  const note = sender ? { content, sender: sender.name, userId: sender.id } : content
  const out = await engine.change(room, {
    guards: [{ is: 'live', fail: 'room_not_found' }],
    writes: [],
    notes: [note],
    now,
  })
  if (out.failed !== undefined) throw new ChatError('room_not_found')
  const stored: StoredMessage = {
    id: formatId(out.seq),
    type: sender ? 'text' : 'system',
    sender: sender ? sender.name : 'system',
    content,
    timestamp: now,
    room_id: room,
  }
  if (sender) stored.user_id = sender.id
  if (sender) engine.events.emit('message.created', { room, message: stored })
  return stored
}

export interface ApiBan {
  user_id?: string
  username?: string
  reason?: string
  duration_ms?: number
}

/**
 * `POST /api/rooms/{id}/bans`: bans a user by name or by user id, as a moderator's ban does
 * (a member is removed at once, told `banned` by "server"). A user id that is in the room
 * bans that member; one that is not is banned ahead (their user id is refused on join).
 */
export async function ban(
  engine: RoomEngine,
  roomId: RoomId,
  body: ApiBan,
  now: number,
): Promise<BanOutcome> {
  if ((body.user_id === undefined) === (body.username === undefined))
    throw new ChatError('invalid_message', 'Give exactly one of "user_id" and "username"')
  const duration = body.duration_ms
  if (
    duration !== undefined &&
    (!Number.isInteger(duration) || duration < 1 || duration > MAX_BAN_MS)
  )
    throw new ChatError('invalid_message', `duration_ms must be an integer from 1 to ${MAX_BAN_MS}`)
  const until = duration === undefined ? undefined : now + duration
  const room = await engine.room(roomId)
  let username = body.username
  const userId = body.user_id === undefined ? undefined : checkId(body.user_id, 'user_id')
  if (userId !== undefined) {
    const users = JSON.parse((await engine.snapshot(room.id)).users) as UserView[]
    username = users.find((u) => u.user_id === userId)?.username
  }
  if (username !== undefined) {
    await asServer(engine, { action: 'ban', room: room.id, username, duration_ms: duration }, now)
    return banOutcome(room.id, username, userId, until)
  }
  // Not in the room: the user id itself is banned, under a key no username has.
  const id = userId as string
  const key = absentKey(id)
  const out = await engine.change(room.id, {
    guards: [{ is: 'live', fail: 'room_not_found' }],
    writes: [
      { op: 'ban', key, username: id, by: 'server', at: now, until },
      { op: 'banSession', key, identity: `user:${id}` },
    ],
    notes: [NOTES.banned(id, 'server')],
    now,
  })
  if (out.failed !== undefined) throw new ChatError('room_not_found')
  engine.events.emit('member.banned', { room: room.id, username: id, user_id: id, by: 'server' })
  return banOutcome(room.id, id, id, until)
}

/** What `POST /api/rooms/{id}/bans` answers. */
export interface BanOutcome {
  room: RoomId
  username: string
  user_id?: string
  /** When a timed ban ends (ms since the epoch). */
  until?: number
}

function banOutcome(
  room: RoomId,
  username: string,
  userId: string | undefined,
  until: number | undefined,
): BanOutcome {
  const out: BanOutcome = { room, username }
  if (userId !== undefined) out.user_id = userId
  if (until !== undefined) out.until = until
  return out
}

/** `DELETE /api/rooms/{id}/bans/{user}`: lifts the ban of a username, or of a user id banned ahead. */
export async function unban(
  engine: RoomEngine,
  roomId: RoomId,
  user: string,
  now: number,
): Promise<void> {
  const room = await engine.room(roomId)
  const absent = absentKey(user)
  const out = await engine.change(room.id, {
    guards: [
      { is: 'live', fail: 'room_not_found' },
      { is: 'banned', key: absent, fail: 'not_banned' },
    ],
    writes: [{ op: 'unban', key: absent }],
    notes: [NOTES.unbanned(user, 'server')],
    now,
  })
  if (out.failed === undefined) return
  if (out.failed === 'room_not_found') throw new ChatError('room_not_found')
  await asServer(engine, { action: 'unban', room: room.id, username: user }, now)
}

/** A moderation act of the server API (signed "server"); it needs no reply. */
function asServer(engine: RoomEngine, frame: ModerationFrame, now: number): Promise<void> {
  return moderate(
    engine,
    serverActor(frame.room),
    frame,
    () => now,
    () => {},
  )
}

/**
 * `DELETE /api/rooms/{id}`: the room, its history, bans and mutes are gone; its members get
 * `room_deleted` (those away, on resume: `room_not_found`). A default room comes back at
 * the next start.
 */
export async function deleteRoom(engine: RoomEngine, roomId: RoomId, now: number): Promise<void> {
  const room = await engine.room(roomId)
  const out = await engine.change(room.id, {
    guards: [{ is: 'live', fail: 'room_not_found' }],
    writes: [{ op: 'deleteRoom' }],
    notes: [NOTES.deleted()],
    quiet: true,
    target: { key: '*', how: 'deleted', by: 'server', until: 0 },
    now,
  })
  if (out.failed !== undefined) throw new ChatError('room_not_found')
  engine.logger.info('room deleted', { room: room.id })
  engine.events.emit('room.deleted', { room: room.id, reason: 'deleted' })
}

/** The ban key of a user id banned while not in the room: `#` is in no username key. */
function absentKey(userId: string): string {
  return `#user:${userId}`
}

/** `GET /api/rooms/{id}/members`: every member, online or in their resume grace. */
export async function members(engine: RoomEngine, roomId: RoomId): Promise<ApiMember[]> {
  const room = await engine.room(roomId)
  const users = JSON.parse((await engine.snapshot(room.id)).users) as UserView[]
  const connections = await engine.connections(room.id)
  return users.map((u) => ({
    user_id: u.user_id ?? null,
    username: u.username,
    online: u.status === 'online',
    connections: connections.get(userKey(u.username)) ?? 0,
    moderator: u.moderator,
  }))
}

function checkId(value: string, field: string): string {
  if (value.length === 0 || value.length > MAX_KEY_CHARS)
    throw new ChatError('invalid_message', `${field} must be 1–${MAX_KEY_CHARS} characters`)
  return value
}
