import { sayGoodbye } from '../chat/connections.ts'
import { MemoryDirectBook, tellHere } from '../chat/direct.ts'
import { deleteEmptyRoom } from '../chat/empty-rooms.ts'
import type { ChatEvents } from '../chat/events.ts'
import { expireGrace, goAway } from '../chat/membership.ts'
import { ReadMarkers, readState } from '../chat/read-markers.ts'
import { type CreationContext, defaultRooms } from '../chat/rooms.ts'
import { ServerApi } from '../chat/server-api.ts'
import { SignIns, type Verifier } from '../chat/sign-in.ts'
import { disconnectHere, MemoryBlocks } from '../chat/users.ts'
import { StoreViews } from '../chat/views.ts'
import type { Config } from '../config.ts'
import { ChatError } from '../protocol/errors.ts'
import type { Action, AuthFrame, ResumeFrame, RoomId, UserView } from '../protocol/frames.ts'
import { Announcer } from './announcer.ts'
import type { ChatStore, HealthView } from './chat-store.ts'
import type { Clock } from './clock.ts'
import { EmptyRooms } from './empty-rooms.ts'
import { Guard } from './guard.ts'
import { Membership } from './membership.ts'
import { MemoryEngine } from './memory-engine.ts'
import { MemoryFrames, type MemoryReader } from './memory-frames.ts'
import { MemoryIdempotency } from './memory-idempotency.ts'
import { slugify } from './names.ts'
import {
  type Logger,
  type Metrics,
  noMetrics,
  type PasswordHasher,
  type Peer,
  type RoomSink,
} from './ports.ts'
import { MemoryReadMarkers, roomReadMarks } from './read-markers-memory.ts'
import type { Connection } from './room.ts'
import { Room, userView } from './room.ts'
import { selfCheck } from './self-check.ts'
import { Sessions } from './sessions.ts'
import type { TokenBucket } from './token-bucket.ts'

export { CLOSE, type CreateRoomInput, type RoomCredentials } from './rules.ts'

export interface RoomStoreDeps {
  clock: Clock
  sink: RoomSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: Metrics
  /** Checks sign-in tokens; undefined with AUTH_MODE=off. */
  verifier?: Verifier
  /** Events for the app's backend (webhooks); none when unset. */
  events?: ChatEvents
}

/**
 * The store of one process: every room and session in memory, with the timers that
 * expire typing, resume grace and empty rooms. Transports call its methods and render
 * the ChatErrors it throws; everything it has to say goes out through a Peer (to one
 * connection) or the RoomSink (to a room). The chat rules are in src/chat, over the
 * memory engine (memory-engine.ts); the chat frames reach them through memory-frames.ts.
 * Still here: connections and sessions in sessions.ts, `resume` in resume.ts, members in
 * membership.ts, the empty-room timers in empty-rooms.ts and the invariant check in
 * self-check.ts.
 */
export class RoomStore extends StoreViews implements ChatStore {
  private readonly rooms = new Map<RoomId, Room>()
  private readonly clock: Clock
  private readonly sink: RoomSink
  private readonly hasher: PasswordHasher
  private readonly logger: Logger
  private readonly metrics: Metrics
  readonly guard: Guard
  private readonly announce: Announcer
  protected readonly engine: MemoryEngine
  private readonly creation: CreationContext
  private readonly sessions: Sessions
  private readonly emptyRooms: EmptyRooms
  private readonly membership: Membership
  /** The chat frames' handlers (the WS transport calls them). */
  readonly frames: MemoryFrames
  private readonly readers: ReadMarkers<MemoryReader>
  private readonly signIns: SignIns
  readonly api: ServerApi
  private draining = false
  readonly startedAt: number

  constructor(
    private readonly config: Config,
    deps: RoomStoreDeps,
  ) {
    super()
    this.clock = deps.clock
    this.sink = deps.sink
    this.hasher = deps.hasher
    this.logger = deps.logger
    this.metrics = deps.metrics ?? noMetrics
    this.guard = new Guard(deps.clock, config)
    this.announce = new Announcer(config, deps.clock, deps.sink, (id) => {
      const views = new Map<string, UserView>()
      for (const m of this.rooms.get(id)?.members.values() ?? []) views.set(m.key, userView(m))
      return views
    })
    this.engine = new MemoryEngine(
      {
        room: (id) => this.rooms.get(id),
        all: () => this.rooms.values(),
        count: () => this.rooms.size,
        register: (room) => {
          this.rooms.set(room.id, room)
          this.emptyRooms.schedule(room)
        },
        find: (id) => this.room(id),
        add: (room, session, username, key, moderator) =>
          this.membership.add(room, session, username, key, moderator),
        hold: (member, session) => this.membership.hold(member, session),
        release: (member) => this.membership.release(member),
        away: (member, until) => this.membership.away(member, until),
        admitted: (member) => this.membership.admitted(member),
        drop: (member) => this.membership.drop(member),
        tell: (member, how, by) => this.membership.tell(member, how, by),
        stopTyping: (member) => this.announce.stopTyping(member),
        delete: (room) => {
          this.membership.removeAll(room)
          this.emptyRooms.cancel(room)
          this.announce.clearBatch(room)
          if (this.rooms.get(room.id) === room) this.rooms.delete(room.id)
        },
      },
      deps.sink,
      deps.hasher,
      deps.logger,
      config.historyLimit,
      deps.clock,
      deps.events,
    )
    this.creation = {
      config,
      guard: this.guard,
      hasher: deps.hasher,
      logger: deps.logger,
      isDraining: () => this.draining,
      now: () => this.clock.now(),
    }
    const blocks = new MemoryBlocks(deps.clock)
    this.signIns = new SignIns(config, deps.verifier, deps.clock, deps.logger, (id) =>
      blocks.blocked(id),
    )
    this.api = new ServerApi(
      this.engine,
      new MemoryIdempotency(deps.clock),
      () => this.creation,
      deps.clock,
      config.maxContentChars,
      {
        block: (id, ms) => blocks.block(id, ms),
        blocked: (id) => blocks.blocked(id),
        disconnect: (id, reason) => disconnectHere(this.sessions.live(), id, reason),
      },
    )
    this.sessions = new Sessions(
      config,
      deps.clock,
      this.guard,
      deps.logger,
      this.announce,
      {
        isDraining: () => this.draining,
        resumed: (recovered) => this.metrics.resumed(recovered),
        goAway: (member) => {
          void goAway(this.engine, this.frames.held(member), this.clock.now(), config.resumeGraceMs)
        },
        expireMember: (member) => {
          void expireGrace(this.engine, this.frames.held(member), this.clock.now())
        },
        readState: (member) =>
          readState(
            roomReadMarks(member.room),
            member.username,
            member.client.user?.id,
            member.room.history.messages(),
            config.readMarkersMaxMembers,
          ),
      },
      this.signIns,
    )
    this.emptyRooms = new EmptyRooms(config.roomEmptyTtlMs, deps.clock, (room) => {
      if (this.rooms.get(room.id) === room)
        deleteEmptyRoom(this.engine, room.id, deps.clock.now(), config.roomEmptyTtlMs)
    })
    this.membership = new Membership(
      (id) => this.room(id),
      this.announce,
      this.sessions,
      this.emptyRooms,
    )
    this.readers = new ReadMarkers<MemoryReader>(
      new MemoryReadMarkers((id) => this.room(id)),
      deps.clock,
      config,
      (reader, frame) => this.announce.toOthers(reader.member, frame),
    )
    this.frames = new MemoryFrames({
      engine: this.engine,
      sessions: this.sessions,
      membership: this.membership,
      announce: this.announce,
      guard: this.guard,
      creation: this.creation,
      directs: new MemoryDirectBook((id, frame) => tellHere(this.sessions.live(), id, frame)),
      maxContentChars: config.maxContentChars,
      readMarkersMaxMembers: config.readMarkersMaxMembers,
      readers: this.readers,
      now: () => this.clock.now(),
    })
    this.startedAt = deps.clock.now()
    for (const init of defaultRooms(config, deps.clock.now())) {
      const room = new Room(
        { ...init, moderatorToken: init.token, permanent: true },
        config.historyLimit,
        deps.clock,
      )
      this.rooms.set(room.id, room)
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

  /** The room with this id; also accepts a name that slugs to the id. Throws `room_not_found`. */
  room(id: RoomId): Room {
    const room = this.rooms.get(id) ?? this.rooms.get(slugify(id))
    if (!room) throw new ChatError('room_not_found', `No room with id "${id}"`)
    return room
  }

  // ── REST views (src/chat/views.ts) ───────────────────────────────────────────

  protected passwordBucket(address: string): TokenBucket {
    return this.guard.passwordBucket(address)
  }

  protected creationContext(): CreationContext {
    return this.creation
  }

  // ── Sign-in (src/chat/sign-in.ts) ────────────────────────────────────────────

  /** `auth`: signs the connection in with the app's token, or refreshes its sign-in. */
  auth(conn: Connection, frame: AuthFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    return this.signIns.auth(client, frame, (old, next) => this.frames.refreshed(client, old, next))
  }

  /** Throws `unauthenticated` for a frame sent before signing in where sign-in is required. */
  checkSignedIn(conn: Connection, action: Action): void {
    if (conn.client) this.signIns.check(conn.client, action)
  }

  // ── Frames (memory-frames.ts) ────────────────────────────────────────────────

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
    return selfCheck(this.rooms, this.sessions)
  }

  health(): HealthView {
    return {
      status: this.draining ? 'draining' : 'ok',
      node: this.config.nodeId,
      uptime_s: Math.floor((this.clock.now() - this.startedAt) / 1000),
      rooms: this.rooms.size,
      connections: this.sessions.openConnections(),
    }
  }

  stats(): { rooms: number; connections: number; sessions: number; members: number } {
    let members = 0
    for (const room of this.rooms.values()) members += room.members.size
    return {
      members,
      rooms: this.rooms.size,
      connections: this.sessions.openConnections(),
      sessions: this.sessions.byToken.size,
    }
  }

  /**
   * Starts shutdown: refuses new connections and rooms, tells every client to come back
   * after a random delay (spread so they do not all return at once) and closes it with 1001.
   */
  drain(): void {
    this.draining = true
    sayGoodbye(
      this.sessions.live().flatMap((client) => client.peer ?? []),
      this.config,
    )
  }

  sessionOf(conn: Connection): string | undefined {
    return conn.client?.session
  }

  /** Number of connections still open. */
  openConnections(): number {
    return this.sessions.openConnections()
  }

  /** Clears every timer the store holds; call when the server stops. */
  close(): void {
    this.draining = true
    this.readers.close()
    for (const client of this.sessions.byToken.values()) this.sessions.forget(client)
    this.sessions.byToken.clear()
    for (const room of this.rooms.values()) {
      this.emptyRooms.cancel(room)
      this.announce.clearBatch(room)
      for (const member of room.members.values()) this.announce.clearTyping(member)
    }
  }
}
