/**
 * The shared room registry and the read side of the rooms in Redis: room metadata, the
 * REST views, member lists and history pages, room creation and the password checks.
 * Everything here is the same on every node, because it is all read from Redis.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Creatable, NewRoom } from '../chat/records.ts'
import type { Config } from '../config.ts'
import type { Guard } from '../domain/guard.ts'
import { parseId } from '../domain/history.ts'
import { slugify } from '../domain/names.ts'
import { checkPassword, ROOM_PASSWORD_BUCKET, type RoomBucket } from '../domain/password-check.ts'
import type { Logger, PasswordHasher } from '../domain/ports.ts'
import type { RoomView } from '../domain/room.ts'
import { pageSize, parseBefore } from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  isChange,
  type LogEntry,
  type RoomId,
  type StoredMessage,
  type UserView,
} from '../protocol/frames.ts'
import type { Keys, RoomKeys } from './keys.ts'
import type { RedisLink } from './redis-link.ts'

/** A room's entry in the registry (JSON in Redis). */
export interface RoomMeta {
  id: RoomId
  name: string
  is_private: boolean
  max_users: number
  created_at: number
  permanent: boolean
  /** 1: only signed-in users may join. */
  si?: 1
  /** The user id of the signed-in user who created it. */
  cb?: string
  /** argon2id hash of the password (private rooms). */
  pw?: string
  /** SHA-256 (hex) of the moderator token. */
  tk: string
}

/** One session's hold of a member: session hash, node, ban identity, online, grace end. */
export interface StoredHolder {
  s: string
  n: string
  /** The session's identity for bans, when it differs from `s` (it resumed under a new token). */
  b?: string
  o: number
  /** When its resume grace ends (ms), while it is away. */
  d?: number
}

/**
 * A member as stored in Redis: username, moderator, join order, user id, and the sessions
 * that hold it (lua/prelude.lua's `holders`): the first on the record itself, online if any
 * is (so `o` is whether the member is online), the others (a signed-in user's other tabs
 * and devices) in `x`.
 */
export interface StoredMember extends StoredHolder {
  u: string
  m: number
  j: number
  /** The signed-in user's id (AUTH_MODE), absent for an anonymous member. */
  i?: string
  x?: StoredHolder[]
}

/** The sessions that hold a stored member, the record's own first. */
export function holdersOf(m: StoredMember): StoredHolder[] {
  return [{ s: m.s, n: m.n, b: m.b, o: m.o }, ...(m.x ?? [])]
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export function roomKeyArgs(k: RoomKeys): string[] {
  return [
    k.state,
    k.members,
    k.history,
    k.bans,
    k.bannedSessions,
    k.mutes,
    k.grace,
    k.extra,
    k.read,
  ]
}

export function viewOf(meta: RoomMeta, userCount: number): RoomView {
  const view: RoomView = {
    id: meta.id,
    name: meta.name,
    is_private: meta.is_private,
    max_users: meta.max_users,
    user_count: userCount,
    created_at: meta.created_at,
  }
  if (meta.si === 1) view.members = 'signed_in'
  return view
}

/** Member JSONs from Redis as the protocol's user list, in join order. */
export function usersOf(raw: string[]): UserView[] {
  return raw
    .map((r) => JSON.parse(r) as StoredMember)
    .sort((a, b) => a.j - b.j)
    .map((m) => {
      const view: UserView = {
        username: m.u,
        status: m.o ? 'online' : 'offline',
        moderator: m.m === 1,
      }
      if (m.i !== undefined) view.user_id = m.i
      return view
    })
}

/** A log entry's place in the room's sequence. */
export function seqOf(entry: LogEntry): number {
  return isChange(entry) ? entry.seq : (parseId(entry.id) ?? 0)
}

/** Whether a raw history entry is a change (`{"seq":…,"event":…}`), not a message. */
export function isChangeJson(raw: string): boolean {
  return raw.startsWith('{"seq":')
}

/** The messages among raw history entries as one JSON array (a joiner's `history`). */
export function messagesJson(raw: string[]): string {
  let json = ''
  for (const r of raw) if (!isChangeJson(r)) json += json === '' ? r : `,${r}`
  return `[${json}]`
}

export class ClusterRooms {
  /** Called when this node added a room to the registry (for the node's room count). */
  onCreated: () => void = () => {}

  constructor(
    private readonly config: Config,
    private readonly keys: Keys,
    private readonly link: RedisLink,
    private readonly hasher: PasswordHasher,
    readonly _guard: Guard,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** The room with this id (or a name that slugs to it); `room_not_found` otherwise. */
  async meta(id: RoomId): Promise<RoomMeta> {
    const cmd = this.link.cmd
    let raw = await this.link.call(() => cmd.hget(this.keys.registry, id))
    if (raw === null) {
      const slug = slugify(id)
      if (slug && slug !== id) raw = await this.link.call(() => cmd.hget(this.keys.registry, slug))
    }
    if (raw === null) throw new ChatError('room_not_found', `No room with id "${id}"`)
    return JSON.parse(raw) as RoomMeta
  }

  checkToken(meta: RoomMeta, token: string): boolean {
    return timingSafeEqual(Buffer.from(sha256Hex(token), 'hex'), Buffer.from(meta.tk, 'hex'))
  }

  /** Verifies a room password against the room's shared bucket and the caller's; see checkPassword. */
  verifyPassword(
    meta: RoomMeta,
    password: string,
    buckets: TokenBucket[],
    address: string,
  ): Promise<boolean> {
    const key = [this.keys.room(meta.id).passwords]
    const { capacity, perSecond } = ROOM_PASSWORD_BUCKET
    const bucket: RoomBucket = {
      take: async () =>
        (await this.link.script('passwordTake', key, [capacity, perSecond, this.now()])) === 1,
      refund: async () => {
        await this.link.script('passwordRefund', key, [capacity])
      },
    }
    return checkPassword({
      hasher: this.hasher,
      hash: meta.pw,
      password,
      room: { id: meta.id, bucket },
      local: buckets,
      logger: this.logger,
      address,
    })
  }

  /** Registers a new room (if its id is free and MAX_ROOMS allows) and starts its state. */
  async register(room: NewRoom, maxRooms: number): Promise<Creatable> {
    const meta = this.metaOf(room, false)
    const result = (await this.link.script(
      'register',
      [this.keys.registry],
      [room.id, JSON.stringify(meta), maxRooms, 0],
    )) as Creatable
    if (result !== 'ok') return result
    await this.init(meta, 'fresh', 0)
    this.onCreated()
    return 'ok'
  }

  /** Whether a room `id` could be registered now. */
  async creatable(id: RoomId, maxRooms: number): Promise<Creatable> {
    const pipe = this.link.cmd.pipeline().hexists(this.keys.registry, id).hlen(this.keys.registry)
    const out = ((await this.link.call(() => pipe.exec())) ?? []).map(([, v]) => Number(v))
    if (out[0]) return 'exists'
    return (out[1] ?? 0) >= maxRooms ? 'limit' : 'ok'
  }

  /** Registers a room if it is missing (default rooms; rooms re-registered after a data loss). */
  async ensure(meta: RoomMeta, floorSeq: number): Promise<void> {
    await this.link.script(
      'register',
      [this.keys.registry],
      [meta.id, JSON.stringify(meta), this.config.maxRooms, 1],
    )
    await this.init(meta, 'ensure', floorSeq)
  }

  /** A default room's meta: public, never deleted, with a token nobody is told. */
  metaOf(room: NewRoom, permanent: boolean): RoomMeta {
    const meta: RoomMeta = {
      id: room.id,
      name: room.name,
      is_private: room.isPrivate,
      max_users: room.maxUsers,
      created_at: room.createdAt,
      permanent,
      tk: sha256Hex(room.token),
    }
    if (room.passwordHash !== undefined) meta.pw = room.passwordHash
    if (room.signedIn) meta.si = 1
    if (room.createdBy !== undefined) meta.cb = room.createdBy
    return meta
  }

  private async init(meta: RoomMeta, mode: 'fresh' | 'ensure', floorSeq: number): Promise<void> {
    const k = this.keys.room(meta.id)
    await this.link.script('initRoom', roomKeyArgs(k), [
      mode,
      randomBytes(8).toString('hex'),
      floorSeq,
      this.now(),
      meta.permanent ? 1 : 0,
    ])
    if (!meta.permanent) {
      // The janitor deletes the room if nobody joins it within the TTL.
      await this.link.call(() =>
        this.link.cmd.zadd(this.keys.due, 'LT', this.now() + this.config.roomEmptyTtlMs, meta.id),
      )
    }
  }

  /** Every room in the registry. */
  async all(): Promise<RoomMeta[]> {
    const raw = await this.link.call(() => this.link.cmd.hvals(this.keys.registry))
    return raw.map((r) => JSON.parse(r) as RoomMeta)
  }

  async count(): Promise<number> {
    return this.link.call(() => this.link.cmd.hlen(this.keys.registry))
  }

  async members(id: RoomId): Promise<string[]> {
    return this.link.call(() => this.link.cmd.hvals(this.keys.room(id).members))
  }

  /** The kept log (messages and changes to them), oldest first. */
  async history(id: RoomId): Promise<LogEntry[]> {
    const raw = await this.link.call(() =>
      this.link.cmd.lrange(this.keys.room(id).history, -this.config.historyLimit, -1),
    )
    return raw.map((r) => JSON.parse(r) as LogEntry)
  }

  /** A page of history: up to `limit` messages before `before`, oldest first. */
  async page(
    id: RoomId,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const beforeSeq = parseBefore(before)
    const size = pageSize(limit, this.config.historyLimit)
    const older = (await this.history(id)).filter(
      (m): m is StoredMessage => !isChange(m) && seqOf(m) < beforeSeq,
    )
    const messages = older.slice(Math.max(0, older.length - size))
    return { messages, has_more: older.length > messages.length }
  }
}
