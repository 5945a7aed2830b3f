/**
 * The store of a node in a cluster: the same protocol as RoomStore, with every room shared
 * through Redis (REDIS_URL). The node keeps only its own connections (local-session.ts);
 * rooms, members, history, bans and mutes live in Redis and change only through the
 * scripts in scripts.ts, each one atomic. Each room's events reach every node on the
 * room's channel and go out to the node's members in sequence order (room-feed.ts).
 */

import { sayGoodbye, Unjoined, welcome } from '../chat/connections.ts'
import { expireGrace } from '../chat/membership.ts'
import { PresenceBatcher } from '../chat/presence.ts'
import { type CreationContext, createRoom } from '../chat/rooms.ts'
import { bansOf, listRooms, messagesFor, roomDetails } from '../chat/views.ts'
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
import {
  CLOSE,
  type CreateRoomInput,
  type RoomCredentials,
  randomToken,
  takeFrame,
} from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import type {
  CreateFrame,
  HistoryFrame,
  JoinFrame,
  MessageFrame,
  ModerationFrame,
  MuteFrame,
  Ref,
  ResumeFrame,
  RoomId,
  StoredMessage,
  UserView,
} from '../protocol/frames.ts'
import { ClusterFrames } from './cluster-frames.ts'
import { ClusterResume } from './cluster-resume.ts'
import { ClusterRooms, usersOf } from './cluster-rooms.ts'
import { Delivery } from './delivery.ts'
import { Janitor } from './janitor.ts'
import { Keys, sessionHash } from './keys.ts'
import { ClusterConnection, LocalSession } from './local-session.ts'
import type { NodeParts } from './node-parts.ts'
import { RedisEngine } from './redis-engine.ts'
import { type LinkMetrics, RedisLink } from './redis-link.ts'
import { Repair } from './repair.ts'
import type { RoomFeed } from './room-feed.ts'
import { type Dropped, SessionRecords } from './session-records.ts'

export interface ClusterStoreDeps {
  clock: Clock
  sink: RoomSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: LinkMetrics & Metrics
}

const noClusterMetrics: LinkMetrics & Metrics = {
  ...noMetrics,
  redisUp: () => {},
  redisCommandFailed: () => {},
  redisMessageReceived: () => {},
}

export class ClusterStore implements ChatStore {
  private readonly keys: Keys
  private readonly link: RedisLink
  private readonly rooms: ClusterRooms
  private readonly janitor: Janitor
  private readonly guard: Guard
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly hasher: PasswordHasher
  private readonly metrics: LinkMetrics & Metrics
  private readonly connections = new Set<ClusterConnection>()
  /** Live local sessions by their hash (for takeovers from other nodes). */
  private readonly sessions = new Map<string, LocalSession>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly presence: PresenceBatcher
  private readonly delivery: Delivery
  private readonly records: SessionRecords
  private readonly engine: RedisEngine
  private readonly repair: Repair
  private readonly resumer: ClusterResume
  private readonly frames: ClusterFrames
  private draining = false
  private readonly startedAt: number
  private readonly unjoined: Unjoined

  constructor(
    private readonly config: Config,
    deps: ClusterStoreDeps,
  ) {
    if (!config.redisUrl) throw new Error('ClusterStore needs REDIS_URL')
    this.clock = deps.clock
    this.logger = deps.logger
    this.hasher = deps.hasher
    this.metrics = deps.metrics ?? noClusterMetrics
    this.startedAt = deps.clock.now()
    this.unjoined = new Unjoined(deps.clock, config)
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
    this.link = new RedisLink(
      config.redisUrl,
      this.keys.nodeChannel(config.nodeId),
      Math.max(1000, Math.floor(config.nodeTtlMs / 3)),
      // The deafness probe measures Redis, in wall-clock time, whatever clock the rules use.
      systemClock,
      deps.logger,
      {
        up: () => this.repair.run(),
        down: () => {
          this.repair.registered = false
        },
        message: (channel, text) => this.delivery.onMessage(channel, text),
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
      watchUnjoined: (client) => this.watchUnjoined(client),
      takenOver: (hash) => this.takenOver(hash),
      track: (p) => this.track(p),
    })
    this.engine = new RedisEngine(parts, {
      track: (p) => this.track(p),
      dropHere: (room, hash, after) => this.frames.dropHere(room, hash, after),
      beforeJoin: (room) => this.frames.beforeJoin(room),
      afterJoin: (feed, joined) => this.frames.afterJoin(feed as RoomFeed, joined),
    })
    this.records = new SessionRecords(parts, this.engine, (room, json) =>
      this.delivery.publishLocal(room, json),
    )
    this.repair = new Repair(parts, this.delivery, this.records, () => this.janitor.heartbeat())
    this.resumer = new ClusterResume(parts, this.delivery, {
      takenOver: (hash) => this.takenOver(hash),
      stillLive: (conn, client) => this.stillLive(conn, client),
      clearUnjoined: (client) => this.clearUnjoined(client),
      resumed: (recovered) => this.metrics.resumed(recovered),
    })
    this.frames = new ClusterFrames(
      parts,
      deps.sink,
      this.delivery,
      this.records,
      {
        guard: this.guard,
        isDraining: () => this.draining,
        clientOf: (conn) => this.clientOf(conn),
        limit: (client, bucket, silent) => this.limit(client, bucket, silent),
        needRedis: () => this.needRedis(),
        stillLive: (conn, client) => this.stillLive(conn, client),
        track: (p) => this.track(p),
        watchUnjoined: (client) => this.watchUnjoined(client),
        clearUnjoined: (client) => this.clearUnjoined(client),
        sessionByHash: (hash) => this.sessions.get(hash),
        creation: () => this.creation(),
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
      connections: this.connections.size,
    }
  }

  // ── Connections ──────────────────────────────────────────────────────────────

  checkUpgrade(address: string): void {
    if (this.draining) throw new ChatError('shutting_down')
    this.guard.checkConnection(address)
  }

  connect(peer: Peer): ClusterConnection {
    const token = randomToken()
    const client = new LocalSession(peer, token, sessionHash(token), this.clock, this.config)
    const conn = new ClusterConnection(peer, client)
    this.connections.add(conn)
    this.sessions.set(client.hash, client)
    if (welcome(peer, this.guard, token, this.config)) this.unjoined.watch(client)
    return conn
  }

  disconnect(conn: ClusterConnection): void {
    this.connections.delete(conn)
    this.guard.connectionClosed(conn.peer.address)
    const client = conn.client
    conn.client = undefined
    if (!client || client.peer !== conn.peer) return
    client.peer = undefined
    this.clearUnjoined(client)
    if (this.sessions.get(client.hash) === client) this.sessions.delete(client.hash)
    if (client.rooms.size === 0) return
    const rooms: Dropped['rooms'] = []
    for (const member of [...client.rooms.values()]) {
      this.frames.stopTyping(client, member)
      this.delivery.dropLocal(client, member)
      rooms.push({ room: member.room, key: member.key, username: member.username })
    }
    this.track(this.records.markGone({ hash: client.hash, rooms }))
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p)).catch(() => {})
  }

  private watchUnjoined(client: LocalSession): void {
    this.unjoined.watch(client)
  }

  private clearUnjoined(client: LocalSession): void {
    this.unjoined.clear(client)
  }

  private clientOf(conn: ClusterConnection): LocalSession {
    const client = conn.client
    if (!client || client.peer !== conn.peer)
      throw new ChatError('not_authorized', 'Connection closed')
    return client
  }

  /** Frames that change shared state wait for Redis and for this node's repair after it. */
  private needRedis(): void {
    if (!this.link.isUp || !this.repair.registered) throw new ChatError('unavailable')
  }

  private stillLive(conn: ClusterConnection, client: LocalSession): boolean {
    return conn.client === client && client.peer === conn.peer
  }

  private limit(client: LocalSession, bucket: TokenBucket, silent = false): boolean {
    return takeFrame(client, bucket, this.logger, silent)
  }

  countFrame(conn: ClusterConnection): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
  }

  penalize(conn: ClusterConnection): void {
    const client = conn.client
    if (client && client.peer === conn.peer) this.limit(client, client.frames, true)
  }

  /** Another node (or this one) resumed a session this node still holds: close the old socket. */
  private takenOver(hash: string): void {
    const client = this.sessions.get(hash)
    if (!client) return
    this.sessions.delete(hash)
    // The others see the old connection's typing end, as on one node.
    for (const member of client.rooms.values()) this.frames.stopTyping(client, member)
    const peer = client.peer
    client.peer = undefined
    for (const member of [...client.rooms.values()]) this.delivery.dropLocal(client, member)
    for (const c of this.connections) if (c.client === client) c.client = undefined
    peer?.close(CLOSE.replaced, 'Session resumed on another connection')
  }

  // ── Frames (member-frames.ts) ────────────────────────────────────────────────

  join(conn: ClusterConnection, frame: JoinFrame): Promise<void> {
    return this.frames.join(conn, frame)
  }

  create(conn: ClusterConnection, frame: CreateFrame): Promise<void> {
    return this.frames.create(conn, frame)
  }

  message(conn: ClusterConnection, frame: MessageFrame): Promise<void> {
    return this.frames.message(conn, frame)
  }

  typing(conn: ClusterConnection, roomId: RoomId): Promise<void> | undefined {
    return this.frames.typing(conn, roomId)
  }

  leave(conn: ClusterConnection, roomId: RoomId, ref: Ref | undefined): Promise<void> {
    return this.frames.leave(conn, roomId, ref)
  }

  history(conn: ClusterConnection, frame: HistoryFrame): Promise<void> {
    return this.frames.history(conn, frame)
  }

  moderate(conn: ClusterConnection, frame: ModerationFrame | MuteFrame): Promise<void> {
    return this.frames.moderate(conn, frame)
  }

  // ── Resume ───────────────────────────────────────────────────────────────────

  async resume(conn: ClusterConnection, frame: ResumeFrame): Promise<void> {
    const fresh = this.clientOf(conn)
    this.limit(fresh, fresh.frames)
    this.needRedis()
    await this.resumer.resume(conn, fresh, frame)
  }

  // ── REST views ───────────────────────────────────────────────────────────────

  listRooms(q: string | undefined, limit?: number, cursor?: string) {
    return listRooms(this.engine, q, limit, cursor)
  }

  async createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }> {
    if (!this.link.isUp) throw new ChatError('unavailable')
    const { view, token } = await createRoom(this.engine, this.creation(), input, address)
    return { ...view, moderator_token: token }
  }

  /** What room creation needs besides the engine (for REST here, and the `create` frame). */
  creation(): CreationContext {
    return {
      config: this.config,
      guard: this.guard,
      hasher: this.hasher,
      logger: this.logger,
      isDraining: () => this.draining,
      now: () => this.clock.now(),
    }
  }

  roomDetails(id: RoomId): Promise<RoomView & { users?: UserView[] }> {
    return roomDetails(this.engine, id)
  }

  messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const bucket = this.guard.passwordBucket(address)
    return messagesFor(this.engine, id, credentials, address, bucket, before, limit)
  }

  bansOf(id: RoomId, token: string | undefined) {
    return bansOf(this.engine, id, token)
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────────

  drain(): void {
    this.draining = true
    sayGoodbye(
      [...this.connections].map((conn) => conn.peer),
      this.config,
    )
  }

  openConnections(): number {
    return this.connections.size
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
      connections: this.connections.size,
      sessions: this.sessions.size,
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
    for (const client of this.sessions.values()) {
      this.clearUnjoined(client)
      for (const member of client.rooms.values()) this.frames.clearTyping(member)
    }
    await Promise.allSettled([...this.inflight])
    await this.janitor.leave().catch(() => {})
    await this.link.close()
  }
}
