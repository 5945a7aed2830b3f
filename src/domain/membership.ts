import { ChatError } from '../protocol/errors.ts'
import {
  type CreateFrame,
  type JoinFrame,
  joinedJson,
  type Ref,
  type RoomId,
} from '../protocol/frames.ts'
import type { Announcer } from './announcer.ts'
import type { Clock } from './clock.ts'
import type { EmptyRooms } from './empty-rooms.ts'
import type { Guard } from './guard.ts'
import { normalizeName, userKey } from './names.ts'
import { NOTES } from './notes.ts'
import type { Logger, PasswordHasher } from './ports.ts'
import type { Member, Room } from './room.ts'
import { verifyPassword } from './room-views.ts'
import type { Connection, Session } from './session.ts'
import type { Sessions } from './sessions.ts'

/** What membership needs of the rest of the store; RoomStore provides it. */
export interface MembershipHost {
  /** The room with this id or name; throws `room_not_found`. */
  room(id: RoomId): Room
  /** Whether `room` is still the room filed under its id (it may be deleted meanwhile). */
  isCurrent(room: Room): boolean
  /** Creates a room and charges `address` one creation; see RoomStore.createRoom. */
  createRoom(input: CreateFrame, address: string): Promise<{ room: Room; token: string }>
}

/**
 * Who is in which room: `join` and `create` admit a client (bans, moderator token,
 * password, size, name), members leave or are evicted, and both indexes (room → members,
 * session → rooms) change together here. Rooms themselves are RoomStore's business.
 */
export class Membership {
  constructor(
    private readonly host: MembershipHost,
    private readonly clock: Clock,
    private readonly hasher: PasswordHasher,
    private readonly guard: Guard,
    private readonly logger: Logger,
    private readonly announce: Announcer,
    private readonly sessions: Sessions,
    private readonly emptyRooms: EmptyRooms,
  ) {}

  /** `join`: admits the client under `username`, checking bans, token, password, size and name. */
  async join(conn: Connection, frame: JoinFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const room = this.host.room(frame.room)
    const username = normalizeName(frame.username, 'username')
    const key = userKey(username)
    if (this.rejoined(client, room, key, frame.ref)) return
    this.checkBan(room, client, key)
    let moderator = false
    if (frame.token !== undefined) {
      if (!room.checkToken(frame.token))
        throw new ChatError('not_authorized', 'Wrong moderator token')
      moderator = true
    } else if (room.isPrivate) {
      if (frame.password === undefined)
        throw new ChatError('not_authorized', 'This room needs a password')
      this.checkAdmission(room, key)
      const ok = await verifyPassword(
        this.hasher,
        room,
        frame.password,
        [client.passwordAttempts, this.guard.passwordBucket(client.address)],
        this.logger,
        client.address,
      )
      if (!ok) throw new ChatError('not_authorized', 'Wrong password')
      // The world moved on while we verified: check everything again.
      if (conn.client !== client || client.peer !== conn.peer) return
      if (!this.host.isCurrent(room)) throw new ChatError('room_not_found')
      if (this.rejoined(client, room, key, frame.ref)) return
      this.checkBan(room, client, key)
    }
    this.checkAdmission(room, key)
    this.addMember(client, room, username, moderator, frame.ref)
  }

  /** A join of a room the client is already in: same name answers `joined` again. */
  private rejoined(client: Session, room: Room, key: string, ref: Ref | undefined): boolean {
    const member = client.rooms.get(room.id)
    if (!member) return false
    if (member.key !== key) {
      throw new ChatError('invalid_message', `Already in this room as "${member.username}"`)
    }
    this.sendJoined(member, ref)
    return true
  }

  private checkBan(room: Room, client: Session, key: string): void {
    if (room.bans.has(key) || room.bannedClients.has(client)) {
      throw new ChatError('not_authorized', 'You are banned from this room')
    }
  }

  private checkAdmission(room: Room, key: string): void {
    if (room.members.has(key)) throw new ChatError('username_taken')
    if (room.members.size >= room.maxUsers) throw new ChatError('room_full')
  }

  /** `create`: creates a room and joins its creator as moderator. */
  async create(conn: Connection, frame: CreateFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const username = normalizeName(frame.username, 'username')
    const { room, token } = await this.host.createRoom(frame, client.address)
    if (conn.client !== client || client.peer !== conn.peer) return
    this.addMember(client, room, username, true, frame.ref, token)
  }

  private addMember(
    client: Session,
    room: Room,
    username: string,
    moderator: boolean,
    ref: Ref | undefined,
    token?: string,
  ): void {
    const member: Member = {
      client,
      room,
      username,
      key: userKey(username),
      moderator,
      typing: false,
      typingTimer: undefined,
      lastTypingBroadcastAt: Number.NEGATIVE_INFINITY,
    }
    this.emptyRooms.cancel(room)
    // Announce before subscribing, so the newcomer is not told about themselves.
    room.addMember(member)
    this.announce.joined(member)
    client.rooms.set(room.id, member)
    client.removedWhileAway?.delete(room.id)
    room.append('system', 'system', NOTES.joined(username), this.clock.now())
    client.peer?.subscribe(room.id)
    this.sessions.clearTimer(client, 'unjoinedTimer')
    this.sendJoined(member, ref, token)
  }

  /** Sends `joined`, built around the room's cached user list and history JSON. */
  private sendJoined(member: Member, ref: Ref | undefined, token?: string): void {
    const room = member.room
    member.client.peer?.sendJson(
      joinedJson(
        room.id,
        member.username,
        member.moderator,
        room.usersJson(),
        room.historyJson(),
        ref,
        token,
      ),
    )
  }

  /** Removes a member from its room and stores `note` (a leave, or the end of their grace). */
  removeMember(member: Member, note: string): void {
    this.drop(member)
    member.room.append('system', 'system', note, this.clock.now())
  }

  /**
   * Takes a member out of its room: stops their typing, unsubscribes them and tells the
   * others (`user_left`); an emptied room starts its countdown.
   */
  drop(member: Member): void {
    const { room, client } = member
    this.announce.stopTyping(member)
    client.peer?.unsubscribe(room.id)
    room.removeMember(member)
    client.rooms.delete(room.id)
    this.announce.left(member)
    this.emptyRooms.schedule(room)
    if (client.rooms.size === 0 && client.peer) this.sessions.watchUnjoined(client)
  }

  /** The member of `roomId` that this client is, or `room_not_found` / `not_authorized`. */
  memberOf(client: Session, roomId: RoomId): Member {
    const member = client.rooms.get(roomId)
    if (member) return member
    // Like join, accept the room's name as well as its id.
    const room = this.host.room(roomId)
    const byName = client.rooms.get(room.id)
    if (byName) return byName
    throw new ChatError('not_authorized', 'You have not joined this room')
  }

  /** Tells a banned or kicked member why they are out: now, or on resume if they are away. */
  tell(target: Member, how: 'banned' | 'kicked', by: string): void {
    const roomId = target.room.id
    if (target.client.peer) target.client.peer.send({ type: how, room: roomId, by })
    else {
      target.client.removedWhileAway ??= new Map()
      target.client.removedWhileAway.set(roomId, how)
    }
  }
}
