/**
 * The store of a node in a cluster: the same protocol as RoomStore, with every room shared
 * through Redis (REDIS_URL). The node keeps only its own connections (local-session.ts);
 * rooms, members, history, bans and mutes live in Redis and change only through the
 * scripts in scripts.ts, each one atomic. Each room's events reach every node on the
 * room's channel and go out to the node's members in sequence order (room-feed.ts).
 */
import type { Config } from '../config.ts'
import type { ChatStore, HealthView } from '../domain/chat-store.ts'
import type { Clock } from '../domain/clock.ts'
import { Guard } from '../domain/guard.ts'
import { normalizeName, slugify, userKey } from '../domain/names.ts'
import {
  type Logger,
  type Metrics,
  noMetrics as noStoreMetrics,
  type PasswordHasher,
  type Peer,
} from '../domain/ports.ts'
import type { RoomView } from '../domain/room.ts'
import {
  CLOSE,
  type CreateRoomInput,
  checkContent,
  type RoomCredentials,
  randomToken,
  replayFrame,
} from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
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
import { ClusterRooms, type RoomMeta, roomKeyArgs, seqOf, usersOf } from './cluster-rooms.ts'
import { Janitor } from './janitor.ts'
import { Keys, sessionHash } from './keys.ts'
import { ClusterConnection, LocalClient, type LocalMember } from './local-session.ts'
import { PresenceBatcher } from './presence-batch.ts'
import { type LinkMetrics, RedisLink } from './redis-link.ts'
import { type Envelope, parseEnvelope, RoomFeed } from './room-feed.ts'

/** Delivery to this node's members of a room (Bun's topic publish). */
export interface TopicSink {
  publishJson(room: RoomId, json: string): void
}

export interface ClusterStoreDeps {
  clock: Clock
  sink: TopicSink
  hasher: PasswordHasher
  logger: Logger
  metrics?: LinkMetrics & Metrics
}

/** Sessions that dropped while Redis was out of reach, to be marked offline once it is back. */
const MAX_DROPPED = 100_000
/** Longest a SUBSCRIBE may take before the join that needs it is refused. */
const SUBSCRIBE_TIMEOUT_MS = 2000
/** A newcomer waits this long for the stream before the node reads the history instead. */
const ADMIT_WAIT_MS = 250
/** How far sequences jump after Redis lost its data (see `floorMargin`). */
const LOST_DATA_SEQ_MARGIN = 1000

const noMetrics: LinkMetrics & Metrics = {
  ...noStoreMetrics,
  redisUp: () => {},
  redisCommandFailed: () => {},
  redisMessageReceived: () => {},
}

interface Dropped {
  hash: string
  rooms: { room: RoomId; key: string; username: string }[]
}

export class ClusterStore implements ChatStore {
  private readonly keys: Keys
  private readonly link: RedisLink
  private readonly rooms: ClusterRooms
  private readonly janitor: Janitor
  private readonly guard: Guard
  private readonly clock: Clock
  private readonly sink: TopicSink
  private readonly logger: Logger
  private readonly metrics: LinkMetrics & Metrics
  private readonly connections = new Set<ClusterConnection>()
  /** Live local sessions by their hash (for takeovers from other nodes). */
  private readonly sessions = new Map<string, LocalClient>()
  private readonly feeds = new Map<RoomId, RoomFeed>()
  /** Local members per room, by user key (the targets of moderation acts). */
  private readonly locals = new Map<RoomId, Map<string, LocalClient>>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly presence: PresenceBatcher
  private dropped = new Map<string, Dropped>()
  private droppedOverflow = false
  private registered = false
  private repairing: Promise<void> | undefined
  private draining = false
  private readonly startedAt: number

  /** How long the record of a session that went away is kept: its grace, and a second. */
  private get sessionRecordTtlMs(): number {
    return this.config.resumeGraceMs + 1000
  }

  constructor(
    private readonly config: Config,
    deps: ClusterStoreDeps,
  ) {
    if (!config.redisUrl) throw new Error('ClusterStore needs REDIS_URL')
    this.clock = deps.clock
    this.sink = deps.sink
    this.logger = deps.logger
    this.metrics = deps.metrics ?? noMetrics
    this.startedAt = deps.clock.now()
    this.keys = new Keys(config.redisKeyPrefix)
    this.presence = new PresenceBatcher(config, deps.clock, (room, json) =>
      deps.sink.publishJson(room, json),
    )
    this.guard = new Guard(deps.clock, config)
    this.link = new RedisLink(
      config.redisUrl,
      this.keys.nodeChannel(config.nodeId),
      Math.max(1000, Math.floor(config.nodeTtlMs / 3)),
      deps.clock,
      deps.logger,
      {
        up: () => this.repair(),
        down: () => {
          this.registered = false
        },
        message: (channel, text) => this.onMessage(channel, text),
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
      () => this.repair(),
    )
    this.link.start()
    this.janitor.start()
  }

  /** Resolves once this node has registered in Redis (for tests and startup logs). */
  async ready(): Promise<void> {
    while (!this.registered) {
      if (this.repairing) await this.repairing.catch(() => {})
      else await new Promise<void>((r) => this.clock.setTimeout(() => r(), 20))
    }
  }

  get isDraining(): boolean {
    return this.draining
  }

  async health(): Promise<HealthView> {
    return {
      status: this.draining ? 'draining' : this.link.isUp && this.registered ? 'ok' : 'degraded',
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
    const client = new LocalClient(peer, token, sessionHash(token), this.clock, this.config)
    const conn = new ClusterConnection(peer, client)
    this.connections.add(conn)
    this.sessions.set(client.hash, client)
    if (!this.guard.connectionOpened(peer.address)) {
      peer.close(CLOSE.policy, 'Too many connections from your address')
      return conn
    }
    peer.send({ type: 'welcome', session: token, resume_within_ms: this.config.resumeGraceMs })
    this.watchUnjoined(client)
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
      this.stopTyping(client, member)
      this.dropLocal(client, member)
      rooms.push({ room: member.room, key: member.key, username: member.username })
    }
    this.track(this.markGone({ hash: client.hash, rooms }))
  }

  /** Shows a dropped session's members offline (their grace starts), or removes them (no grace). */
  private async markGone(d: Dropped): Promise<void> {
    try {
      for (const { room, key, username } of d.rooms) {
        const k = this.keys.room(room)
        if (this.config.resumeGraceMs === 0) {
          const out = (await this.link.script('leave', roomKeyArgs(k), [
            room,
            key,
            d.hash,
            this.config.historyLimit,
            this.clock.now(),
            k.channel,
            this.config.nodeId,
          ])) as [string, number, number]
          if (out[0] === 'ok' && out[2] === 0) await this.expireEmpty(room)
          continue
        }
        const deadline = this.clock.now() + this.config.resumeGraceMs
        const changed = await this.link.script('offline', roomKeyArgs(k), [
          room,
          key,
          d.hash,
          this.config.nodeId,
          deadline,
          k.channel,
        ])
        if (changed === 1) {
          // The script told the other nodes; this node tells its own members.
          this.publishLocal(room, presenceJson(room, username, 'offline'))
          await this.link.call(() => this.link.cmd.zadd(this.keys.due, 'LT', deadline, room))
        }
      }
      const record = this.keys.session(d.hash)
      if (this.config.resumeGraceMs === 0) await this.link.call(() => this.link.cmd.del(record))
      // Kept for a resume within the grace; gone by itself after it.
      else await this.link.call(() => this.link.cmd.pexpire(record, this.sessionRecordTtlMs))
    } catch {
      // Redis is away: remember the session (bounded) and finish once it is back.
      if (this.dropped.size < MAX_DROPPED) this.dropped.set(d.hash, d)
      else this.droppedOverflow = true
    }
  }

  /** The room is empty now: its deletion is due ROOM_EMPTY_TTL_MS from now (the janitor checks). */
  private async expireEmpty(room: RoomId): Promise<void> {
    const at = this.clock.now() + this.config.roomEmptyTtlMs
    await this.link.call(() => this.link.cmd.zadd(this.keys.due, 'LT', at, room)).catch(() => {})
  }

  private track<T>(p: Promise<T>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p)).catch(() => {})
  }

  private watchUnjoined(client: LocalClient): void {
    this.clearUnjoined(client)
    client.unjoinedTimer = this.clock.setTimeout(() => {
      client.unjoinedTimer = undefined
      if (client.rooms.size === 0) client.peer?.close(CLOSE.unjoined, 'No room joined in time')
    }, this.config.unjoinedTimeoutMs)
  }

  private clearUnjoined(client: LocalClient): void {
    if (client.unjoinedTimer !== undefined) this.clock.clearTimeout(client.unjoinedTimer)
    client.unjoinedTimer = undefined
  }

  private clientOf(conn: ClusterConnection): LocalClient {
    const client = conn.client
    if (!client || client.peer !== conn.peer)
      throw new ChatError('not_authorized', 'Connection closed')
    return client
  }

  /** Frames that change shared state wait for Redis and for this node's repair after it. */
  private needRedis(): void {
    if (!this.link.isUp || !this.registered) throw new ChatError('unavailable')
  }

  private stillLive(conn: ClusterConnection, client: LocalClient): boolean {
    return conn.client === client && client.peer === conn.peer
  }

  private limit(client: LocalClient, bucket: TokenBucket, silent = false): boolean {
    if (bucket.take()) return true
    if (!client.patience.take()) {
      this.logger.info('closing flooding connection', { address: client.address })
      client.peer?.close(CLOSE.policy, 'Flooding: too many refused frames')
    }
    if (silent) return false
    throw new ChatError('rate_limited', undefined, bucket.retryAfterS())
  }

  countFrame(conn: ClusterConnection): void {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
  }

  penalize(conn: ClusterConnection): void {
    const client = conn.client
    if (client && client.peer === conn.peer) this.limit(client, client.frames, true)
  }

  // ── Feeds: each room's stream on this node ───────────────────────────────────

  private async acquire(room: RoomId): Promise<RoomFeed> {
    let feed = this.feeds.get(room)
    if (!feed) {
      const created = new RoomFeed(room, this, this.config.historyLimit)
      this.feeds.set(room, created)
      created.ready = this.startFeed(created)
      feed = created
    }
    feed.refs += 1
    try {
      await feed.ready
    } catch (e) {
      this.release(feed)
      throw e
    }
    return feed
  }

  private async startFeed(feed: RoomFeed): Promise<void> {
    const k = this.keys.room(feed.room)
    if (!this.link.isUp) throw new ChatError('unavailable')
    let timer: unknown
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(
        () => reject(new ChatError('unavailable')),
        SUBSCRIBE_TIMEOUT_MS,
      )
    })
    try {
      await Promise.race([this.link.subscribe(k.channel), timeout])
    } finally {
      this.clock.clearTimeout(timer)
    }
    // Subscribed first, then the starting point: nothing falls between the two.
    const [seq, count] = await Promise.all([
      this.link.call(() => this.link.cmd.hget(k.state, 'seq')),
      this.link.call(() => this.link.cmd.hlen(k.members)),
    ])
    feed.memberCount = count
    feed.start(Number(seq ?? 0))
  }

  private release(feed: RoomFeed): void {
    feed.refs -= 1
    if (feed.refs > 0 || this.feeds.get(feed.room) !== feed) return
    this.feeds.delete(feed.room)
    feed.clear()
    this.presence.clear(feed.room)
    this.link.unsubscribe(this.keys.room(feed.room).channel)
  }

  private onMessage(channel: string, text: string): void {
    if (channel === this.keys.nodeChannel(this.config.nodeId)) {
      if (text.startsWith('takeover|')) this.takenOver(text.slice(9))
      return
    }
    const room = this.keys.roomOfChannel(channel)
    if (room === undefined) return
    const feed = this.feeds.get(room)
    const entry = parseEnvelope(text)
    if (!feed || !entry) return
    if (entry.kind === 's') feed.receive(entry)
    else if (entry.kind === 'e') {
      if (entry.count >= 0) feed.memberCount = entry.count
      if (entry.origin !== this.config.nodeId && !this.aboutLocal(room, entry.payload))
        this.emit(room, entry.payload)
    }
  }

  /**
   * A typing frame from another node about a member who is here now (their session was
   * just taken over by a connection to this node, and the old node ended its typing): it
   * goes to the other members here, not to that member. True when it was handled so.
   */
  private aboutLocal(room: RoomId, payload: string): boolean {
    if (!payload.startsWith('{"type":"typing"')) return false
    const locals = this.locals.get(room)
    if (!locals) return false
    const { username } = JSON.parse(payload) as { username: string }
    const self = locals.get(userKey(username))
    if (!self) return false
    for (const client of new Set(locals.values()))
      if (client !== self) client.peer?.sendJson(payload)
    return true
  }

  /** FeedHost: one sequenced entry goes out to this node's members of the room. */
  deliver(room: RoomId, entry: Envelope): void {
    if (entry.target !== '') this.actOnTarget(room, entry.target)
    this.emit(room, entry.payload)
  }

  private emit(room: RoomId, payload: string): void {
    let at = 0
    for (;;) {
      const nl = payload.indexOf('\n', at)
      this.publishLocal(room, nl < 0 ? payload.slice(at) : payload.slice(at, nl))
      if (nl < 0) return
      at = nl + 1
    }
  }

  /** One frame to this node's members of a room; presence of big rooms goes out batched. */
  private publishLocal(room: RoomId, json: string): void {
    const count = this.feeds.get(room)?.memberCount ?? 0
    if (!this.presence.offer(room, count, json)) this.sink.publishJson(room, json)
  }

  /** FeedHost: reads the history after the feed's position and delivers what it missed. */
  requestSync(feed: RoomFeed, lazy = false): void {
    if (lazy) {
      this.clock.setTimeout(() => {
        if (this.feeds.get(feed.room) === feed && !feed.syncing) {
          feed.syncing = true
          void this.sync(feed)
        }
      }, ADMIT_WAIT_MS)
      return
    }
    void this.sync(feed)
  }

  private async sync(feed: RoomFeed): Promise<void> {
    try {
      const k = this.keys.room(feed.room)
      const [top, stored] = await Promise.all([
        this.link.call(() => this.link.cmd.hget(k.state, 'seq')),
        this.rooms.history(feed.room),
      ])
      if (this.feeds.get(feed.room) !== feed) return
      const last = feed.lastSeq ?? 0
      const first = stored[0] ? seqOf(stored[0]) : Number(top ?? 0) + 1
      if (last + 1 < first && Number(top ?? 0) > last) {
        // Some fell out of the shared history before this node could read them.
        this.tellNotRecovered(feed.room)
        feed.skipTo(first - 1)
      }
      feed.catchUp(
        stored
          .filter((m) => seqOf(m) > last)
          .map((m) => ({
            kind: 's' as const,
            seq: seqOf(m),
            origin: '-',
            count: -1,
            target: '',
            payload: JSON.stringify(replayFrame(m)),
          })),
      )
    } catch {
      // Redis is away: the feed keeps holding; the repair after reconnecting syncs it again.
    }
  }

  /** Tells this node's members of a room that messages were lost, as resume does. */
  private tellNotRecovered(room: RoomId): void {
    for (const client of this.locals.get(room)?.values() ?? []) {
      const member = client.rooms.get(room)
      if (!member) continue
      client.peer?.send({
        type: 'resumed',
        room,
        username: member.username,
        moderator: member.moderator,
        recovered: false,
        users: [],
      })
    }
  }

  private addLocal(client: LocalClient, member: LocalMember): void {
    client.rooms.set(member.room, member)
    let map = this.locals.get(member.room)
    if (!map) {
      map = new Map()
      this.locals.set(member.room, map)
    }
    map.set(member.key, client)
  }

  /** Forgets a local member (unsubscribed); the feed goes when its last member does. */
  private dropLocal(client: LocalClient, member: LocalMember): void {
    client.peer?.unsubscribe(member.room)
    client.rooms.delete(member.room)
    const map = this.locals.get(member.room)
    if (map?.get(member.key) === client) {
      map.delete(member.key)
      if (map.size === 0) this.locals.delete(member.room)
    }
    const feed = this.feeds.get(member.room)
    if (feed) this.release(feed)
  }

  /**
   * Subscribes a newcomer at the point of the stream its `joined`/`resumed` reached:
   * what the stream delivered since then is sent to it alone first.
   */
  private admit(feed: RoomFeed, client: LocalClient, seq: number): void {
    const room = feed.room
    feed.admit(
      seq,
      (entry) => {
        if (client.rooms.has(room)) this.emitTo(client, entry.payload)
      },
      () => {
        if (client.rooms.has(room)) client.peer?.subscribe(room)
      },
    )
  }

  private emitTo(client: LocalClient, payload: string): void {
    for (const line of payload.split('\n')) client.peer?.sendJson(line)
  }

  /** A moderation act named a member; the node that holds them acts on it. */
  private actOnTarget(room: RoomId, target: string): void {
    const [key, how, by, until] = target.split('\t')
    if (key === undefined) return
    const client = this.locals.get(room)?.get(key)
    const member = client?.rooms.get(room)
    if (!client || !member) return
    if (how === 'banned' || how === 'kicked') {
      this.stopTyping(client, member)
      client.peer?.send({ type: how, room, by: by ?? '' })
      this.dropLocal(client, member)
      if (client.rooms.size === 0) {
        const record = this.keys.session(client.hash)
        this.track(this.link.call(() => this.link.cmd.del(record)).catch(() => {}))
        if (client.peer) this.watchUnjoined(client)
      }
    } else if (how === 'muted') {
      member.mutedUntil = Number(until)
      this.stopTyping(client, member)
    } else if (how === 'unmuted') {
      member.mutedUntil = 0
    }
  }

  /** Another node (or this one) resumed a session this node still holds: close the old socket. */
  private takenOver(hash: string): void {
    const client = this.sessions.get(hash)
    if (!client) return
    this.sessions.delete(hash)
    // The others see the old connection's typing end, as on one node.
    for (const member of client.rooms.values()) this.stopTyping(client, member)
    const peer = client.peer
    client.peer = undefined
    for (const member of [...client.rooms.values()]) this.dropLocal(client, member)
    for (const c of this.connections) if (c.client === client) c.client = undefined
    peer?.close(CLOSE.replaced, 'Session resumed on another connection')
  }

  // ── Frames ───────────────────────────────────────────────────────────────────

  async join(conn: ClusterConnection, frame: JoinFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    this.needRedis()
    const username = normalizeName(frame.username, 'username')
    const key = userKey(username)
    const meta = await this.rooms.meta(frame.room)
    const current = client.rooms.get(meta.id)
    if (current) {
      if (current.key !== key)
        throw new ChatError('invalid_message', `Already in this room as "${current.username}"`)
    }
    let moderator = current?.moderator ?? false
    if (!current && frame.token !== undefined) {
      if (!this.rooms.checkToken(meta, frame.token))
        throw new ChatError('not_authorized', 'Wrong moderator token')
      moderator = true
    } else if (!current && meta.is_private) {
      if (frame.password === undefined)
        throw new ChatError('not_authorized', 'This room needs a password')
      const ok = await this.rooms.verifyPassword(meta, frame.password, [
        client.passwordAttempts,
        this.guard.passwordBucket(client.address),
      ])
      if (!ok) throw new ChatError('not_authorized', 'Wrong password')
      if (!this.stillLive(conn, client)) return
    }
    await this.admitMember(conn, client, meta, username, moderator, frame.ref, undefined)
  }

  async create(conn: ClusterConnection, frame: CreateFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    this.needRedis()
    const username = normalizeName(frame.username, 'username')
    if (this.draining) throw new ChatError('shutting_down')
    const { meta, token } = await this.rooms.create(frame, client.address)
    if (!this.stillLive(conn, client)) return
    await this.admitMember(conn, client, meta, username, true, frame.ref, token)
  }

  private async admitMember(
    conn: ClusterConnection,
    client: LocalClient,
    meta: RoomMeta,
    username: string,
    moderator: boolean,
    ref: Ref | undefined,
    token: string | undefined,
  ): Promise<void> {
    const key = userKey(username)
    const feed = await this.acquire(meta.id)
    feed.meta = meta
    const k = this.keys.room(meta.id)
    let out: [string, number, string[], string[], string]
    try {
      out = (await this.link.script('join', roomKeyArgs(k), [
        meta.id,
        key,
        username,
        this.config.nodeId,
        client.hash,
        moderator ? 1 : 0,
        meta.max_users,
        this.config.historyLimit,
        this.clock.now(),
        k.channel,
        client.banId,
      ])) as typeof out
    } catch (e) {
      this.release(feed)
      throw e
    }
    const [code, seq, members, history, muteEnd] = out
    if (code !== 'ok' && code !== 'again') {
      this.release(feed)
      if (code === 'banned') throw new ChatError('not_authorized', 'You are banned from this room')
      if (code === 'room_not_found') throw new ChatError('room_not_found')
      throw new ChatError(code === 'room_full' ? 'room_full' : 'username_taken')
    }
    const already = client.rooms.get(meta.id)
    if (already || !this.stillLive(conn, client)) {
      // A rejoin under the same name, or the connection went away while we waited.
      this.release(feed)
      if (!already) {
        if (code === 'ok')
          this.track(
            this.markGone({ hash: client.hash, rooms: [{ room: meta.id, key, username }] }),
          )
        return
      }
    } else {
      const member: LocalMember = {
        room: meta.id,
        username,
        key,
        moderator,
        typing: false,
        typingTimer: undefined,
        lastTypingBroadcastAt: Number.NEGATIVE_INFINITY,
        mutedUntil: Number(muteEnd) || 0,
      }
      this.addLocal(client, member)
      this.clearUnjoined(client)
      this.track(this.recordRoom(client, meta.id, key))
    }
    const mod = already?.moderator ?? moderator
    client.peer?.sendJson(
      joinedJson(
        meta.id,
        already?.username ?? username,
        mod,
        JSON.stringify(usersOf(members)),
        `[${history.join(',')}]`,
        ref,
        token,
      ),
    )
    if (!already) this.admit(feed, client, seq)
  }

  /** Notes in the session's record (for a resume on any node) that it is in `room` as `key`. */
  private async recordRoom(client: LocalClient, room: RoomId, key: string): Promise<void> {
    const fields: Record<string, string> = { [room]: key }
    if (client.banId !== client.hash) fields._id = client.banId
    await this.link
      .call(() => this.link.cmd.hset(this.keys.session(client.hash), fields))
      .catch(() => {})
  }

  /** The local member of `roomId` (by id, or by a name that slugs to it). */
  private memberOf(client: LocalClient, roomId: RoomId): LocalMember | undefined {
    return client.rooms.get(roomId) ?? client.rooms.get(slugify(roomId))
  }

  /** Not a member: `room_not_found` if the room does not exist, else `not_authorized`. */
  private async notJoined(roomId: RoomId): Promise<never> {
    await this.rooms.meta(roomId)
    throw new ChatError('not_authorized', 'You have not joined this room')
  }

  message(conn: ClusterConnection, frame: MessageFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.messages)
    this.needRedis()
    const member = this.memberOf(client, frame.room)
    if (!member) return this.notJoined(frame.room)
    if (member.mutedUntil > this.clock.now())
      throw new ChatError('not_authorized', 'You are muted in this room')
    checkContent(frame.content, this.config.maxContentChars)
    this.stopTyping(client, member)
    return this.send(client, member, frame.content)
  }

  private async send(client: LocalClient, member: LocalMember, content: string): Promise<void> {
    const k = this.keys.room(member.room)
    const now = this.clock.now()
    const room = JSON.stringify(member.room)
    const sender = JSON.stringify(member.username)
    const text = JSON.stringify(content)
    const out = (await this.link.script('message', roomKeyArgs(k), [
      member.key,
      client.hash,
      this.config.historyLimit,
      room,
      sender,
      text,
      now,
      k.channel,
      this.config.nodeId,
    ])) as [string, number]
    if (out[0] === 'muted') throw new ChatError('not_authorized', 'You are muted in this room')
    if (out[0] !== 'ok') throw new ChatError('not_authorized', 'You have not joined this room')
  }

  typing(conn: ClusterConnection, roomId: RoomId): Promise<void> | undefined {
    const client = this.clientOf(conn)
    if (!this.limit(client, client.frames, true)) return
    const member = this.memberOf(client, roomId)
    if (!member) return this.notJoined(roomId)
    if (member.mutedUntil > this.clock.now()) return
    this.clearTyping(member)
    member.typingTimer = this.clock.setTimeout(() => {
      member.typingTimer = undefined
      this.stopTyping(client, member)
    }, this.config.typingTimeoutMs)
    const now = this.clock.now()
    if (now - member.lastTypingBroadcastAt < this.config.typingThrottleMs) return
    member.lastTypingBroadcastAt = now
    member.typing = true
    this.event(client, member, {
      type: 'typing',
      room: member.room,
      username: member.username,
      active: true,
    })
  }

  private stopTyping(client: LocalClient, member: LocalMember): void {
    this.clearTyping(member)
    if (!member.typing) return
    member.typing = false
    this.event(client, member, {
      type: 'typing',
      room: member.room,
      username: member.username,
      active: false,
    })
  }

  private clearTyping(member: LocalMember): void {
    if (member.typingTimer !== undefined) this.clock.clearTimeout(member.typingTimer)
    member.typingTimer = undefined
  }

  /** An unstored event from a member: to the others here at once, and to the other nodes. */
  private event(client: LocalClient, member: LocalMember, frame: ServerFrame): void {
    const json = JSON.stringify(frame)
    if (client.peer) client.peer.publishToOthers(member.room, frame)
    else this.sink.publishJson(member.room, json)
    if (!this.link.isUp) return
    const channel = this.keys.room(member.room).channel
    this.link.cmd.publish(channel, `e|0|${this.config.nodeId}|-||${json}`).catch(() => {})
  }

  async leave(conn: ClusterConnection, roomId: RoomId, ref: Ref | undefined): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    this.needRedis()
    const member = this.memberOf(client, roomId) ?? (await this.notJoined(roomId))
    const k = this.keys.room(member.room)
    // Off the room's topic first, so the leaver does not hear their own user_left.
    client.peer?.unsubscribe(member.room)
    let count: number
    try {
      const out = (await this.link.script('leave', roomKeyArgs(k), [
        member.room,
        member.key,
        client.hash,
        this.config.historyLimit,
        this.clock.now(),
        k.channel,
        this.config.nodeId,
      ])) as [string, number, number]
      count = out[0] === 'ok' ? out[2] : -1
    } catch (e) {
      if (client.rooms.get(member.room) === member) client.peer?.subscribe(member.room)
      throw e
    }
    this.stopTyping(client, member)
    this.dropLocal(client, member)
    const record = this.keys.session(client.hash)
    this.track(
      this.link
        .call(() =>
          client.rooms.size === 0
            ? this.link.cmd.del(record)
            : this.link.cmd.hdel(record, member.room),
        )
        .catch(() => {}),
    )
    if (count === 0) this.track(this.expireEmpty(member.room))
    if (client.rooms.size === 0 && client.peer) this.watchUnjoined(client)
    const left: ServerFrame = { type: 'left', room: member.room }
    if (ref !== undefined) left.ref = ref
    client.peer?.send(left)
  }

  async history(conn: ClusterConnection, frame: HistoryFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    const meta = await this.rooms.meta(frame.room)
    if (meta.is_private && !client.rooms.has(meta.id))
      throw new ChatError('not_authorized', 'You have not joined this room')
    const { messages, has_more } = await this.rooms.page(meta.id, frame.before, frame.limit)
    const reply: ServerFrame = { type: 'history', room: meta.id, messages, has_more }
    if (frame.ref !== undefined) reply.ref = frame.ref
    client.peer?.send(reply)
  }

  async moderate(conn: ClusterConnection, frame: ModerationFrame | MuteFrame): Promise<void> {
    const client = this.clientOf(conn)
    this.limit(client, client.frames)
    this.needRedis()
    const mod = this.memberOf(client, frame.room) ?? (await this.notJoined(frame.room))
    if (!mod.moderator) throw new ChatError('not_authorized', 'Only a moderator may do that')
    const name = normalizeName(frame.username, 'username')
    const key = userKey(name)
    const k = this.keys.room(mod.room)
    const out = (await this.link.script('moderate', roomKeyArgs(k), [
      mod.room,
      frame.action,
      mod.key,
      client.hash,
      key,
      name,
      this.clock.now(),
      this.config.historyLimit,
      k.channel,
      this.config.nodeId,
      frame.action === 'mute' ? frame.duration_ms : 0,
    ])) as [string, number, string, number | string, number]
    const [code, , targetSession, count, targetOnline] = out
    switch (code) {
      case 'ok':
        break
      case 'self':
        throw new ChatError('invalid_message', `You cannot ${frame.action} yourself`)
      case 'no_user':
        throw new ChatError('invalid_message', `No user "${name}" in this room`)
      case 'not_banned':
        throw new ChatError('invalid_message', `"${name}" is not banned here`)
      case 'not_muted':
        throw new ChatError('invalid_message', `"${name}" is not muted here`)
      case 'not_moderator':
        throw new ChatError('not_authorized', 'Only a moderator may do that')
      default:
        throw new ChatError('not_authorized', 'You have not joined this room')
    }
    if ((frame.action === 'ban' || frame.action === 'kick') && targetSession) {
      // The evicted session no longer has this room; if it is away, it is told on resume.
      const record = this.keys.session(targetSession)
      await this.link.call(() => this.link.cmd.hdel(record, mod.room))
      if (targetOnline === 0) {
        const how = frame.action === 'ban' ? 'banned' : 'kicked'
        await this.link.call(() => this.link.cmd.hset(record, `!${mod.room}`, how))
        await this.link.call(() => this.link.cmd.pexpire(record, this.sessionRecordTtlMs, 'LT'))
      }
    }
    if (count === 0) this.track(this.expireEmpty(mod.room))
    const ack: ServerFrame = { type: 'moderated', room: mod.room, action: frame.action }
    if (frame.ref !== undefined) ack.ref = frame.ref
    client.peer?.send(ack)
  }

  // ── Resume ───────────────────────────────────────────────────────────────────

  async resume(conn: ClusterConnection, frame: ResumeFrame): Promise<void> {
    const fresh = this.clientOf(conn)
    this.limit(fresh, fresh.frames)
    this.needRedis()
    if (conn.resumed || fresh.rooms.size > 0) {
      throw new ChatError(
        'invalid_message',
        'Resume must come before any join, once per connection',
      )
    }
    const old = sessionHash(frame.session)
    if (old === fresh.hash) throw new ChatError('not_authorized', 'Unknown or expired session')
    const record = await this.link.call(() => this.link.cmd.hgetall(this.keys.session(old)))
    const entries = Object.entries(record)
    if (entries.length === 0) throw new ChatError('not_authorized', 'Unknown or expired session')
    conn.resumed = true
    const claimed: { feed: RoomFeed; out: ClaimOut }[] = []
    const takeovers = new Set<string>()
    fresh.banId = record._id ?? old
    for (const [room, key] of entries) {
      if (room.startsWith('!') || room === '_id') continue
      const feed = await this.acquire(room).catch(() => undefined)
      if (!feed) continue
      feed.meta ??= await this.rooms.meta(room).catch(() => undefined)
      const k = this.keys.room(room)
      const out = (await this.link
        .script('claim', roomKeyArgs(k), [
          room,
          key,
          old,
          fresh.hash,
          this.config.nodeId,
          k.channel,
        ])
        .catch(() => ['gone'])) as ClaimOut
      if (out[0] !== 'ok') {
        this.release(feed)
        continue
      }
      if (out[1] === 1) takeovers.add(out[2])
      claimed.push({ feed, out })
    }
    const removed = entries.filter(([room]) => room.startsWith('!'))
    if (claimed.length === 0 && removed.length === 0) {
      conn.resumed = false
      throw new ChatError('not_authorized', 'Unknown or expired session')
    }
    for (const node of takeovers) {
      // Here: at once, so the old connection's typing ends before the resumer is subscribed.
      if (node === this.config.nodeId) this.takenOver(old)
      else
        await this.link
          .call(() => this.link.cmd.publish(this.keys.nodeChannel(node), `takeover|${old}`))
          .catch(() => {})
    }
    const next: Record<string, string> = {}
    for (const { feed, out } of claimed) next[feed.room] = userKey(out[3])
    if (fresh.banId !== fresh.hash) next._id = fresh.banId
    const rename = this.link.cmd.multi().del(this.keys.session(old))
    if (claimed.length > 0) rename.hset(this.keys.session(fresh.hash), next)
    await this.link.call(() => rename.exec()).catch(() => {})
    if (!this.stillLive(conn, fresh)) {
      for (const { feed } of claimed) this.release(feed)
      return
    }
    for (const [room, how] of removed) {
      const err: ServerFrame = {
        type: 'error',
        code: 'not_authorized',
        message:
          how === 'banned' ? 'You were banned from this room' : 'You were kicked from this room',
        room: room.slice(1),
      }
      if (frame.ref !== undefined) err.ref = frame.ref
      fresh.peer?.send(err)
    }
    for (const { feed, out } of claimed) {
      this.resumeRoom(fresh, feed, out, frame.last_ids?.[feed.room], frame.ref)
    }
    if (fresh.rooms.size > 0) this.clearUnjoined(fresh)
  }

  private resumeRoom(
    client: LocalClient,
    feed: RoomFeed,
    out: ClaimOut,
    lastId: string | undefined,
    ref: Ref | undefined,
  ): void {
    const [, , , username, moderator, seq, members, history, muteEnd] = out
    const member: LocalMember = {
      room: feed.room,
      username,
      key: userKey(username),
      moderator: moderator === 1,
      typing: false,
      typingTimer: undefined,
      lastTypingBroadcastAt: Number.NEGATIVE_INFINITY,
      mutedUntil: Number(muteEnd) || 0,
    }
    this.addLocal(client, member)
    // Back online: the script told the other nodes; this node tells its own members, before
    // the resumer is subscribed (they see no presence frame about themselves).
    if (out[1] === 0) this.publishLocal(feed.room, presenceJson(feed.room, username, 'online'))
    const stored = history.map((h) => JSON.parse(h) as StoredMessage)
    const seen = lastId !== undefined && /^\d{1,16}$/.test(lastId) ? Number(lastId) : 0
    const first = seq - stored.length + 1
    const resumed: ServerFrame = {
      type: 'resumed',
      room: feed.room,
      username,
      moderator: member.moderator,
      recovered: seen + 1 >= first,
      users: usersOf(members),
    }
    if (ref !== undefined) resumed.ref = ref
    client.peer?.send(resumed)
    this.metrics.resumed(resumed.recovered)
    for (const m of stored) if (seqOf(m) > seen) client.peer?.send(replayFrame(m))
    this.admit(feed, client, seq)
  }

  // ── REST views ───────────────────────────────────────────────────────────────

  listRooms(q: string | undefined, limit = 50, cursor?: string) {
    return this.rooms.list(q, limit, cursor)
  }

  async createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }> {
    if (this.draining) throw new ChatError('shutting_down')
    const { meta, token } = await this.rooms.create(input, address)
    return {
      id: meta.id,
      name: meta.name,
      is_private: meta.is_private,
      max_users: meta.max_users,
      user_count: 0,
      created_at: meta.created_at,
      moderator_token: token,
    }
  }

  roomDetails(id: RoomId): Promise<RoomView & { users?: UserView[] }> {
    return this.rooms.details(id)
  }

  messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    return this.rooms.messagesFor(id, credentials, address, before, limit)
  }

  bansOf(id: RoomId, token: string | undefined) {
    return this.rooms.bans(id, token)
  }

  // ── Repair after Redis comes back ────────────────────────────────────────────

  /**
   * Runs on every (re)connection to Redis: registers this node, puts back the default
   * rooms, the rooms and members this node serves (Redis may have come back empty, or
   * other nodes may have taken this node for dead), finishes the sessions that dropped
   * meanwhile, and brings every room's feed up to date from the shared history.
   */
  private repair(): void {
    const run = async () => {
      try {
        await this.janitor.heartbeat()
        await this.checkEpoch()
        // The rooms this node serves first: their sequences go back above what was sent.
        await this.restoreMembers()
        for (const name of this.config.defaultRooms) {
          const meta = this.rooms.defaultMeta(normalizeName(name, 'room name'))
          if (meta.id) await this.rooms.ensure(meta, 0)
        }
        const dropped = [...this.dropped.values()]
        this.dropped = new Map()
        if (this.droppedOverflow) this.logger.warn('too many sessions dropped while redis was away')
        this.droppedOverflow = false
        for (const d of dropped) await this.markGone(d)
        for (const feed of this.feeds.values()) {
          feed.syncing = true
          await this.sync(feed)
        }
        this.registered = true
        this.logger.info('node registered', { node: this.config.nodeId })
      } catch (e) {
        this.logger.warn('cluster repair failed; retrying', { error: (e as Error).message })
        this.clock.setTimeout(() => {
          if (this.link.isUp && !this.registered) this.repair()
        }, 500)
      } finally {
        this.repairing = undefined
      }
    }
    if (this.repairing) return
    this.repairing = run()
  }

  private epoch: string | undefined
  /**
   * After Redis lost its data, sequences restart above what any node had: each node puts
   * its rooms back at its last id plus this margin, more than the few messages by which
   * two nodes can differ, so that no id is ever given twice or goes backwards.
   */
  private floorMargin = 0

  private async checkEpoch(): Promise<void> {
    const cmd = this.link.cmd
    await this.link.call(() => cmd.set(this.keys.epoch, randomToken(), 'NX'))
    const epoch = (await this.link.call(() => cmd.get(this.keys.epoch))) ?? ''
    this.floorMargin = 0
    if (this.epoch !== undefined && this.epoch !== epoch) {
      this.floorMargin = LOST_DATA_SEQ_MARGIN
      this.logger.warn('redis lost its data: re-registering rooms and members', {
        node: this.config.nodeId,
      })
    }
    this.epoch = epoch
  }

  private async restoreMembers(): Promise<void> {
    for (const [room, map] of this.locals) {
      const feed = this.feeds.get(room)
      // Redis may have lost the registry entry: put the room back as this node knew it.
      const meta = feed?.meta ?? (await this.rooms.meta(room).catch(() => undefined))
      if (meta) await this.rooms.ensure(meta, (feed?.lastSeq ?? 0) + this.floorMargin)
      const k = this.keys.room(room)
      for (const [key, client] of [...map]) {
        const member = client.rooms.get(room)
        if (!member) continue
        const result = await this.link.script('restore', roomKeyArgs(k), [
          room,
          key,
          member.username,
          this.config.nodeId,
          client.hash,
          member.moderator ? 1 : 0,
          this.clock.now(),
          k.channel,
          client.banId,
        ])
        if (result === 'ok') {
          await this.recordRoom(client, room, key)
          continue
        }
        client.peer?.send({
          type: 'error',
          code: result === 'taken' ? 'username_taken' : 'room_not_found',
          message: 'You lost your place in this room while the server was unavailable',
          room,
        })
        this.dropLocal(client, member)
      }
    }
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────────

  drain(): void {
    this.draining = true
    for (const conn of this.connections) {
      const reconnect = 1000 + Math.floor(Math.random() * this.config.shutdownReconnectSpreadMs)
      conn.peer.send({ type: 'shutdown', reconnect_in_ms: reconnect })
      conn.peer.close(CLOSE.goingAway, 'Server shutting down')
    }
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
    for (const map of this.locals.values()) members += map.size
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
      for (const member of client.rooms.values()) this.clearTyping(member)
    }
    await Promise.allSettled([...this.inflight])
    await this.janitor.leave().catch(() => {})
    await this.link.close()
  }
}

function presenceJson(room: RoomId, username: string, status: 'online' | 'offline'): string {
  return JSON.stringify({ type: 'presence', room, username, status })
}

/** What the claim script returns. */
type ClaimOut = [string, number, string, string, number, number, string[], string[], string]
