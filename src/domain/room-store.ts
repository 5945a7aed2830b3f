import { randomBytes } from 'node:crypto'
import type { Config } from '../config.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  type CreateFrame,
  type HistoryFrame,
  type JoinFrame,
  joinedJson,
  type MessageFrame,
  type ModerationFrame,
  type MuteFrame,
  type Ref,
  type ResumeFrame,
  type RoomId,
  type ServerFrame,
  type StoredMessage,
  type UserView,
} from '../protocol/frames.ts'
import { Announcer } from './announcer.ts'
import { Client, Connection } from './client.ts'
import type { Clock } from './clock.ts'
import { Guard } from './guard.ts'
import { parseId } from './history.ts'
import { applyModeration, type ModerationEffects } from './moderation.ts'
import { normalizeName, slugify, userKey } from './names.ts'
import {
  type Logger,
  type Metrics,
  noMetrics,
  type PasswordHasher,
  type Peer,
  type RoomSink,
} from './ports.ts'
import { type Member, Room, type RoomView } from './room.ts'
import type { TokenBucket } from './token-bucket.ts'

export interface RoomStoreDeps {
  clock: Clock
  sink: RoomSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: Metrics
}

export interface CreateRoomInput {
  name: string
  max_users?: number
  is_private?: boolean
  password?: string
}

/** Credentials that open a private room's REST views. */
export interface RoomCredentials {
  password?: string
  token?: string
}

const MAX_PASSWORD_CHARS = 128
/** Content with nothing visible: whitespace and zero-width characters only. */
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}]*$/u
const HISTORY_PAGE_DEFAULT = 50
const ROOM_PAGE_DEFAULT = 50
const ROOM_PAGE_MAX = 200

/** WebSocket close codes the store uses; see docs/protocol.md. */
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  unjoined: 4000,
  replaced: 4001,
} as const

function randomToken(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * Owns every room and session: members, history, bans, mutes, limits and the timers
 * that expire typing, resume grace and empty rooms. Transports call its methods and
 * render the ChatErrors it throws; everything it has to say goes out through a Peer
 * (to one connection) or the RoomSink (to a room).
 */
export class RoomStore {
  private readonly rooms = new Map<RoomId, Room>()
  private readonly sessions = new Map<string, Client>()
  private readonly connections = new Set<Connection>()
  private readonly clock: Clock
  private readonly sink: RoomSink
  private readonly hasher: PasswordHasher
  private readonly logger: Logger
  private readonly metrics: Metrics
  readonly guard: Guard
  private readonly announce: Announcer
  private readonly moderation: ModerationEffects
  private draining = false
  readonly startedAt: number

  constructor(
    private readonly config: Config,
    deps: RoomStoreDeps,
  ) {
    this.clock = deps.clock
    this.sink = deps.sink
    this.hasher = deps.hasher
    this.logger = deps.logger
    this.metrics = deps.metrics ?? noMetrics
    this.guard = new Guard(deps.clock, config)
    this.announce = new Announcer(config, deps.clock, deps.sink)
    this.moderation = {
      now: () => this.clock.now(),
      evict: (target, how, by, note) => this.evict(target, how, by, note),
      note: (room, text) => this.systemNote(room, text),
      stopTyping: (member) => this.announce.stopTyping(member),
    }
    this.startedAt = deps.clock.now()
    for (const raw of config.defaultRooms) {
      const name = normalizeName(raw, 'room name')
      const id = slugify(name)
      if (!id || this.rooms.has(id)) continue
      this.rooms.set(
        id,
        new Room(
          {
            id,
            name,
            isPrivate: false,
            maxUsers: config.defaultMaxUsers,
            passwordHash: undefined,
            moderatorToken: randomToken(),
            permanent: true,
          },
          config.historyLimit,
          this.clock,
        ),
      )
    }
  }

  // ── Connections ──────────────────────────────────────────────────────────────

  /** Throws when a new WebSocket from `address` must be refused (draining, per-address cap). */
  checkUpgrade(address: string): void {
    if (this.draining) throw new ChatError('shutting_down')
    this.guard.checkConnection(address)
  }

  /** Registers a new connection and sends it `welcome`. */
  connect(peer: Peer): Connection {
    const client = new Client(peer, randomToken(), this.clock, this.config)
    const conn = new Connection(peer, client)
    this.connections.add(conn)
    this.sessions.set(client.session, client)
    if (!this.guard.connectionOpened(peer.address)) {
      peer.close(CLOSE.policy, 'Too many connections from your address')
      return conn
    }
    peer.send({
      type: 'welcome',
      session: client.session,
      resume_within_ms: this.config.resumeGraceMs,
    })
    this.watchUnjoined(client)
    return conn
  }

  /** The connection closed. Its user goes offline and keeps their rooms for the resume grace. */
  disconnect(conn: Connection): void {
    this.connections.delete(conn)
    this.guard.connectionClosed(conn.peer.address)
    const client = conn.client
    conn.client = undefined
    if (!client || client.peer !== conn.peer) return
    client.peer = undefined
    this.clearTimer(client, 'unjoinedTimer')
    if (this.draining || client.rooms.size === 0) {
      this.forget(client)
      return
    }
    // Without a grace there is nothing to resume: the user leaves at once.
    if (this.config.resumeGraceMs === 0) {
      this.expire(client)
      return
    }
    for (const member of client.rooms.values()) {
      member.room.statusChanged()
      this.announce.stopTyping(member)
      this.announce.presence(member)
    }
    client.graceTimer = this.clock.setTimeout(() => this.expire(client), this.config.resumeGraceMs)
  }

  /** The grace ran out: the user leaves each room for good. */
  private expire(client: Client): void {
    client.graceTimer = undefined
    for (const member of [...client.rooms.values()])
      this.removeMember(member, `${member.username} left`)
    this.forget(client)
  }

  private forget(client: Client): void {
    this.clearTimer(client, 'graceTimer')
    this.clearTimer(client, 'unjoinedTimer')
    for (const member of client.rooms.values()) this.announce.clearTyping(member)
    this.sessions.delete(client.session)
  }

  private clearTimer(client: Client, key: 'graceTimer' | 'unjoinedTimer'): void {
    if (client[key] !== undefined) this.clock.clearTimeout(client[key])
    client[key] = undefined
  }

  /** A connection in no room is closed after `unjoinedTimeoutMs`, so idle sockets do not pile up. */
  private watchUnjoined(client: Client): void {
    this.clearTimer(client, 'unjoinedTimer')
    client.unjoinedTimer = this.clock.setTimeout(() => {
      client.unjoinedTimer = undefined
      if (client.rooms.size === 0) client.peer?.close(CLOSE.unjoined, 'No room joined in time')
    }, this.config.unjoinedTimeoutMs)
  }

  /** The live session of a connection; `not_authorized` once it was closed or taken over. */
  private clientOf(conn: Connection): Client {
    const client = conn.client
    if (!client || client.peer !== conn.peer)
      throw new ChatError('not_authorized', 'Connection closed')
    return client
  }

  /**
   * Counts a frame against `bucket`; past it, throws `rate_limited`, and closes a
   * connection that keeps flooding with 1008.
   */
  private limit(client: Client, bucket: TokenBucket, silent = false): boolean {
    if (bucket.take()) return true
    if (!client.patience.take()) {
      this.logger.warn('closing flooding connection', { address: client.address })
      client.peer?.close(CLOSE.policy, 'Flooding: too many refused frames')
    }
    if (silent) return false
    throw new ChatError('rate_limited', undefined, bucket.retryAfterS())
  }

  /** Rate-limits a frame that is not a chat message or typing frame. */
  countFrame(conn: Connection): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
  }

  /** Charges a malformed frame to the connection's frame budget, without an error of its own. */
  penalize(conn: Connection): void {
    const client = conn.client
    if (client && client.peer === conn.peer) this.limit(client, client.frames, true)
  }

  // ── Rooms ────────────────────────────────────────────────────────────────────

  /** Creates a room; `address` is charged one creation. Returns the room and its moderator token. */
  async createRoom(
    input: CreateRoomInput,
    address: string,
  ): Promise<{ room: Room; token: string }> {
    if (this.draining) throw new ChatError('shutting_down')
    const name = normalizeName(input.name, 'room name')
    const id = slugify(name)
    if (!id) throw new ChatError('invalid_message', 'The room name needs a letter or digit')
    const maxUsers = input.max_users ?? this.config.defaultMaxUsers
    if (!Number.isInteger(maxUsers) || maxUsers < 1 || maxUsers > this.config.maxUsersLimit) {
      throw new ChatError(
        'invalid_message',
        `max_users must be from 1 to ${this.config.maxUsersLimit}`,
      )
    }
    const isPrivate = input.is_private ?? input.password !== undefined
    if (isPrivate && (input.password === undefined || input.password.length === 0)) {
      throw new ChatError('invalid_message', 'A private room needs a password')
    }
    if (!isPrivate && input.password !== undefined) {
      throw new ChatError('invalid_message', 'Only a private room takes a password')
    }
    if (input.password !== undefined && input.password.length > MAX_PASSWORD_CHARS) {
      throw new ChatError(
        'invalid_message',
        `The password is longer than ${MAX_PASSWORD_CHARS} characters`,
      )
    }
    this.guard.takeRoomCreation(address)
    this.checkCreatable(id)
    const passwordHash =
      input.password !== undefined ? await this.hasher.hash(input.password) : undefined
    this.checkCreatable(id) // again: another create may have won while we hashed
    const token = randomToken()
    const room = new Room(
      { id, name, isPrivate, maxUsers, passwordHash, moderatorToken: token, permanent: false },
      this.config.historyLimit,
      this.clock,
    )
    this.rooms.set(id, room)
    this.scheduleEmptyRoom(room)
    this.logger.info('room created', { room: id, private: isPrivate })
    return { room, token }
  }

  private checkCreatable(id: RoomId): void {
    if (this.draining) throw new ChatError('shutting_down')
    if (this.rooms.has(id))
      throw new ChatError('room_exists', `A room with id "${id}" already exists`)
    if (this.rooms.size >= this.config.maxRooms) throw new ChatError('room_limit_reached')
  }

  /** The room with this id; also accepts a name that slugs to the id. Throws `room_not_found`. */
  room(id: RoomId): Room {
    const room = this.rooms.get(id) ?? this.rooms.get(slugify(id))
    if (!room) throw new ChatError('room_not_found', `No room with id "${id}"`)
    return room
  }

  /** Public rooms, sorted by id, filtered by a name substring, one page after `cursor`. */
  listRooms(
    q: string | undefined,
    limit = ROOM_PAGE_DEFAULT,
    cursor?: string,
  ): { rooms: RoomView[]; next_cursor: string | null } {
    const needle = q?.normalize('NFC').toLowerCase()
    const size = Math.min(Math.max(1, limit), ROOM_PAGE_MAX)
    const matching: Room[] = []
    for (const room of this.rooms.values()) {
      if (room.isPrivate) continue
      if (cursor !== undefined && room.id <= cursor) continue
      if (needle && !room.name.toLowerCase().includes(needle)) continue
      matching.push(room)
    }
    matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const page = matching.slice(0, size)
    const last = page[page.length - 1]
    return {
      rooms: page.map((r) => r.view()),
      next_cursor: matching.length > size && last ? last.id : null,
    }
  }

  /** A room's REST view; the user list only for public rooms. */
  roomDetails(id: RoomId): RoomView & { users?: UserView[] } {
    const room = this.room(id)
    return room.isPrivate ? room.view() : { ...room.view(), users: room.users() }
  }

  /** A page of a room's history for REST; private rooms need the password or the moderator token. */
  async messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const room = this.room(id)
    if (room.isPrivate) await this.authorize(room, credentials, address)
    return this.page(room, before, limit)
  }

  /** The bans of a room; only with its moderator token. */
  bansOf(
    id: RoomId,
    token: string | undefined,
  ): { bans: { username: string; by: string; at: number }[] } {
    const room = this.room(id)
    if (token === undefined)
      throw new ChatError('not_authorized', 'The room moderator token is required', undefined, 401)
    if (!room.checkToken(token)) throw new ChatError('not_authorized', 'Wrong moderator token')
    return { bans: [...room.bans.values()] }
  }

  private async authorize(
    room: Room,
    credentials: RoomCredentials,
    address: string,
  ): Promise<void> {
    if (credentials.token !== undefined && room.checkToken(credentials.token)) return
    if (credentials.password === undefined) {
      throw new ChatError(
        'not_authorized',
        'This room needs a password or the moderator token',
        undefined,
        401,
      )
    }
    if (
      !(await this.verifyPassword(room, credentials.password, address, [
        this.guard.passwordBucket(address),
      ]))
    ) {
      throw new ChatError('not_authorized', 'Wrong password')
    }
  }

  /**
   * Verifies a room password. Each attempt first takes a token from the room's, the
   * address's and the session's bucket, before any hash is checked: one argon2id verify
   * costs ~100 ms of CPU, so wrong passwords must be throttled before they cost that.
   * A right password gives the tokens back.
   */
  private async verifyPassword(
    room: Room,
    password: string,
    address: string,
    buckets: TokenBucket[],
  ): Promise<boolean> {
    const all = [room.passwordAttempts, ...buckets]
    if (!all.every((b) => b.peek())) {
      this.logger.warn('password attempts throttled', { address, room: room.id })
      throw new ChatError('rate_limited', 'Too many password attempts, wait a little', 5)
    }
    for (const b of all) b.take()
    const ok =
      room.passwordHash !== undefined && (await this.hasher.verify(password, room.passwordHash))
    if (ok) for (const b of all) b.refund()
    return ok
  }

  private page(
    room: Room,
    before: string | undefined,
    limit = HISTORY_PAGE_DEFAULT,
  ): { messages: StoredMessage[]; has_more: boolean } {
    let beforeSeq = Number.MAX_SAFE_INTEGER
    if (before !== undefined && before !== '') {
      const seq = parseId(before)
      if (seq === undefined) throw new ChatError('invalid_message', '"before" must be a message id')
      beforeSeq = seq
    }
    const size = Math.min(Math.max(1, Math.floor(limit)), this.config.historyLimit)
    const { messages, hasMore } = room.history.page(beforeSeq, size)
    return { messages, has_more: hasMore }
  }

  private scheduleEmptyRoom(room: Room): void {
    if (room.permanent || room.members.size > 0 || room.emptyTimer !== undefined) return
    room.emptyTimer = this.clock.setTimeout(() => {
      room.emptyTimer = undefined
      if (room.members.size === 0 && this.rooms.get(room.id) === room) {
        this.announce.clearBatch(room)
        this.rooms.delete(room.id)
        this.logger.info('empty room deleted', { room: room.id })
      }
    }, this.config.roomEmptyTtlMs)
  }

  private cancelEmptyRoom(room: Room): void {
    if (room.emptyTimer !== undefined) this.clock.clearTimeout(room.emptyTimer)
    room.emptyTimer = undefined
  }

  // ── Frames ───────────────────────────────────────────────────────────────────

  /** `join`: admits the client under `username`, checking bans, token, password, size and name. */
  async join(conn: Connection, frame: JoinFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const room = this.room(frame.room)
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
      const ok = await this.verifyPassword(room, frame.password, client.address, [
        client.passwordAttempts,
        this.guard.passwordBucket(client.address),
      ])
      if (!ok) throw new ChatError('not_authorized', 'Wrong password')
      // The world moved on while we verified: check everything again.
      if (conn.client !== client || client.peer !== conn.peer) return
      if (this.rooms.get(room.id) !== room) throw new ChatError('room_not_found')
      if (this.rejoined(client, room, key, frame.ref)) return
      this.checkBan(room, client, key)
    }
    this.checkAdmission(room, key)
    this.addMember(client, room, username, moderator, frame.ref)
  }

  /** A join of a room the client is already in: same name answers `joined` again. */
  private rejoined(client: Client, room: Room, key: string, ref: Ref | undefined): boolean {
    const member = client.rooms.get(room.id)
    if (!member) return false
    if (member.key !== key) {
      throw new ChatError('invalid_message', `Already in this room as "${member.username}"`)
    }
    this.sendJoined(member, ref)
    return true
  }

  private checkBan(room: Room, client: Client, key: string): void {
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
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const username = normalizeName(frame.username, 'username')
    const { room, token } = await this.createRoom(frame, client.address)
    if (conn.client !== client || client.peer !== conn.peer) return
    this.addMember(client, room, username, true, frame.ref, token)
  }

  private addMember(
    client: Client,
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
    this.cancelEmptyRoom(room)
    // Announce before subscribing, so the newcomer is not told about themselves.
    room.addMember(member)
    this.announce.joined(member)
    client.rooms.set(room.id, member)
    client.removedWhileAway?.delete(room.id)
    room.append('system', 'system', `${username} joined`, this.clock.now())
    client.peer?.subscribe(room.id)
    this.clearTimer(client, 'unjoinedTimer')
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

  /**
   * Removes a member from its room: stops their typing, unsubscribes them, tells the
   * others (`user_left`) and stores `note` as a system message. With `broadcast`, the
   * note also goes out live as a `system` frame (moderation acts).
   */
  private removeMember(member: Member, note: string, broadcast = false): void {
    const { room, client } = member
    this.announce.stopTyping(member)
    client.peer?.unsubscribe(room.id)
    room.removeMember(member)
    client.rooms.delete(room.id)
    this.announce.left(member)
    if (broadcast) this.systemNote(room, note)
    else room.append('system', 'system', note, this.clock.now())
    this.scheduleEmptyRoom(room)
    if (client.rooms.size === 0 && client.peer) this.watchUnjoined(client)
  }

  /** The member of `roomId` that this client is, or `room_not_found` / `not_authorized`. */
  private memberOf(client: Client, roomId: RoomId): Member {
    const member = client.rooms.get(roomId)
    if (member) return member
    // Like join, accept the room's name as well as its id.
    const room = this.room(roomId)
    const byName = client.rooms.get(room.id)
    if (byName) return byName
    throw new ChatError('not_authorized', 'You have not joined this room')
  }

  /** `message`: stores the message and sends it to every member, the sender included. */
  message(conn: Connection, frame: MessageFrame): void {
    const client = this.clientOf(conn)
    // Count before the membership check, or messages to a room one is not in would flood freely.
    this.limit(client, client.messages)
    const member = this.memberOf(client, frame.room)
    const room = member.room
    const mutedUntil = room.mutes.get(member.key)
    if (mutedUntil !== undefined) {
      if (mutedUntil > this.clock.now())
        throw new ChatError('not_authorized', 'You are muted in this room')
      room.mutes.delete(member.key)
    }
    const content = frame.content
    if (BLANK.test(content)) throw new ChatError('invalid_message', 'The message is empty')
    if (
      content.length > this.config.maxContentChars &&
      [...content].length > this.config.maxContentChars
    ) {
      throw new ChatError(
        'invalid_message',
        `The message is longer than ${this.config.maxContentChars} characters`,
      )
    }
    this.announce.stopTyping(member)
    const stored = room.append('text', member.username, content, this.clock.now())
    this.sink.publish(room.id, {
      type: 'message',
      room: room.id,
      id: stored.id,
      sender: member.username,
      content,
      ts: stored.timestamp,
    })
  }

  /** `typing`: shows the member as typing to the others; throttled, never answered with an error. */
  typing(conn: Connection, roomId: RoomId): void {
    const client = this.clientOf(conn)
    if (!this.limit(client, client.frames, true)) return
    const member = this.memberOf(client, roomId)
    const mutedUntil = member.room.mutes.get(member.key)
    if (mutedUntil !== undefined && mutedUntil > this.clock.now()) return
    this.announce.typing(member)
  }

  /** `leave`: the member leaves the room and gets `left`. */
  leave(conn: Connection, roomId: RoomId, ref: Ref | undefined): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const member = this.memberOf(client, roomId)
    this.removeMember(member, `${member.username} left`)
    const left: ServerFrame = { type: 'left', room: member.room.id }
    if (ref !== undefined) left.ref = ref
    client.peer?.send(left)
  }

  /** `history`: a page of a room's messages, for its members or for anyone in a public room. */
  history(conn: Connection, frame: HistoryFrame): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const room = this.room(frame.room)
    if (room.isPrivate && !client.rooms.has(room.id))
      throw new ChatError('not_authorized', 'You have not joined this room')
    const { messages, has_more } = this.page(room, frame.before, frame.limit)
    const reply: ServerFrame = { type: 'history', room: room.id, messages, has_more }
    if (frame.ref !== undefined) reply.ref = frame.ref
    client.peer?.send(reply)
  }

  // ── Moderation ───────────────────────────────────────────────────────────────

  /** `ban`, `kick`, `unban`, `mute`, `unmute` from a moderator of the room. */
  moderate(conn: Connection, frame: ModerationFrame | MuteFrame): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const mod = this.memberOf(client, frame.room)
    if (!mod.moderator) throw new ChatError('not_authorized', 'Only a moderator may do that')
    applyModeration(this.moderation, mod, frame)
    const ack: ServerFrame = { type: 'moderated', room: mod.room.id, action: frame.action }
    if (frame.ref !== undefined) ack.ref = frame.ref
    client.peer?.send(ack)
  }

  /** Removes a banned or kicked member, telling them first (or on resume if they are away). */
  private evict(target: Member, how: 'banned' | 'kicked', by: string, note: string): void {
    const roomId = target.room.id
    if (target.client.peer) target.client.peer.send({ type: how, room: roomId, by })
    else {
      target.client.removedWhileAway ??= new Map()
      target.client.removedWhileAway.set(roomId, how)
    }
    this.removeMember(target, note, true)
  }

  /** Stores a system message and sends it to the whole room. */
  private systemNote(room: Room, note: string): void {
    const stored = room.append('system', 'system', note, this.clock.now())
    this.sink.publish(room.id, {
      type: 'system',
      room: room.id,
      id: stored.id,
      content: note,
      ts: stored.timestamp,
    })
  }

  // ── Resume ───────────────────────────────────────────────────────────────────

  /**
   * `resume`: this connection takes over the session named by the token (its own fresh
   * session is dropped). For each room the client gets `resumed`, then every message
   * after its `last_ids` entry, in order, before anything new; `recovered: false` where
   * some fell out of the kept history. The token is spent: next time the client uses the
   * session of this connection's `welcome`.
   */
  resume(conn: Connection, frame: ResumeFrame): void {
    const fresh = this.clientOf(conn)
    this.limit(fresh, fresh.frames)
    if (conn.resumed || fresh.rooms.size > 0) {
      throw new ChatError(
        'invalid_message',
        'Resume must come before any join, once per connection',
      )
    }
    const old = this.sessions.get(frame.session)
    if (!old || old === fresh) throw new ChatError('not_authorized', 'Unknown or expired session')
    conn.resumed = true
    // A session whose old connection still looks open (a half-dead socket) is taken over.
    const takeover = old.peer !== undefined
    if (old.peer) {
      for (const member of old.rooms.values()) this.announce.stopTyping(member)
      const previous = old.peer
      old.peer = undefined
      for (const c of this.connections) if (c.client === old) c.client = undefined
      previous.close(CLOSE.replaced, 'Session resumed on another connection')
    }
    this.clearTimer(old, 'graceTimer')
    this.sessions.delete(old.session)
    this.forget(fresh)
    old.session = fresh.session
    this.sessions.set(old.session, old)
    old.peer = conn.peer
    conn.client = old
    for (const [roomId, how] of old.removedWhileAway ?? []) {
      const message =
        how === 'banned'
          ? 'You were banned from this room'
          : how === 'kicked'
            ? 'You were kicked from this room'
            : 'The room was deleted'
      const err: ServerFrame = {
        type: 'error',
        code: how === 'deleted' ? 'room_not_found' : 'not_authorized',
        message,
        room: roomId,
      }
      if (frame.ref !== undefined) err.ref = frame.ref
      conn.peer.send(err)
    }
    old.removedWhileAway = undefined
    for (const member of old.rooms.values()) {
      const room = member.room
      room.statusChanged()
      conn.peer.subscribe(room.id)
      // The others saw an offline user come back; after a takeover they saw no change.
      if (!takeover) this.announce.presence(member)
      const lastId = frame.last_ids?.[room.id]
      const seen = lastId === undefined ? 0 : (parseId(lastId) ?? 0)
      const { messages, complete } = room.history.since(seen)
      const resumed: ServerFrame = {
        type: 'resumed',
        room: room.id,
        username: member.username,
        moderator: member.moderator,
        recovered: complete,
        users: room.users(),
      }
      if (frame.ref !== undefined) resumed.ref = frame.ref
      conn.peer.send(resumed)
      this.metrics.resumed(complete)
      for (const m of messages) conn.peer.send(replayFrame(m))
    }
    if (old.rooms.size === 0) this.watchUnjoined(old)
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────────

  get isDraining(): boolean {
    return this.draining
  }

  /**
   * Checks the store's invariants and returns what is broken (empty when all is well):
   * the two indexes (room → members, session → rooms) agree, live sessions have their
   * connection, empty rooms are scheduled for deletion, and the cached user lists match.
   * For tests and debugging; it walks everything.
   */
  selfCheck(): string[] {
    const problems: string[] = []
    const live = new Set<Client>()
    for (const conn of this.connections) if (conn.client) live.add(conn.client)
    for (const [id, room] of this.rooms) {
      if (room.id !== id) problems.push(`room ${id} filed under another id`)
      for (const [key, m] of room.members) {
        if (m.key !== key || m.room !== room) problems.push(`${id}: member ${key} misfiled`)
        if (m.client.rooms.get(id) !== m) problems.push(`${id}: ${key} missing from its session`)
        if (this.sessions.get(m.client.session) !== m.client) {
          problems.push(`${id}: ${key} has no session`)
        }
      }
      if (room.members.size === 0 && !room.permanent && room.emptyTimer === undefined) {
        problems.push(`${id}: empty and not scheduled for deletion`)
      }
      if (room.usersJson() !== JSON.stringify(room.users())) problems.push(`${id}: stale user list`)
    }
    for (const [token, client] of this.sessions) {
      if (client.session !== token) problems.push('session filed under another token')
      for (const [id, m] of client.rooms) {
        if (this.rooms.get(id)?.members.get(m.key) !== m)
          problems.push(`session member of ${id} not in the room`)
      }
      if (client.peer && !live.has(client)) problems.push('online session without a connection')
      if (!client.peer && client.graceTimer === undefined && client.rooms.size > 0) {
        problems.push('offline session with rooms but no grace timer')
      }
    }
    return problems
  }

  stats(): { rooms: number; connections: number; sessions: number; members: number } {
    let members = 0
    for (const room of this.rooms.values()) members += room.members.size
    return {
      rooms: this.rooms.size,
      connections: this.connections.size,
      sessions: this.sessions.size,
      members,
    }
  }

  /**
   * Starts shutdown: refuses new connections and rooms, tells every client to come back
   * after a random delay (spread so they do not all return at once) and closes it with 1001.
   */
  drain(): void {
    this.draining = true
    for (const conn of this.connections) {
      const reconnect = 1000 + Math.floor(Math.random() * this.config.shutdownReconnectSpreadMs)
      conn.peer.send({ type: 'shutdown', reconnect_in_ms: reconnect })
      conn.peer.close(CLOSE.goingAway, 'Server shutting down')
    }
  }

  /** Number of connections still open. */
  openConnections(): number {
    return this.connections.size
  }

  /** Clears every timer the store holds; call when the server stops. */
  close(): void {
    this.draining = true
    for (const client of this.sessions.values()) this.forget(client)
    this.sessions.clear()
    for (const room of this.rooms.values()) {
      this.cancelEmptyRoom(room)
      this.announce.clearBatch(room)
      for (const member of room.members.values()) this.announce.clearTyping(member)
    }
  }
}

/** A stored message as the live frame it was (or would have been) sent as. */
function replayFrame(m: StoredMessage): ServerFrame {
  return m.type === 'text'
    ? {
        type: 'message',
        room: m.room_id,
        id: m.id,
        sender: m.sender,
        content: m.content,
        ts: m.timestamp,
      }
    : { type: 'system', room: m.room_id, id: m.id, content: m.content, ts: m.timestamp }
}
