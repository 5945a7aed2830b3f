/**
 * The memory engine (src/chat/engine.ts): the rooms of one process, changed synchronously,
 * so a change is atomic by construction. It keeps RoomStore's own objects: a member's
 * session handle is its Session.
 */

import type { Change, Outcome, Target } from '../chat/change.ts'
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
import { banIdentity } from '../chat/sign-in.ts'
import {
  type MessageId,
  type RoomId,
  type ServerFrame,
  type UserView,
  withUserId,
} from '../protocol/frames.ts'
import type { Clock } from './clock.ts'
import { banOf, heldBy, holderOf, holds, identityBanned } from './memory-guards.ts'
import { changeMessage, messageRecord } from './message-changes.ts'
import type { Logger, PasswordHasher, RoomSink } from './ports.ts'
import { roomReadMarks } from './read-markers-memory.ts'
import type { Session } from './room.ts'
import {
  type Ban,
  holderCount,
  holders,
  inForce,
  type Member,
  Room,
  type RoomView,
} from './room.ts'
import { historyPage, verifyPassword } from './room-views.ts'
import type { TokenBucket } from './token-bucket.ts'

/** What the engine needs of the store: its rooms, and what happens to a member who goes. */
export interface MemoryEngineHost {
  /** The room filed under this id, if any. */
  room(id: RoomId): Room | undefined
  /** Every room. */
  all(): Iterable<Room>
  /** How many rooms there are. */
  count(): number
  /** Files a new room under its id (its empty-room countdown starts). */
  register(room: Room): void
  /** The room with this id or a name that slugs to it; throws `room_not_found`. */
  find(id: RoomId): Room
  /** Makes `session` a member of `room` (the others hear `user_joined`); not yet subscribed. */
  add(room: Room, session: Session, username: string, key: string, moderator: boolean): Member
  /** Makes `session` another holder of `member`'s membership; not yet subscribed. */
  hold(member: Member, session: Session): Member
  /** The holder `member` lets go of a membership that others still hold. */
  release(member: Member): void
  /**
   * The holder `member`, whose connection closed, is away until `until` (the others hear
   * `presence` offline if no holder is online; its session's grace ends then).
   */
  away(member: Member, until: number): void
  /** The newcomer starts getting the room's broadcasts. */
  admitted(member: Member): void
  /** Takes a member out of its room (typing ends, unsubscribed, the others hear `user_left`). */
  drop(member: Member): void
  /** Tells a banned or kicked member, now or on resume if they are away. */
  tell(member: Member, how: 'banned' | 'kicked', by: string): void
  stopTyping(member: Member): void
  /** Deletes the room: every member out, told `room_deleted`; its countdown and batches stop. */
  delete(room: Room): void
}

export class MemoryEngine implements RoomEngine {
  constructor(
    private readonly host: MemoryEngineHost,
    private readonly sink: RoomSink,
    private readonly hasher: PasswordHasher,
    readonly logger: Logger,
    private readonly historyLimit: number,
    private readonly clock: Clock,
    readonly events: ChatEvents = noEvents,
  ) {}

  post(roomId: RoomId, message: Post): PostOutcome {
    const room = this.host.room(roomId)
    if (!room || !heldBy(room.members.get(message.key), message.session)) return 'not_member'
    const mutedUntil = room.mutes.get(message.key)
    if (mutedUntil !== undefined) {
      if (mutedUntil > message.now) return 'muted'
      room.mutes.delete(message.key)
    }
    const { username, content, userId, replyTo } = message
    if (replyTo !== undefined && !room.history.keeps(replyTo)) return 'no_reply'
    const stored = room.append('text', username, content, message.now, userId, replyTo)
    const frame: ServerFrame = {
      type: 'message',
      room: room.id,
      id: stored.id,
      sender: username,
      content,
      ts: stored.timestamp,
    }
    if (replyTo !== undefined) frame.reply_to = replyTo
    this.sink.publish(room.id, withUserId(frame, userId))
    return { posted: stored.id }
  }

  message(roomId: RoomId, id: MessageId): MessageRecord | undefined {
    const room = this.host.room(roomId)
    return room && messageRecord(room, id)
  }

  amend(roomId: RoomId, a: Amendment): AmendOutcome {
    const room = this.host.room(roomId)
    if (!room || !heldBy(room.members.get(a.key), a.session)) return 'not_member'
    const out = changeMessage(room, a)
    if (typeof out === 'string') return out
    this.sink.publish(room.id, out.frame)
    return { seq: Number(out.frame.event_id), count: out.count }
  }

  page(roomId: RoomId, before: string | undefined, limit: number | undefined): Page {
    return historyPage(this.host.find(roomId), before, limit, this.historyLimit)
  }

  room(id: RoomId): Room {
    return this.host.find(id)
  }

  checkToken(room: RoomInfo, token: string): boolean {
    return (room as Room).checkToken(token)
  }

  checkPassword(
    room: RoomInfo,
    password: string,
    buckets: TokenBucket[],
    address: string,
  ): Promise<boolean> {
    return verifyPassword(this.hasher, room as Room, password, buckets, this.logger, address)
  }

  admission(roomId: RoomId, key: string, identity: unknown): Admission {
    const room = this.host.find(roomId)
    return {
      banned: identityBanned(room, key, identity, this.clock.now()),
      taken: room.members.has(key),
      count: room.members.size,
    }
  }

  creatable(id: RoomId, maxRooms: number): Creatable {
    if (this.host.room(id)) return 'exists'
    return this.host.count() >= maxRooms ? 'limit' : 'ok'
  }

  createRoom(init: NewRoom, maxRooms: number): Creatable {
    const outcome = this.creatable(init.id, maxRooms)
    if (outcome !== 'ok') return outcome
    const room = new Room(
      {
        id: init.id,
        name: init.name,
        isPrivate: init.isPrivate,
        maxUsers: init.maxUsers,
        signedIn: init.signedIn,
        createdBy: init.createdBy,
        passwordHash: init.passwordHash,
        moderatorToken: init.token,
        permanent: false,
        createdAt: init.createdAt,
      },
      this.historyLimit,
      this.clock,
    )
    this.host.register(room)
    return 'ok'
  }

  rooms(): RoomInfo[] {
    return [...this.host.all()]
  }

  views(ids: RoomId[]): RoomView[] {
    const out: RoomView[] = []
    for (const id of ids) {
      const room = this.host.room(id)
      if (room) out.push(room.view())
    }
    return out
  }

  users(roomId: RoomId): UserView[] {
    return this.host.find(roomId).users()
  }

  bans(roomId: RoomId): Ban[] {
    const now = this.clock.now()
    return [...this.host.find(roomId).bans.values()].filter((ban) => inForce(ban, now))
  }

  snapshot(roomId: RoomId): RoomSnapshot {
    const room = this.host.find(roomId)
    return { users: room.usersJson(), history: room.historyJson(), read: roomReadMarks(room) }
  }

  member(roomId: RoomId, key: string): MemberRecord | undefined {
    const m = this.host.room(roomId)?.members.get(key)
    if (!m) return undefined
    const onlineHolders = holders(m).filter((h) => h.client.peer !== undefined).length
    return {
      username: m.username,
      moderator: m.moderator,
      online: onlineHolders > 0,
      session: m.client,
      identity: banIdentity(m.client, m.client),
      userId: m.client.user?.id,
      holders: holderCount(m),
      onlineHolders,
      joinSeq: m.joinSeq,
    }
  }

  connections(roomId: RoomId): Map<string, number> {
    const out = new Map<string, number>()
    for (const [key, m] of this.host.find(roomId).members) {
      const online = holders(m).filter((h) => h.client.peer !== undefined).length
      if (online > 0) out.set(key, online)
    }
    return out
  }

  change(roomId: RoomId, change: Change): Outcome {
    const room = this.host.room(roomId)
    for (const guard of change.guards) {
      if (!room || !holds(room, guard, change.now)) return { failed: guard.fail }
    }
    if (!room) return { seq: 0 }
    let joined: Member | undefined
    for (const w of change.writes) {
      switch (w.op) {
        case 'putMember':
          joined = this.host.add(room, w.session as Session, w.username, w.key, w.moderator)
          break
        case 'hold': {
          const member = room.members.get(w.key)
          if (member) joined = this.host.hold(member, w.session as Session)
          break
        }
        case 'release': {
          const held = holderOf(room.members.get(w.key), w.session)
          if (held) this.host.release(held)
          break
        }
        case 'away': {
          const held = holderOf(room.members.get(w.key), w.session)
          if (held) this.host.away(held, w.until)
          break
        }
        case 'ban':
          room.bans.set(w.key, banOf(w))
          break
        case 'banSession':
          room.bannedClients.set(w.identity, w.key)
          break
        case 'unban':
          room.bans.delete(w.key)
          for (const [banned, key] of room.bannedClients)
            if (key === w.key) room.bannedClients.delete(banned)
          break
        case 'mute':
          room.mutes.set(w.key, w.until)
          break
        case 'unmute':
          room.mutes.delete(w.key)
          break
        case 'dropMember': {
          const member = room.members.get(w.key)
          if (!member) break
          const target = change.target
          if (target?.key === w.key && (target.how === 'banned' || target.how === 'kicked'))
            this.host.tell(member, target.how, target.by)
          this.host.drop(member)
          break
        }
        case 'deleteRoom':
          this.host.delete(room)
          break
      }
    }
    if (change.target) this.actOn(room, change.target)
    let seq = 0
    for (const note of change.notes) {
      if (typeof note !== 'string') {
        const stored = room.append('text', note.sender, note.content, change.now, note.userId)
        seq = Number(stored.id)
        const frame: ServerFrame = {
          type: 'message',
          room: room.id,
          id: stored.id,
          sender: note.sender,
          content: note.content,
          ts: stored.timestamp,
        }
        this.sink.publish(room.id, withUserId(frame, note.userId))
        continue
      }
      const stored = room.append('system', 'system', note, change.now)
      seq = Number(stored.id)
      if (!change.quiet)
        this.sink.publish(room.id, {
          type: 'system',
          room: room.id,
          id: stored.id,
          content: note,
          ts: stored.timestamp,
        })
    }
    if (joined) {
      this.host.admitted(joined)
      change.greet?.({
        users: room.usersJson(),
        history: room.historyJson(),
        read: roomReadMarks(room),
      })
    }
    return { seq }
  }

  forget(roomId: RoomId, key: string, session: unknown): void {
    const member = this.host.room(roomId)?.members.get(key)
    const held = holderOf(member, session)
    if (!member || !held) return
    if (holderCount(member) > 1) this.host.release(held)
    else this.host.drop(member)
  }

  /** A mute stops the member's typing at once (its messages are refused by the mute itself). */
  private actOn(room: Room, target: Target): void {
    const member = room.members.get(target.key)
    if (member && target.how === 'muted')
      for (const held of holders(member)) this.host.stopTyping(held)
  }
}
