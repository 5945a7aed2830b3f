/**
 * The connections of a cluster node and the sessions on them: `welcome`, the timeout for
 * connections that join no room, rate limits, a dropped connection's members going
 * offline, and the close of a connection whose session was resumed elsewhere.
 */

import {
  connected,
  countFrame,
  liveSession,
  penalize,
  release,
  Unjoined,
  welcome,
} from '../chat/connections.ts'
import type { SignIns } from '../chat/sign-in.ts'
import type { Config } from '../config.ts'
import type { Clock } from '../domain/clock.ts'
import type { Guard } from '../domain/guard.ts'
import type { Logger, Peer } from '../domain/ports.ts'
import { CLOSE, randomToken, takeFrame } from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import { sessionHash } from './keys.ts'
import { type ClusterConnection, type LocalMember, LocalSession } from './local-session.ts'
import type { Dropped } from './session-records.ts'

/** What the connections need of the rest of the node; ClusterStore provides it. */
export interface NodeConnectionsHost {
  isDraining(): boolean
  stopTyping(client: LocalSession, member: LocalMember): void
  /** Takes the member out of its room on this node (the room itself is not told). */
  dropLocal(client: LocalSession, member: LocalMember): void
  /** A session went away: its members go offline for their grace, or leave. */
  gone(dropped: Dropped): void
}

export class NodeConnections {
  /**
   * Live local sessions by their hash (for takeovers from other nodes): every connection
   * that serves a session, found without a Set of connections (a hash-table entry per idle
   * connection).
   */
  readonly sessions = new Map<string, LocalSession>()
  /** Open connections, counted. */
  private open = 0
  private readonly unjoined: Unjoined

  constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly guard: Guard,
    private readonly logger: Logger,
    private readonly signIns: SignIns,
    private readonly host: NodeConnectionsHost,
  ) {
    this.unjoined = new Unjoined(clock, config)
  }

  checkUpgrade(address: string): void {
    if (this.host.isDraining()) throw new ChatError('shutting_down')
    this.guard.checkConnection(address)
  }

  connect(peer: Peer): ClusterConnection {
    const token = randomToken()
    const client = new LocalSession(peer, token, sessionHash(token), this.clock, this.config)
    // The Peer is the node's record of the connection (see Peer): it now serves `client`.
    const conn: ClusterConnection = Object.assign(peer, { client, resumed: false })
    this.open += 1
    this.sessions.set(client.hash, client)
    if (welcome(peer, this.guard, token, this.config)) {
      this.unjoined.watch(client)
      this.signIns.watch(client)
    }
    return conn
  }

  disconnect(conn: ClusterConnection): void {
    this.open -= 1
    const client = release(conn, this.guard)
    if (!client) return
    this.unjoined.clear(client)
    this.signIns.forget(client)
    if (this.sessions.get(client.hash) === client) this.sessions.delete(client.hash)
    if (client.rooms.size === 0) return
    const rooms: Dropped['rooms'] = []
    for (const member of [...client.rooms.values()]) {
      this.host.stopTyping(client, member)
      this.host.dropLocal(client, member)
      rooms.push({
        room: member.room,
        key: member.key,
        username: member.username,
        userId: member.userId,
      })
    }
    this.host.gone({ hash: client.hash, rooms })
  }

  /** Number of connections still open. */
  openConnections(): number {
    return this.open
  }

  /** The sessions with a connection on this node. */
  live(): LocalSession[] {
    return connected(this.sessions.values())
  }

  watchUnjoined(client: LocalSession): void {
    this.unjoined.watch(client)
  }

  clearUnjoined(client: LocalSession): void {
    this.unjoined.clear(client)
  }

  /** The live session of a connection; `not_authorized` once it closed or was taken over. */
  clientOf(conn: ClusterConnection): LocalSession {
    return liveSession(conn)
  }

  /** The connection still holds this session (it did not close while we waited). */
  stillLive(conn: ClusterConnection, client: LocalSession): boolean {
    return conn.client === client && client.peer === conn
  }

  limit(client: LocalSession, bucket: TokenBucket, silent = false): boolean {
    return takeFrame(client, bucket, this.logger, silent)
  }

  countFrame(conn: ClusterConnection): void {
    countFrame(conn, this.logger)
  }

  penalize(conn: ClusterConnection): void {
    penalize(conn, this.logger)
  }

  /** Another node (or this one) resumed a session this node still holds: close the old socket. */
  takenOver(hash: string): void {
    const client = this.sessions.get(hash)
    if (!client) return
    this.sessions.delete(hash)
    // The others see the old connection's typing end, as on one node.
    for (const member of client.rooms.values()) this.host.stopTyping(client, member)
    const peer = client.peer
    client.peer = undefined
    this.signIns.forget(client)
    for (const member of [...client.rooms.values()]) this.host.dropLocal(client, member)
    if (peer) {
      // The old connection is the node's record too (see Peer): it serves nobody now.
      peer.client = undefined
      peer.close(CLOSE.replaced, 'Session resumed on another connection')
    }
  }
}
