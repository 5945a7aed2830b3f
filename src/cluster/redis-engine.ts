/**
 * The Redis engine (src/chat/engine.ts): a room's members, bans and mutes are hashes under
 * the room's hash tag, and a change runs as one `change` script over those keys. The
 * frames and the stored messages are built here, in TypeScript, with the byte 0x01 where
 * the script puts the id it assigns.
 */

import type { Change, Outcome } from '../chat/change.ts'
import type { RoomEngine } from '../chat/engine.ts'
import { type ChatEvents, noEvents } from '../chat/events.ts'
import type {
  Admission,
  Amendment,
  AmendOutcome,
  Creatable,
  MemberRecord,
  MessageRecord,
  NewRoom,
  Page,
  Post,
  PostOutcome,
  RoomInfo,
  RoomSnapshot,
} from '../chat/records.ts'
import { formatId } from '../domain/history.ts'
import type { Logger } from '../domain/ports.ts'
import { type Ban, inForce, type RoomView } from '../domain/room.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import type { MessageId, RoomId, StoredMessage, UserView } from '../protocol/frames.ts'
import { COUNT_MARK, ID_MARK } from './change-args.ts'
import {
  holdersOf,
  isChangeJson,
  messagesJson,
  type RoomMeta,
  roomKeyArgs,
  type StoredMember,
  usersOf,
  viewOf,
} from './cluster-rooms.ts'
import type { NodeParts } from './node-parts.ts'
import { readMarksOf } from './read-markers-redis.ts'
import { RedisChanges, sessionRecordTtlMs } from './redis-change.ts'
import type { RedisEngineHost } from './redis-engine-host.ts'

/** A room as the rules see it, with its registry entry. */
interface RedisRoom extends RoomInfo {
  meta: RoomMeta
}

function infoOf(meta: RoomMeta): RedisRoom {
  return {
    id: meta.id,
    name: meta.name,
    isPrivate: meta.is_private,
    maxUsers: meta.max_users,
    signedIn: meta.si === 1,
    createdBy: meta.cb,
    meta,
  }
}

export class RedisEngine implements RoomEngine {
  private readonly changes: RedisChanges

  constructor(
    private readonly parts: NodeParts,
    private readonly host: RedisEngineHost,
    readonly events: ChatEvents = noEvents,
  ) {
    this.changes = new RedisChanges(parts, host)
  }

  get logger(): Logger {
    return this.parts.logger
  }

  /** How long the record of a session that went away is kept: its grace, and a second. */
  get recordTtlMs(): number {
    return sessionRecordTtlMs(this.parts.config)
  }

  async post(room: RoomId, message: Post): Promise<PostOutcome> {
    const { link, keys, config } = this.parts
    const k = keys.room(room)
    const { username, content, now } = message
    // The hot path: the two JSON texts by hand, around three JSON.stringify of strings
    // (the shapes are StoredMessage and the `message` frame of protocol/frames.ts).
    const r = JSON.stringify(room)
    const sender = JSON.stringify(username)
    const text = JSON.stringify(content)
    const user = message.userId === undefined ? '' : `,"user_id":${JSON.stringify(message.userId)}`
    // An id is 12 digits: no escaping needed.
    const reply = message.replyTo === undefined ? '' : `,"reply_to":"${message.replyTo}"`
    const stored = `{"id":"${ID_MARK}","type":"text","sender":${sender},"content":${text},"timestamp":${now},"room_id":${r}${user}${reply}}`
    const frame = `{"type":"message","room":${r},"id":"${ID_MARK}","sender":${sender},"content":${text},"ts":${now}${reply}${user}}`
    const out = (await link.script('message', roomKeyArgs(k), [
      message.key,
      message.session as string,
      config.historyLimit,
      stored,
      frame,
      now,
      k.channel,
      config.nodeId,
      message.replyTo ?? '',
    ])) as ['ok' | 'not_member' | 'muted' | 'no_reply', number]
    return out[0] === 'ok' ? { posted: formatId(out[1]) } : out[0]
  }

  async message(room: RoomId, id: MessageId): Promise<MessageRecord | undefined> {
    const { link, keys, config } = this.parts
    const k = keys.room(room)
    const [entry] = (await link.script('lookup', roomKeyArgs(k), [id, config.historyLimit])) as [
      string?,
    ]
    if (!entry || isChangeJson(entry)) return undefined
    const m = JSON.parse(entry) as StoredMessage
    if (m.id !== id) return undefined
    return { type: m.type, deleted: m.deleted === true, userId: m.user_id, sender: m.sender }
  }

  async amend(room: RoomId, a: Amendment): Promise<AmendOutcome> {
    const { link, keys, config } = this.parts
    const k = keys.room(room)
    // The frame's place in the sequence and a reaction's count are the script's to fill in.
    const frame = JSON.stringify(a.frame)
      .replace('"event_id":""', `"event_id":"${ID_MARK}"`)
      .replace('"count":0', `"count":${COUNT_MARK}`)
    const react = a.kind === 'react' ? a : undefined
    const out = (await link.script('amend', roomKeyArgs(k), [
      a.key,
      a.session as string,
      a.id,
      a.kind,
      a.kind === 'edit' ? a.content : (react?.emoji ?? ''),
      frame,
      a.now,
      k.channel,
      config.nodeId,
      config.historyLimit,
      react?.maxEmoji ?? 0,
      react?.maxUsers ?? 0,
      react?.username ?? '',
      react?.on ? 1 : 0,
    ])) as ['ok' | 'not_member' | 'no_message' | 'reaction_limit', number, number]
    return out[0] === 'ok' ? { seq: out[1], count: out[2] } : out[0]
  }

  page(room: RoomId, before: string | undefined, limit: number | undefined): Promise<Page> {
    return this.parts.rooms.page(room, before, limit)
  }

  async room(id: RoomId): Promise<RedisRoom> {
    return infoOf(await this.parts.rooms.meta(id))
  }

  creatable(id: RoomId, maxRooms: number): Promise<Creatable> {
    return this.parts.rooms.creatable(id, maxRooms)
  }

  createRoom(room: NewRoom, maxRooms: number): Promise<Creatable> {
    return this.parts.rooms.register(room, maxRooms)
  }

  async rooms(): Promise<RoomInfo[]> {
    return (await this.parts.rooms.all()).map(infoOf)
  }

  async views(ids: RoomId[]): Promise<RoomView[]> {
    if (ids.length === 0) return []
    const { link, keys } = this.parts
    const pipe = link.cmd.pipeline()
    for (const id of ids) pipe.hget(keys.registry, id).hlen(keys.room(id).members)
    const out = ((await link.call(() => pipe.exec())) ?? []).map(([err, v]) => (err ? null : v))
    const views: RoomView[] = []
    for (let i = 0; i < ids.length; i++) {
      const raw = out[2 * i]
      if (typeof raw === 'string')
        views.push(viewOf(JSON.parse(raw) as RoomMeta, Number(out[2 * i + 1] ?? 0)))
    }
    return views
  }

  async users(room: RoomId): Promise<UserView[]> {
    return usersOf(await this.parts.rooms.members(room))
  }

  async bans(room: RoomId): Promise<Ban[]> {
    const { link, keys } = this.parts
    const raw = await link.call(() => link.cmd.hvals(keys.room(room).bans))
    const now = this.parts.clock.now()
    return raw.map((r) => JSON.parse(r) as Ban).filter((ban) => inForce(ban, now))
  }

  checkToken(room: RoomInfo, token: string): boolean {
    return this.parts.rooms.checkToken((room as RedisRoom).meta, token)
  }

  checkPassword(
    room: RoomInfo,
    password: string,
    buckets: TokenBucket[],
    address: string,
  ): Promise<boolean> {
    return this.parts.rooms.verifyPassword((room as RedisRoom).meta, password, buckets, address)
  }

  async admission(room: RoomId, key: string, identity: unknown): Promise<Admission> {
    const { link, keys } = this.parts
    const k = keys.room(room)
    const pipe = link.cmd
      .pipeline()
      .hget(k.bans, key)
      .hget(k.bannedSessions, identity as string)
      .hexists(k.members, key)
      .hlen(k.members)
    const out = (await link.call(() => pipe.exec())) ?? []
    const [ban, under, taken, count] = out.map(([err, v]) => (err ? null : v))
    const now = this.parts.clock.now()
    const read = (raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as Ban) : undefined)
    let banned = inForce(read(ban), now)
    if (!banned && typeof under === 'string') {
      const other = under === key ? ban : await link.call(() => link.cmd.hget(k.bans, under))
      banned = inForce(read(other), now)
    }
    return { banned, taken: Number(taken) === 1, count: Number(count ?? 0) }
  }

  async snapshot(room: RoomId): Promise<RoomSnapshot> {
    const { link, keys } = this.parts
    const k = keys.room(room)
    const pipe = link.cmd
      .multi()
      .hvals(k.members)
      .lrange(k.history, -this.parts.config.historyLimit, -1)
      .hgetall(k.read)
    const out = ((await link.call(() => pipe.exec())) ?? []).map(([, v]) => v)
    const members = (out[0] ?? []) as string[]
    return {
      users: JSON.stringify(usersOf(members)),
      history: messagesJson((out[1] ?? []) as string[]),
      read: readMarksOf(members, out[2] as Record<string, string> | undefined),
    }
  }

  async member(room: RoomId, key: string): Promise<MemberRecord | undefined> {
    const { link, keys } = this.parts
    const cur = await link.call(() => link.cmd.hget(keys.room(room).members, key))
    if (!cur) return undefined
    const m = JSON.parse(cur) as StoredMember
    const all = holdersOf(m)
    return {
      username: m.u,
      moderator: m.m === 1,
      online: m.o === 1,
      session: m.s,
      identity: m.b ?? m.s,
      userId: m.i,
      holders: all.length,
      onlineHolders: all.filter((h) => h.o === 1).length,
      joinSeq: m.j,
    }
  }

  async connections(room: RoomId): Promise<Map<string, number>> {
    const { link, keys } = this.parts
    const raw = await link.call(() => link.cmd.hgetall(keys.room(room).members))
    const out = new Map<string, number>()
    for (const [key, json] of Object.entries(raw)) {
      const online = holdersOf(JSON.parse(json) as StoredMember).filter((h) => h.o === 1).length
      if (online > 0) out.set(key, online)
    }
    return out
  }

  /** Applies a guarded change to one room, all or nothing (src/cluster/redis-change.ts). */
  change(room: RoomId, change: Change): Promise<Outcome> {
    return this.changes.apply(room, change)
  }

  forget(room: RoomId, _key: string, session: unknown): Promise<void> {
    return this.host.dropHere(room, session as string, 0)
  }
}
