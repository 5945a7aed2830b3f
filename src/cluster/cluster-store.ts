/**
 * The store of a node in a cluster: the chat rules of src/chat over the Redis engine
 * (redis-engine.ts), with every room shared through Redis (REDIS_URL). The node keeps only
 * its own connections (node-connections.ts, local-session.ts); rooms, members, history,
 * bans and mutes live in Redis and change only through the scripts in scripts.ts, each
 * one atomic. Each room's events reach every node on the room's channel and go out to the
 * node's members in sequence order (room-feed.ts).
 */

import { sayGoodbye } from '../chat/connections.ts'
import { deleteEmptyRoom } from '../chat/empty-rooms.ts'
import type { ChatEvents } from '../chat/events.ts'
import { expireGrace } from '../chat/membership.ts'
import { PresenceBatcher } from '../chat/presence.ts'
import type { CreationContext } from '../chat/rooms.ts'
import { ServerApi } from '../chat/server-api.ts'
import { SignIns, type Verifier } from '../chat/sign-in.ts'
import { StoreViews } from '../chat/views.ts'
import type { Config } from '../config.ts'
import type { ChatStore, HealthView } from '../domain/chat-store.ts'
import { type Clock, systemClock } from '../domain/clock.ts'
import { Guard } from '../domain/guard.ts'
import { userKey } from '../domain/names.ts'
import {
  type Logger,
  type Metrics,
  noMetrics,
  type PasswordHasher,
  type Peer,
  type RoomSink,
} from '../domain/ports.ts'
import type { RoomView } from '../domain/room.ts'
import type { CreateRoomInput } from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import type { Action, AuthFrame, ResumeFrame, UserView } from '../protocol/frames.ts'
import { ClusterFrames } from './cluster-frames.ts'
import { ClusterResume } from './cluster-resume.ts'
import { ClusterRooms, usersOf } from './cluster-rooms.ts'
import { Delivery } from './delivery.ts'
import { Janitor } from './janitor.ts'
import { Keys } from './keys.ts'
import type { ClusterConnection } from './local-session.ts'
import { NodeConnections } from './node-connections.ts'
import type { NodeParts } from './node-parts.ts'
import { RedisDirectBook } from './redis-direct.ts'
import { RedisEngine } from './redis-engine.ts'
import { RedisIdempotency } from './redis-idempotency.ts'
import { type LinkMetrics, RedisLink } from './redis-link.ts'
import { RedisUsers } from './redis-users.ts'
import { Repair } from './repair.ts'
import type { RoomFeed } from './room-feed.ts'
import { SessionRecords } from './session-records.ts'

export interface ClusterStoreDeps {
  clock: Clock
  sink: RoomSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: LinkMetrics & Metrics
  /** Checks sign-in tokens; undefined with AUTH_MODE=off. */
  verifier?: Verifier
  /** Events for the app's backend (webhooks); none when unset. */
  events?: ChatEvents
}

const noClusterMetrics: LinkMetrics & Metrics = {
  ...noMetrics,
  redisUp: () => {},
  redisCommandFailed: () => {},
  redisMessageReceived: () => {},
}

export class ClusterStore extends StoreViews implements ChatStore {
  private readonly keys: Keys
  private readonly link: RedisLink
  private readonly rooms: ClusterRooms
  private readonly janitor: Janitor
  private readonly guard: Guard
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly hasher: PasswordHasher
  private readonly metrics: LinkMetrics & Metrics
  private readonly conns: NodeConnections
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly presence: PresenceBatcher
  private readonly delivery: Delivery
  private readonly records: SessionRecords
  protected readonly engine: RedisEngine
  private readonly repair: Repair
  private readonly resumer: ClusterResume
  /** The chat frames' handlers (the WS transport calls them). */
  readonly frames: ClusterFrames
  private readonly signIns: SignIns
  readonly api: ServerApi
  private readonly users: RedisUsers
  private readonly directBook: RedisDirectBook
  private draining = false
  private readonly startedAt: number

  constructor(
    private readonly config: Config,
    deps: ClusterStoreDeps,
  ) {
    super()
    if (!config.redisUrl) throw new Error('ClusterStore needs REDIS_URL')
    this.clock = deps.clock
    this.logger = deps.logger
    this.hasher = deps.hasher
    this.metrics = deps.metrics ?? noClusterMetrics
    this.startedAt = deps.clock.now()
    this.keys = new Keys(config.redisKeyPrefix)
    this.presence = new PresenceBatcher(
      config,
      deps.clock,
      (room, json) => deps.sink.publishJson(room, json),
      async (room) => {
        const views = new Map<string, UserView>()
        for (const view of usersOf(await this.rooms.members(room)))
          views.set(userKey(view.username), view)
        return views
      },
    )
    this.guard = new Guard(deps.clock, config)
    this.signIns = new SignIns(config, deps.verifier, deps.clock, deps.logger, (id) =>
      this.users.blocked(id),
    )
    this.conns = new NodeConnections(config, deps.clock, this.guard, deps.logger, this.signIns, {
      isDraining: () => this.draining,
      stopTyping: (client, member) => this.frames.stopTyping(client, member),
      dropLocal: (client, member) => this.delivery.dropLocal(client, member),
      gone: (dropped) => this.track(this.records.markGone(dropped)),
    })
    const nodeChannel = this.keys.nodeChannel(config.nodeId)
    this.link = new RedisLink(
      config.redisUrl,
      nodeChannel,
      Math.max(1000, Math.floor(config.nodeTtlMs / 3)),
      // The deafness probe measures Redis, in wall-clock time, whatever clock the rules use.
      systemClock,
      deps.logger,
      {
        up: () => this.repair.run(),
        down: () => {
          this.repair.registered = false
        },
        message: (channel, text) => {
          if (channel === nodeChannel && this.users.onNodeMessage(text)) return
          if (channel === nodeChannel && this.directBook.onNodeMessage(text)) return
          this.delivery.onMessage(channel, text)
        },
      },
      this.metrics,
    )
    this.rooms = new ClusterRooms(
      config,
      this.keys,
      this.link,
      deps.hasher,
      this.guard,
      deps.logger,
      () => deps.clock.now(),
    )
    this.janitor = new Janitor(
      config,
      this.keys,
      this.link,
      this.rooms,
      deps.clock,
      deps.logger,
      () => this.repair.run(),
      (member) => expireGrace(this.engine, member, this.clock.now()),
      async (room, now) => deleteEmptyRoom(this.engine, room, now, config.roomEmptyTtlMs),
    )
    this.rooms.onCreated = () => {
      this.janitor.roomCount += 1
    }
    const parts: NodeParts = {
      config,
      keys: this.keys,
      link: this.link,
      rooms: this.rooms,
      clock: deps.clock,
      logger: deps.logger,
    }
    this.delivery = new Delivery(parts, deps.sink, this.presence, {
      stopTyping: (client, member) => this.frames.stopTyping(client, member),
      watchUnjoined: (client) => this.conns.watchUnjoined(client),
      takenOver: (hash) => this.conns.takenOver(hash),
      track: (p) => this.track(p),
    })
    this.engine = new RedisEngine(
      parts,
      {
        track: (p) => this.track(p),
        dropHere: (room, hash, after) => this.frames.dropHere(room, hash, after),
        beforeJoin: (room) => this.frames.beforeJoin(room),
        afterJoin: (feed, joined) => this.frames.afterJoin(feed as RoomFeed, joined),
      },
      deps.events,
    )
    this.users = new RedisUsers(this.link, this.keys, config.nodeId, deps.clock, () =>
      this.conns.live(),
    )
    this.directBook = new RedisDirectBook(this.link, this.keys, config.nodeId, () =>
      this.conns.live(),
    )
    this.api = new ServerApi(
      this.engine,
      new RedisIdempotency(this.link, this.keys),
      () => this.creationContext(),
      deps.clock,
      config.maxContentChars,
      this.users,
    )
    this.records = new SessionRecords(parts, this.engine)
    this.repair = new Repair(parts, this.delivery, this.records, () => this.janitor.heartbeat())
    this.resumer = new ClusterResume(parts, this.delivery, {
      takenOver: (hash) => this.conns.takenOver(hash),
      stillLive: (conn, client) => this.conns.stillLive(conn, client),
      clearUnjoined: (client) => this.conns.clearUnjoined(client),
      resumed: (recovered) => this.metrics.resumed(recovered),
      checkResume: (user, fresh) => this.signIns.checkResume(user, fresh),
    })
    this.frames = new ClusterFrames(
      parts,
      deps.sink,
      this.delivery,
      this.records,
      {
        guard: this.guard,
        isDraining: () => this.draining,
        clientOf: (conn) => this.conns.clientOf(conn),
        limit: (client, bucket, silent) => this.conns.limit(client, bucket, silent),
        needRedis: () => this.needRedis(),
        stillLive: (conn, client) => this.conns.stillLive(conn, client),
        track: (p) => this.track(p),
        watchUnjoined: (client) => this.conns.watchUnjoined(client),
        clearUnjoined: (client) => this.conns.clearUnjoined(client),
        sessionByHash: (hash) => this.conns.sessions.get(hash),
        creation: () => this.creationContext(),
        directs: this.directBook,
      },
      this.engine,
    )
    this.link.start()
    this.janitor.start()
  }

  /** Resolves once this node has registered in Redis (for tests and startup logs). */
  ready(): Promise<void> {
    return this.repair.firstRegistered.promise
  }

  get isDraining(): boolean {
    return this.draining
  }

  async health(): Promise<HealthView> {
    return {
      status: this.draining
        ? 'draining'
        : this.link.isUp && this.repair.registered
          ? 'ok'
          : 'degraded',
      node: this.config.nodeId,
      uptime_s: Math.floor((this.clock.now() - this.startedAt) / 1000),
      rooms: this.janitor.roomCount,
      connections: this.conns.openConnections(),
    }
  }

  // ── Connections (node-connections.ts) ────────────────────────────────────────

  checkUpgrade(address: string): void {
    this.conns.checkUpgrade(address)
  }

  connect(peer: Peer): ClusterConnection {
    return this.conns.connect(peer)
  }

  disconnect(conn: ClusterConnection): void {
    this.conns.disconnect(conn)
  }

  countFrame(conn: ClusterConnection): void {
    this.conns.countFrame(conn)
  }

  penalize(conn: ClusterConnection): void {
    this.conns.penalize(conn)
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p)).catch(() => {})
  }

  /** Frames that change shared state wait for Redis and for this node's repair after it. */
  private needRedis(): void {
    if (!this.link.isUp || !this.repair.registered) throw new ChatError('unavailable')
  }

  // ── Sign-in (src/chat/sign-in.ts) and resume ─────────────────────────────────

  /** `auth`: signs the connection in with the app's token, or refreshes its sign-in. */
  auth(conn: ClusterConnection, frame: AuthFrame): Promise<void> {
    const client = this.conns.clientOf(conn)
    this.conns.limit(client, client.frames)
    return this.signIns.auth(client, frame, (old, next) => this.frames.refreshed(client, old, next))
  }

  /** Throws `unauthenticated` for a frame sent before signing in where sign-in is required. */
  checkSignedIn(conn: ClusterConnection, action: Action): void {
    if (conn.client) this.signIns.check(conn.client, action)
  }

  async resume(conn: ClusterConnection, frame: ResumeFrame): Promise<void> {
    const fresh = this.conns.clientOf(conn)
    this.conns.limit(fresh, fresh.frames)
    this.needRedis()
    await this.resumer.resume(conn, fresh, frame)
  }

  // ── REST views ───────────────────────────────────────────────────────────────

  override async createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }> {
    if (!this.link.isUp) throw new ChatError('unavailable')
    return super.createRoomView(input, address)
  }

  protected passwordBucket(address: string): TokenBucket {
    return this.guard.passwordBucket(address)
  }

  /** What room creation needs besides the engine (for REST here, and the `create` frame). */
  protected creationContext(): CreationContext {
    return {
      config: this.config,
      guard: this.guard,
      hasher: this.hasher,
      logger: this.logger,
      isDraining: () => this.draining,
      now: () => this.clock.now(),
    }
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────────

  drain(): void {
    this.draining = true
    sayGoodbye(
      this.conns.live().flatMap((client) => client.peer ?? []),
      this.config,
    )
  }

  openConnections(): number {
    return this.conns.openConnections()
  }

  sessionOf(conn: ClusterConnection): string | undefined {
    return conn.client?.token
  }

  /** Rooms in the cluster (as of the last heartbeat); members and sessions of this node. */
  stats(): { rooms: number; connections: number; sessions: number; members: number } {
    let members = 0
    for (const map of this.delivery.locals.values()) members += map.size
    return {
      members,
      rooms: this.janitor.roomCount,
      connections: this.conns.openConnections(),
      sessions: this.conns.sessions.size,
    }
  }

  /**
   * Stops: waits for the Redis work in flight (members marked offline, so that they can
   * resume on another node), leaves the node list, and closes the connections to Redis.
   */
  async close(): Promise<void> {
    this.draining = true
    this.janitor.stop()
    this.presence.clear()
    this.frames.closeReads()
    for (const client of this.conns.sessions.values()) {
      this.conns.clearUnjoined(client)
      for (const member of client.rooms.values()) this.frames.clearTyping(member)
    }
    await Promise.allSettled([...this.inflight])
    await this.janitor.leave().catch(() => {})
    await this.link.close()
  }
}
