/**
 * The frames of a member on a cluster node. Join, create, leave and the moderation acts
 * follow the rules in src/chat over the Redis engine; message, typing and history are here.
 */

import type { Identity } from '../auth/tokens.ts'
import { type Amender, amend } from '../chat/amend.ts'
import { type DirectBook, listDirects, noticeDirect, openDirect } from '../chat/direct.ts'
import { isDirectRoom } from '../chat/direct-ids.ts'
import { create, type Joiner, join, leave, revoke, revokedBy } from '../chat/membership.ts'
import { history, type Poster, post } from '../chat/messages.ts'
import { moderate } from '../chat/moderation.ts'
import { ReadMarkers } from '../chat/read-markers.ts'
import { type CreationContext, createRoom } from '../chat/rooms.ts'
import { banIdentity } from '../chat/sign-in.ts'
import { Typing } from '../chat/typing.ts'
import type { FrameHandlers } from '../domain/chat-store.ts'
import type { Guard } from '../domain/guard.ts'
import { slugify } from '../domain/names.ts'
import type { RoomSink } from '../domain/ports.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import type {
  AmendFrame,
  CreateFrame,
  DirectFrame,
  DirectsFrame,
  HistoryFrame,
  JoinFrame,
  MessageFrame,
  ModerationFrame,
  MuteFrame,
  ReadFrame,
  Ref,
  RoomId,
  ServerFrame,
} from '../protocol/frames.ts'
import { withUserId } from '../protocol/frames.ts'
import type { Delivery } from './delivery.ts'
import type { ClusterConnection, LocalMember, LocalSession } from './local-session.ts'
import type { NodeParts } from './node-parts.ts'
import { RedisReadMarkers } from './read-markers-redis.ts'
import type { RedisEngine } from './redis-engine.ts'
import type { Joined } from './redis-engine-host.ts'
import type { RoomFeed } from './room-feed.ts'
import type { SessionRecords } from './session-records.ts'

/** What the frames need of the store's connections; ClusterStore provides it. */
export interface ClusterFramesHost {
  readonly guard: Guard
  isDraining(): boolean
  /** What room creation needs besides the engine. */
  creation(): CreationContext
  /** The connection's session; `not_authorized` once it closed. */
  clientOf(conn: ClusterConnection): LocalSession
  /** Takes a token from the bucket, or refuses (`rate_limited`, or false when silent). */
  limit(client: LocalSession, bucket: TokenBucket, silent?: boolean): boolean
  /** Frames that change shared state wait for Redis and for this node's repair after it. */
  needRedis(): void
  /** The connection still holds this session (it did not close while we waited). */
  stillLive(conn: ClusterConnection, client: LocalSession): boolean
  /** Redis work that `close` waits for. */
  track(p: Promise<unknown>): void
  /** Closes the connection if it joins no room in time. */
  watchUnjoined(client: LocalSession): void
  clearUnjoined(client: LocalSession): void
  /** The live session here with this hash, if any. */
  sessionByHash(hash: string): LocalSession | undefined
  /** Each user's direct rooms, and their notices (src/chat/direct.ts). */
  readonly directs: DirectBook
}

export class ClusterFrames implements FrameHandlers<ClusterConnection> {
  constructor(
    private readonly parts: NodeParts,
    private readonly sink: RoomSink,
    private readonly delivery: Delivery,
    private readonly records: SessionRecords,
    private readonly host: ClusterFramesHost,
    private readonly engine: RedisEngine,
  ) {
    this.typist = new Typing<LocalMember>(
      parts.config,
      parts.clock,
      (member) => member.room,
      (member, frame) => this.event(member, withUserId(frame, member.userId)),
    )
    this.readers = new ReadMarkers<LocalMember>(
      new RedisReadMarkers(parts),
      parts.clock,
      parts.config,
      (member, frame) => this.event(member, frame),
    )
  }

  private readonly typist: Typing<LocalMember>
  private readonly readers: ReadMarkers<LocalMember>

  async join(conn: ClusterConnection, frame: JoinFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    await join(this.engine, this.joiner(conn, client), frame, () => this.parts.clock.now())
  }

  async create(conn: ClusterConnection, frame: CreateFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    if (this.host.isDraining()) throw new ChatError('shutting_down')
    await create(
      this.engine,
      this.joiner(conn, client),
      frame,
      () => createRoom(this.engine, this.host.creation(), frame, client.address, client.user?.id),
      () => this.parts.clock.now(),
    )
  }

  /** `direct`: joins the direct room of the user and `user_id`, made first if new. */
  async direct(conn: ClusterConnection, frame: DirectFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    const ctx = {
      book: this.host.directs,
      creation: this.host.creation(),
      join: (who: Joiner, f: JoinFrame) => join(this.engine, who, f, () => this.parts.clock.now()),
    }
    await openDirect(this.engine, ctx, this.joiner(conn, client), frame)
  }

  /** `directs`: the user's direct rooms. */
  async listDirects(conn: ClusterConnection, frame: DirectsFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    await listDirects(this.engine, this.host.directs, client.user, frame, (f) =>
      client.peer?.send(f),
    )
  }

  /** The session of `conn` as the join rules see it. */
  private joiner(conn: ClusterConnection, client: LocalSession): Joiner {
    return {
      session: client.hash,
      identity: banIdentity(client, client.banId),
      user: client.user,
      address: client.address,
      passwordBuckets: () => [
        client.passwordAttempts,
        this.host.guard.passwordBucket(client.address),
      ],
      memberOf: (room) => client.rooms.get(room),
      live: () => this.host.stillLive(conn, client),
      reply: (json) => client.peer?.sendJson(json),
      readMarkersMaxMembers: this.parts.config.readMarkersMaxMembers,
    }
  }

  /** RedisEngine: the room's feed, acquired before the join so that it hears the join. */
  async beforeJoin(room: RoomId): Promise<RoomFeed> {
    const feed = await this.delivery.acquire(room)
    feed.meta ??= await this.parts.rooms.meta(room).catch(() => undefined)
    return feed
  }

  /**
   * RedisEngine: the join landed (or not: `joined` undefined). The newcomer becomes a
   * local member, gets `joined`, then the room's stream from the join on; if the
   * connection went away meanwhile, the membership goes offline as any dropped one.
   */
  afterJoin(feed: RoomFeed, joined: Joined | undefined): void {
    if (!joined) {
      this.delivery.release(feed)
      return
    }
    const { hash, key, username, moderator, seq, mutedUntil } = joined
    const client = this.host.sessionByHash(hash)
    if (!client?.peer || client.rooms.has(feed.room)) {
      this.delivery.release(feed)
      if (!client?.rooms.has(feed.room))
        this.host.track(
          this.records.markGone({
            hash,
            rooms: [{ room: feed.room, key, username, userId: client?.user?.id }],
          }),
        )
      return
    }
    const member: LocalMember = {
      room: feed.room,
      username,
      key,
      moderator,
      userId: client.user?.id,
      typingState: undefined,
      mutedUntil,
    }
    this.delivery.addLocal(client, member)
    this.host.clearUnjoined(client)
    this.host.track(this.records.recordRoom(client, feed.room, key))
    joined.greet()
    this.delivery.admit(feed, client, seq)
  }

  /** The local member of `roomId` (by id, or by a name that slugs to it). */
  private memberOf(client: LocalSession, roomId: RoomId): LocalMember | undefined {
    return client.rooms.get(roomId) ?? client.rooms.get(slugify(roomId))
  }

  /** Not a member: `room_not_found` if the room does not exist, else `not_authorized`. */
  private async notJoined(roomId: RoomId): Promise<never> {
    await this.parts.rooms.meta(roomId)
    throw new ChatError('not_authorized', 'You have not joined this room')
  }

  message(conn: ClusterConnection, frame: MessageFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.messages)
    this.host.needRedis()
    const member = this.memberOf(client, frame.room)
    if (!member) return this.notJoined(frame.room)
    const poster = posterOf(client, member)
    const now = this.parts.clock.now()
    const posted = post(
      this.engine,
      poster,
      frame.content,
      now,
      this.parts.config.maxContentChars,
      () => this.stopTyping(client, member),
      frame.reply_to,
    ) as Promise<void>
    if (!isDirectRoom(poster.room)) return posted
    return posted.then(() => {
      // The notice is not the poster's answer: its failure is logged, not sent back.
      this.host.track(
        noticeDirect(this.engine, this.host.directs, poster.room, poster).catch((e) =>
          this.parts.logger.error('direct notice failed', { room: poster.room, error: String(e) }),
        ),
      )
    })
  }

  /** `edit`, `delete`, `react`: a change to a kept message, counted as a message. */
  amend(conn: ClusterConnection, frame: AmendFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.messages)
    this.host.needRedis()
    const member = this.memberOf(client, frame.room)
    if (!member) return this.notJoined(frame.room)
    const amender: Amender = { ...posterOf(client, member), moderator: member.moderator }
    const now = this.parts.clock.now()
    return Promise.resolve(
      amend(this.engine, amender, frame, now, this.parts.config.maxContentChars),
    )
  }

  typing(conn: ClusterConnection, roomId: RoomId): Promise<void> | undefined {
    const client = this.host.clientOf(conn)
    if (!this.host.limit(client, client.frames, true)) return
    const member = this.memberOf(client, roomId)
    if (!member) return this.notJoined(roomId)
    this.typist.typed(member, member.mutedUntil)
  }

  /** `read`: moves the member's read marker forward (src/chat/read-markers.ts). */
  read(conn: ClusterConnection, frame: ReadFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    const member = this.memberOf(client, frame.room)
    if (!member) return this.notJoined(frame.room)
    return Promise.resolve(this.readers.read(member, client.hash, frame.id))
  }

  /** Cancels this node's trailing `read` timers (the store is closing). */
  closeReads(): void {
    this.readers.close()
  }

  stopTyping(_client: LocalSession, member: LocalMember): void {
    this.typist.stop(member)
  }

  clearTyping(member: LocalMember): void {
    this.typist.clear(member)
  }

  /** An unstored event from a member: to the others here at once, and to the other nodes. */
  private event(member: LocalMember, frame: ServerFrame): void {
    const json = JSON.stringify(frame)
    const own = this.delivery.holdersOf(member.room, member.key)
    const peer = own.find((c) => c.rooms.get(member.room) === member)?.peer
    if (peer) peer.publishToOthers(member.room, frame)
    else this.sink.publishJson(member.room, json)
    if (!this.parts.link.isUp) return
    const channel = this.parts.keys.room(member.room).channel
    this.parts.link.cmd
      .publish(channel, `e|0|${this.parts.config.nodeId}|-||${json}`)
      .catch(() => {})
  }

  /** A refreshed sign-in: the rooms its new grants no longer allow are left (`access_revoked`). */
  async refreshed(client: LocalSession, old: Identity, next: Identity): Promise<void> {
    for (const member of [...client.rooms.values()]) {
      const room = await this.engine.room(member.room).catch(() => undefined)
      if (!room || !revokedBy(old, next, room, member.moderator)) continue
      const held = { ...member, session: client.hash }
      await revoke(this.engine, held, this.parts.clock.now(), (left) => client.peer?.send(left))
    }
  }

  async leave(conn: ClusterConnection, roomId: RoomId, ref: Ref | undefined): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    const member = this.memberOf(client, roomId) ?? (await this.notJoined(roomId))
    await leave(
      this.engine,
      { ...member, session: client.hash },
      ref,
      this.parts.clock.now(),
      (left) => client.peer?.send(left),
    )
  }

  /**
   * RedisEngine: the member of session `hash` left `room` (or the room lost them); once the
   * stream delivered `after` here, they are off the room's topic, so they still get
   * everything stored before (their own last message among it) and not their own user_left.
   */
  async dropHere(room: RoomId, hash: string, after: number): Promise<void> {
    const client = this.host.sessionByHash(hash)
    if (!client?.rooms.has(room)) return
    if (after > 0) await this.delivery.reached(room, after)
    const member = client.rooms.get(room)
    if (!member) return
    client.peer?.unsubscribe(room)
    this.stopTyping(client, member)
    this.delivery.dropLocal(client, member)
    const record = this.parts.keys.session(client.hash)
    this.host.track(
      this.parts.link
        .call(() =>
          client.rooms.size === 0
            ? this.parts.link.cmd.del(record)
            : this.parts.link.cmd.hdel(record, room),
        )
        .catch(() => {}),
    )
    if (client.rooms.size === 0 && client.peer) this.host.watchUnjoined(client)
  }

  async history(conn: ClusterConnection, frame: HistoryFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    await history(
      this.engine,
      frame,
      (room) => client.rooms.has(room),
      (reply) => client.peer?.send(reply),
    )
  }

  async moderate(conn: ClusterConnection, frame: ModerationFrame | MuteFrame): Promise<void> {
    const client = this.host.clientOf(conn)
    this.host.limit(client, client.frames)
    this.host.needRedis()
    const mod = this.memberOf(client, frame.room) ?? (await this.notJoined(frame.room))
    await moderate(
      this.engine,
      { ...mod, session: client.hash },
      frame,
      () => this.parts.clock.now(),
      (ack) => client.peer?.send(ack),
    )
  }
}

/** A local member of a session, as the message rules see a poster. */
function posterOf(client: LocalSession, member: LocalMember): Poster {
  return {
    room: member.room,
    key: member.key,
    username: member.username,
    session: client.hash,
    userId: client.user?.id,
    mutedUntil: member.mutedUntil,
  }
}
