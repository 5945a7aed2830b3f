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
import { ChatError } from '../protocol/errors.ts'
import type { ReadState, ResumeFrame } from '../protocol/frames.ts'
import type { Announcer } from './announcer.ts'
import type { Clock } from './clock.ts'
import type { Guard } from './guard.ts'
import type { Logger, Peer } from './ports.ts'
import { type ResumeHost, resumeSession } from './resume.ts'
import { type Connection, type Member, Session } from './room.ts'
import { randomToken, takeFrame } from './rules.ts'
import type { TokenBucket } from './token-bucket.ts'

type SessionsConfig = Pick<
  Config,
  'resumeGraceMs' | 'unjoinedTimeoutMs' | 'rateLimitPerSec' | 'rateLimitBurst' | 'floodTolerance'
>

/** What the sessions need of the rest of the store; RoomStore provides it. */
export interface SessionHooks {
  isDraining(): boolean
  /** A `resumed` frame went out (for the metrics). */
  resumed(recovered: boolean): void
  /** The member's connection closed: away for the resume grace, or gone (src/chat/membership.ts). */
  goAway(member: Member): void
  /** The member's resume grace ran out: they leave the room for good. */
  expireMember(member: Member): void
  /** The member's `read` and `unread` now, for `resumed`. */
  readState(member: Member): ReadState
}

/**
 * The connections of this server and the sessions on them: `welcome`, the resume grace
 * of a user who went away, the timeout for connections that join no room, flood limits,
 * and `resume` (see resume.ts). The rooms a session is in are RoomStore's business.
 */
export class Sessions {
  /**
   * Open connections, counted: the live sessions find every connection that serves one,
   * and a Set of them would cost every idle connection a hash-table entry.
   */
  private open = 0
  /** Live and away sessions, by their resume token. */
  readonly byToken = new Map<string, Session>()
  private readonly resumeHost: ResumeHost
  private readonly unjoined: Unjoined

  constructor(
    private readonly config: SessionsConfig,
    private readonly clock: Clock,
    private readonly guard: Guard,
    private readonly logger: Logger,
    private readonly announce: Announcer,
    private readonly hooks: SessionHooks,
    private readonly signIns: SignIns,
  ) {
    this.unjoined = new Unjoined(clock, config)
    this.resumeHost = {
      sessions: this.byToken,
      stopTyping: (member) => this.announce.stopTyping(member),
      presence: (member) => this.announce.status(member),
      clearGrace: (client) => this.clearTimer(client, 'graceTimer'),
      forget: (client) => this.forget(client),
      watchUnjoined: (client) => this.watchUnjoined(client),
      resumed: (recovered) => this.hooks.resumed(recovered),
      readState: (member) => this.hooks.readState(member),
      signIns,
    }
  }

  /** Number of connections still open. */
  openConnections(): number {
    return this.open
  }

  /** The sessions with a connection now (not away in their grace). */
  live(): Session[] {
    return connected(this.byToken.values())
  }

  /** Throws when a new WebSocket from `address` must be refused (draining, per-address cap). */
  checkUpgrade(address: string): void {
    if (this.hooks.isDraining()) throw new ChatError('shutting_down')
    this.guard.checkConnection(address)
  }

  /** Registers a new connection and sends it `welcome`. */
  connect(peer: Peer): Connection {
    const client = new Session(peer, randomToken(), this.clock, this.config)
    // The Peer is the store's record of the connection (see Peer): it now serves `client`.
    const conn: Connection = Object.assign(peer, { client, resumed: false })
    this.open += 1
    this.byToken.set(client.session, client)
    if (welcome(peer, this.guard, client.session, this.config)) {
      this.watchUnjoined(client)
      this.signIns.watch(client)
    }
    return conn
  }

  /** The connection closed. Its user goes offline and keeps their rooms for the resume grace. */
  disconnect(conn: Connection): void {
    this.open -= 1
    const client = release(conn, this.guard)
    if (!client) return
    this.clearTimer(client, 'unjoinedTimer')
    this.signIns.forget(client)
    if (this.hooks.isDraining() || client.rooms.size === 0) {
      this.forget(client)
      return
    }
    for (const member of [...client.rooms.values()]) {
      this.announce.stopTyping(member)
      this.hooks.goAway(member)
    }
    // Without a grace there is nothing to resume: the user left at once.
    if (this.config.resumeGraceMs === 0) this.forget(client)
  }

  /** The session is away until `until`: then it leaves its rooms for good, unless it resumed. */
  graceUntil(client: Session, until: number): void {
    if (client.graceTimer !== undefined) return
    const ms = Math.max(0, until - this.clock.now())
    client.graceTimer = this.clock.setTimeout(() => this.expire(client), ms)
  }

  /** The grace ran out: the user leaves each room for good. */
  private expire(client: Session): void {
    client.graceTimer = undefined
    for (const member of [...client.rooms.values()]) this.hooks.expireMember(member)
    this.forget(client)
  }

  /** Drops a session: its timers, its typing indicators and its token. */
  forget(client: Session): void {
    this.clearTimer(client, 'graceTimer')
    this.clearTimer(client, 'unjoinedTimer')
    this.signIns.forget(client)
    for (const member of client.rooms.values()) this.announce.clearTyping(member)
    this.byToken.delete(client.session)
  }

  /** Cancels one of the session's timers. */
  clearTimer(client: Session, key: 'graceTimer' | 'unjoinedTimer'): void {
    if (client[key] !== undefined) this.clock.clearTimeout(client[key])
    client[key] = undefined
  }

  /** A connection in no room is closed after `unjoinedTimeoutMs`, so idle sockets do not pile up. */
  watchUnjoined(client: Session): void {
    this.unjoined.watch(client)
  }

  /** The live session of a connection; `not_authorized` once it was closed or taken over. */
  clientOf(conn: Connection): Session {
    return liveSession(conn)
  }

  /**
   * Counts a frame against `bucket`; past it, throws `rate_limited`, and closes a
   * connection that keeps flooding with 1008.
   */
  limit(client: Session, bucket: TokenBucket, silent = false): boolean {
    return takeFrame(client, bucket, this.logger, silent)
  }

  /** Rate-limits a frame that is not a chat message or typing frame. */
  countFrame(conn: Connection): void {
    countFrame(conn, this.logger)
  }

  /** Charges a malformed frame to the connection's frame budget, without an error of its own. */
  penalize(conn: Connection): void {
    penalize(conn, this.logger)
  }

  /** `resume`: see resumeSession. */
  resume(conn: Connection, frame: ResumeFrame): void {
    const fresh = this.clientOf(conn)
    this.limit(fresh, fresh.frames)
    resumeSession(this.resumeHost, conn, fresh, frame)
  }
}
