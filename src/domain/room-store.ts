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
import type { ChatStore, HealthView } from './chat-store.ts'
import type { Client, Connection } from './client.ts'
import type { Clock } from './clock.ts'
import { Guard } from './guard.ts'
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
import { historyPage, RoomViews, verifyPassword } from './room-views.ts'
import {
  CLOSE,
  type CreateRoomInput,
  checkContent,
  type RoomCredentials,
  randomToken,
  validateCreateInput,
} from './rules.ts'
import { Sessions } from './sessions.ts'

export { CLOSE, type CreateRoomInput, type RoomCredentials } from './rules.ts'

export interface RoomStoreDeps {
  clock: Clock
  sink: RoomSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: Metrics
}

/**
 * Owns every room and session: members, history, bans, mutes, limits and the timers
 * that expire typing, resume grace and empty rooms. Transports call its methods and
 * render the ChatErrors it throws; everything it has to say goes out through a Peer
 * (to one connection) or the RoomSink (to a room). The rules any store follows are in
 * rules.ts; connections and sessions in sessions.ts, `resume` in resume.ts and the REST
 * views in room-views.ts.
 */
export class RoomStore implements ChatStore {
  private readonly rooms = new Map<RoomId, Room>()
  private readonly clock: Clock
  private readonly sink: RoomSink
  private readonly hasher: PasswordHasher
  private readonly logger: Logger
  private readonly metrics: Metrics
  readonly guard: Guard
  private readonly announce: Announcer
  private readonly moderation: ModerationEffects
  private readonly sessions: Sessions
  private readonly views: RoomViews
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
    this.sessions = new Sessions(config, deps.clock, this.guard, deps.logger, this.announce, {
      isDraining: () => this.draining,
      resumed: (recovered) => this.metrics.resumed(recovered),
      expireMember: (member) => this.removeMember(member, `${member.username} left`),
    })
    this.views = new RoomViews(
      { rooms: () => this.rooms.values(), room: (id) => this.room(id) },
      this.guard,
      this.hasher,
      config,
      deps.logger,
    )
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

  // ── Connections (see sessions.ts) ────────────────────────────────────────────

  /** Throws when a new WebSocket from `address` must be refused (draining, per-address cap). */
  checkUpgrade(address: string): void {
    this.sessions.checkUpgrade(address)
  }

  /** Registers a new connection and sends it `welcome`. */
  connect(peer: Peer): Connection {
    return this.sessions.connect(peer)
  }

  /** The connection closed. Its user goes offline and keeps their rooms for the resume grace. */
  disconnect(conn: Connection): void {
    this.sessions.disconnect(conn)
  }

  /** Rate-limits a frame that is not a chat message or typing frame. */
  countFrame(conn: Connection): void {
    this.sessions.countFrame(conn)
  }

  /** Charges a malformed frame to the connection's frame budget, without an error of its own. */
  penalize(conn: Connection): void {
    this.sessions.penalize(conn)
  }

  // ── Rooms ────────────────────────────────────────────────────────────────────

  /** Creates a room; `address` is charged one creation. Returns the room and its moderator token. */
  async createRoom(
    input: CreateRoomInput,
    address: string,
  ): Promise<{ room: Room; token: string }> {
    if (this.draining) throw new ChatError('shutting_down')
    const { name, id, maxUsers, isPrivate, password } = validateCreateInput(input, this.config)
    this.guard.takeRoomCreation(address)
    this.checkCreatable(id)
    const passwordHash = password !== undefined ? await this.hasher.hash(password) : undefined
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

  /** `POST /rooms`: creates a room and returns its view with the moderator token. */
  async createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }> {
    const { room, token } = await this.createRoom(input, address)
    return { ...room.view(), moderator_token: token }
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

  // ── REST views (see room-views.ts) ───────────────────────────────────────────

  /** Public rooms, sorted by id, filtered by a name substring, one page after `cursor`. */
  listRooms(
    q: string | undefined,
    limit?: number,
    cursor?: string,
  ): { rooms: RoomView[]; next_cursor: string | null } {
    return this.views.listRooms(q, limit, cursor)
  }

  /** A room's REST view; the user list only for public rooms. */
  roomDetails(id: RoomId): RoomView & { users?: UserView[] } {
    return this.views.roomDetails(id)
  }

  /** A page of a room's history for REST; private rooms need the password or the moderator token. */
  messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    return this.views.messagesFor(id, credentials, address, before, limit)
  }

  /** The bans of a room; only with its moderator token. */
  bansOf(
    id: RoomId,
    token: string | undefined,
  ): { bans: { username: string; by: string; at: number }[] } {
    return this.views.bansOf(id, token)
  }

  // ── Empty rooms ──────────────────────────────────────────────────────────────

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
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
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
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
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
    if (client.rooms.size === 0 && client.peer) this.sessions.watchUnjoined(client)
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
    const client = this.sessions.clientOf(conn)
    // Count before the membership check, or messages to a room one is not in would flood freely.
    this.sessions.limit(client, client.messages)
    const member = this.memberOf(client, frame.room)
    const room = member.room
    const mutedUntil = room.mutes.get(member.key)
    if (mutedUntil !== undefined) {
      if (mutedUntil > this.clock.now())
        throw new ChatError('not_authorized', 'You are muted in this room')
      room.mutes.delete(member.key)
    }
    const content = frame.content
    checkContent(content, this.config.maxContentChars)
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
    const client = this.sessions.clientOf(conn)
    if (!this.sessions.limit(client, client.frames, true)) return
    const member = this.memberOf(client, roomId)
    const mutedUntil = member.room.mutes.get(member.key)
    if (mutedUntil !== undefined && mutedUntil > this.clock.now()) return
    this.announce.typing(member)
  }

  /** `leave`: the member leaves the room and gets `left`. */
  leave(conn: Connection, roomId: RoomId, ref: Ref | undefined): void {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const member = this.memberOf(client, roomId)
    this.removeMember(member, `${member.username} left`)
    const left: ServerFrame = { type: 'left', room: member.room.id }
    if (ref !== undefined) left.ref = ref
    client.peer?.send(left)
  }

  /** `history`: a page of a room's messages, for its members or for anyone in a public room. */
  history(conn: Connection, frame: HistoryFrame): void {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const room = this.room(frame.room)
    if (room.isPrivate && !client.rooms.has(room.id))
      throw new ChatError('not_authorized', 'You have not joined this room')
    const { messages, has_more } = historyPage(
      room,
      frame.before,
      frame.limit,
      this.config.historyLimit,
    )
    const reply: ServerFrame = { type: 'history', room: room.id, messages, has_more }
    if (frame.ref !== undefined) reply.ref = frame.ref
    client.peer?.send(reply)
  }

  // ── Moderation ───────────────────────────────────────────────────────────────

  /** `ban`, `kick`, `unban`, `mute`, `unmute` from a moderator of the room. */
  moderate(conn: Connection, frame: ModerationFrame | MuteFrame): void {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
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
    this.sessions.resume(conn, frame)
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
    for (const conn of this.sessions.connections) if (conn.client) live.add(conn.client)
    for (const [id, room] of this.rooms) {
      if (room.id !== id) problems.push(`room ${id} filed under another id`)
      for (const [key, m] of room.members) {
        if (m.key !== key || m.room !== room) problems.push(`${id}: member ${key} misfiled`)
        if (m.client.rooms.get(id) !== m) problems.push(`${id}: ${key} missing from its session`)
        if (this.sessions.byToken.get(m.client.session) !== m.client) {
          problems.push(`${id}: ${key} has no session`)
        }
      }
      if (room.members.size === 0 && !room.permanent && room.emptyTimer === undefined) {
        problems.push(`${id}: empty and not scheduled for deletion`)
      }
      if (room.usersJson() !== JSON.stringify(room.users())) problems.push(`${id}: stale user list`)
    }
    for (const [token, client] of this.sessions.byToken) {
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

  health(): HealthView {
    return {
      status: this.draining ? 'draining' : 'ok',
      node: this.config.nodeId,
      uptime_s: Math.floor((this.clock.now() - this.startedAt) / 1000),
      rooms: this.rooms.size,
      connections: this.sessions.connections.size,
    }
  }

  stats(): { rooms: number; connections: number; sessions: number; members: number } {
    let members = 0
    for (const room of this.rooms.values()) members += room.members.size
    return {
      members,
      rooms: this.rooms.size,
      connections: this.sessions.connections.size,
      sessions: this.sessions.byToken.size,
    }
  }

  /**
   * Starts shutdown: refuses new connections and rooms, tells every client to come back
   * after a random delay (spread so they do not all return at once) and closes it with 1001.
   */
  drain(): void {
    this.draining = true
    for (const conn of this.sessions.connections) {
      const reconnect = 1000 + Math.floor(Math.random() * this.config.shutdownReconnectSpreadMs)
      conn.peer.send({ type: 'shutdown', reconnect_in_ms: reconnect })
      conn.peer.close(CLOSE.goingAway, 'Server shutting down')
    }
  }

  sessionOf(conn: Connection): string | undefined {
    return conn.client?.session
  }

  /** Number of connections still open. */
  openConnections(): number {
    return this.sessions.connections.size
  }

  /** Clears every timer the store holds; call when the server stops. */
  close(): void {
    this.draining = true
    for (const client of this.sessions.byToken.values()) this.sessions.forget(client)
    this.sessions.byToken.clear()
    for (const room of this.rooms.values()) {
      this.cancelEmptyRoom(room)
      this.announce.clearBatch(room)
      for (const member of room.members.values()) this.announce.clearTyping(member)
    }
  }
}
