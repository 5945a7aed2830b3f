/**
 * Each room's stream on this node: the subscription to its channel (a RoomFeed), and the
 * delivery of what it carries to this node's members of the room, in sequence order.
 */

import type { PresenceBatcher } from '../chat/presence.ts'
import { systemClock } from '../domain/clock.ts'
import { userKey } from '../domain/names.ts'
import type { RoomSink } from '../domain/ports.ts'
import { replayFrame } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { RoomId, ServerFrame } from '../protocol/frames.ts'
import { seqOf } from './cluster-rooms.ts'
import type { LocalMember, LocalSession } from './local-session.ts'
import type { NodeParts } from './node-parts.ts'
import { type Envelope, type FeedHost, parseEnvelope, RoomFeed } from './room-feed.ts'

/** Longest a SUBSCRIBE may take before the join that needs it is refused. */
const SUBSCRIBE_TIMEOUT_MS = 2000
/** A newcomer waits this long for the stream before the node reads the history instead. */
const ADMIT_WAIT_MS = 250

/** What delivery needs of the rest of the store; ClusterStore provides it. */
export interface DeliveryHost {
  stopTyping(client: LocalSession, member: LocalMember): void
  /** Closes the connection if it joins no room in time. */
  watchUnjoined(client: LocalSession): void
  /** Another node (or this one) resumed a session this node still holds. */
  takenOver(hash: string): void
  /** Redis work that `close` waits for. */
  track(p: Promise<unknown>): void
}

export class Delivery implements FeedHost {
  readonly feeds = new Map<RoomId, RoomFeed>()
  /**
   * Local members per room, by user key (the targets of moderation acts): the sessions here
   * that hold each (several for a signed-in user's tabs on this node).
   */
  readonly locals = new Map<RoomId, Map<string, Set<LocalSession>>>()

  constructor(
    private readonly parts: NodeParts,
    private readonly sink: RoomSink,
    private readonly presence: PresenceBatcher,
    private readonly host: DeliveryHost,
  ) {}

  /** The room's feed, subscribed and started; hold it until `release`. */
  async acquire(room: RoomId): Promise<RoomFeed> {
    let feed = this.feeds.get(room)
    if (!feed) {
      const created = new RoomFeed(room, this, this.parts.config.historyLimit)
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
    const { keys, link } = this.parts
    // Time spent waiting on Redis is wall-clock time, whatever clock the chat rules run on.
    const clock = systemClock
    const k = keys.room(feed.room)
    if (!link.isUp) throw new ChatError('unavailable')
    let timer: unknown
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new ChatError('unavailable')), SUBSCRIBE_TIMEOUT_MS)
    })
    try {
      await Promise.race([link.subscribe(k.channel), timeout])
    } finally {
      clock.clearTimeout(timer)
    }
    // Subscribed first, then the starting point: nothing falls between the two.
    const [seq, count] = await Promise.all([
      link.call(() => link.cmd.hget(k.state, 'seq')),
      link.call(() => link.cmd.hlen(k.members)),
    ])
    feed.memberCount = count
    feed.start(Number(seq ?? 0))
  }

  release(feed: RoomFeed): void {
    feed.refs -= 1
    if (feed.refs > 0 || this.feeds.get(feed.room) !== feed) return
    this.feeds.delete(feed.room)
    feed.clear()
    this.presence.clear(feed.room)
    this.parts.link.unsubscribe(this.parts.keys.room(feed.room).channel)
  }

  /** A message on a channel this node listens to (its rooms' and its own). */
  onMessage(channel: string, text: string): void {
    const { keys, config } = this.parts
    if (channel === keys.nodeChannel(config.nodeId)) {
      if (text.startsWith('takeover|')) this.host.takenOver(text.slice(9))
      return
    }
    const room = keys.roomOfChannel(channel)
    if (room === undefined) return
    const feed = this.feeds.get(room)
    const entry = parseEnvelope(text)
    if (!feed || !entry) return
    if (entry.kind === 's') feed.receive(entry)
    else if (entry.kind === 'e') {
      if (entry.count >= 0) feed.memberCount = entry.count
      if (entry.origin !== config.nodeId && !this.aboutLocal(room, entry.payload))
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
    for (const client of this.sessionsIn(room))
      if (!self.has(client)) client.peer?.sendJson(payload)
    return true
  }

  /** FeedHost: one sequenced entry goes out to this node's members of the room. */
  deliver(room: RoomId, entry: Envelope): void {
    if (entry.target !== '') this.actOnTarget(room, entry.target)
    this.emit(room, entry.payload)
  }

  private emit(room: RoomId, payload: string): void {
    if (payload === '') return
    let at = 0
    for (;;) {
      const nl = payload.indexOf('\n', at)
      this.publishLocal(room, nl < 0 ? payload.slice(at) : payload.slice(at, nl))
      if (nl < 0) return
      at = nl + 1
    }
  }

  /** One frame to this node's members of a room; presence of big rooms goes out batched. */
  publishLocal(room: RoomId, json: string): void {
    const count = this.feeds.get(room)?.memberCount ?? 0
    if (!this.presence.offer(room, count, json)) this.sink.publishJson(room, json)
  }

  /** FeedHost: reads the history after the feed's position and delivers what it missed. */
  requestSync(feed: RoomFeed, lazy = false): void {
    if (lazy) {
      systemClock.setTimeout(() => {
        if (this.feeds.get(feed.room) === feed && !feed.syncing) {
          feed.syncing = true
          void this.sync(feed)
        }
      }, ADMIT_WAIT_MS)
      return
    }
    void this.sync(feed)
  }

  async sync(feed: RoomFeed): Promise<void> {
    try {
      const k = this.parts.keys.room(feed.room)
      const [top, stored] = await Promise.all([
        this.parts.link.call(() => this.parts.link.cmd.hget(k.state, 'seq')),
        this.parts.rooms.history(feed.room),
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
          .map((m) => {
            // A deleted message is sent as nothing (its message_deleted follows), but its
            // place in the sequence is still delivered.
            const frame = replayFrame(m)
            return {
              kind: 's' as const,
              seq: seqOf(m),
              origin: '-',
              count: -1,
              target: '',
              payload: frame === undefined ? '' : JSON.stringify(frame),
            }
          }),
      )
    } catch {
      // Redis is away: the feed keeps holding; the repair after reconnecting syncs it again.
    }
  }

  /** Tells this node's members of a room that messages were lost, as resume does. */
  private tellNotRecovered(room: RoomId): void {
    for (const client of this.sessionsIn(room)) {
      const member = client.rooms.get(room)
      if (!member) continue
      client.peer?.send({
        type: 'resumed',
        room,
        username: member.username,
        moderator: member.moderator,
        recovered: false,
        users: [],
        // Like the user list, the markers are not known here: the client joins again.
        read: {},
        unread: 0,
      })
    }
  }

  addLocal(client: LocalSession, member: LocalMember): void {
    client.rooms.set(member.room, member)
    let map = this.locals.get(member.room)
    if (!map) {
      map = new Map()
      this.locals.set(member.room, map)
    }
    let held = map.get(member.key)
    if (!held) {
      held = new Set()
      map.set(member.key, held)
    }
    held.add(client)
  }

  /** This node's sessions in a room. */
  sessionsIn(room: RoomId): LocalSession[] {
    return [...(this.locals.get(room)?.values() ?? [])].flatMap((held) => [...held])
  }

  /** This node's sessions that hold the member `key` of a room. */
  holdersOf(room: RoomId, key: string): LocalSession[] {
    return [...(this.locals.get(room)?.get(key) ?? [])]
  }

  /** Forgets a local member (unsubscribed); the feed goes when its last member does. */
  dropLocal(client: LocalSession, member: LocalMember): void {
    client.peer?.unsubscribe(member.room)
    client.rooms.delete(member.room)
    const map = this.locals.get(member.room)
    const held = map?.get(member.key)
    if (map && held?.delete(client)) {
      if (held.size === 0) map.delete(member.key)
      if (map.size === 0) this.locals.delete(member.room)
    }
    const feed = this.feeds.get(member.room)
    if (feed) this.release(feed)
  }

  /**
   * Subscribes a newcomer at the point of the stream its `joined`/`resumed` reached:
   * what the stream delivered since then is sent to it alone first.
   */
  admit(feed: RoomFeed, client: LocalSession, seq: number): void {
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

  /** Resolves once the room's stream has delivered `seq` here (or the feed is gone). */
  reached(room: RoomId, seq: number): Promise<void> {
    const feed = this.feeds.get(room)
    if (!feed) return Promise.resolve()
    const { promise, resolve } = Promise.withResolvers<void>()
    feed.when(seq, resolve)
    return promise
  }

  private emitTo(client: LocalSession, payload: string): void {
    for (const line of payload.split('\n')) client.peer?.sendJson(line)
  }

  /** A moderation act named a member; the node that holds them acts on it. */
  private actOnTarget(room: RoomId, target: string): void {
    const [key, how, by, until] = target.split('\t')
    if (key === undefined) return
    if (key === '*' && how === 'deleted') {
      for (const client of this.sessionsIn(room)) {
        const member = client.rooms.get(room)
        if (member) this.remove(client, member, { type: 'room_deleted', room })
      }
      return
    }
    for (const client of this.holdersOf(room, key)) {
      const member = client.rooms.get(room)
      if (member) this.actOn(client, member, how, by, until)
    }
  }

  private actOn(
    client: LocalSession,
    member: LocalMember,
    how: string | undefined,
    by: string | undefined,
    until: string | undefined,
  ): void {
    const room = member.room
    if (how === 'banned' || how === 'kicked') {
      this.remove(client, member, { type: how, room, by: by ?? '' })
    } else if (how === 'muted') {
      member.mutedUntil = Number(until)
      this.host.stopTyping(client, member)
    } else if (how === 'unmuted') {
      member.mutedUntil = 0
    }
  }

  /** A member removed from the room (banned, kicked, the room deleted): told, then taken out. */
  private remove(client: LocalSession, member: LocalMember, told: ServerFrame): void {
    this.host.stopTyping(client, member)
    client.peer?.send(told)
    this.dropLocal(client, member)
    if (client.rooms.size === 0) {
      const record = this.parts.keys.session(client.hash)
      this.host.track(this.parts.link.call(() => this.parts.link.cmd.del(record)).catch(() => {}))
      if (client.peer) this.host.watchUnjoined(client)
    }
  }
}
