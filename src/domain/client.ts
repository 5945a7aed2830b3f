import type { RoomId } from '../protocol/frames.ts'
import type { Clock, TimerHandle } from './clock.ts'
import type { Peer } from './ports.ts'
import type { Member } from './room.ts'
import { TokenBucket } from './token-bucket.ts'

export interface ClientLimits {
  rateLimitPerSec: number
  rateLimitBurst: number
  floodTolerance: number
}

/**
 * One user's session: their memberships, limits and resume token. It outlives its
 * connection by the resume grace, and a resuming connection takes it over.
 */
export class Client {
  /** The live connection; undefined while the user is away (offline, in grace). */
  peer: Peer | undefined
  /** The token a new connection presents to take this session over. */
  session: string
  readonly address: string
  readonly rooms = new Map<RoomId, Member>()
  /** Rooms the user was removed from while away, and why: told on resume. */
  readonly removedWhileAway = new Map<RoomId, 'banned' | 'kicked' | 'deleted'>()
  graceTimer: TimerHandle | undefined
  unjoinedTimer: TimerHandle | undefined
  /** Chat messages (the per-user rate limit). */
  readonly messages: TokenBucket
  /** Every other frame but typing. */
  readonly frames: TokenBucket
  /** Refused frames; when it runs dry the connection is closed as a flood. */
  readonly patience: TokenBucket
  /** Wrong passwords from this session. */
  readonly passwordAttempts: TokenBucket

  constructor(peer: Peer, session: string, clock: Clock, limits: ClientLimits) {
    this.peer = peer
    this.session = session
    this.address = peer.address
    this.messages = new TokenBucket(clock, limits.rateLimitBurst, limits.rateLimitPerSec)
    // Joins, leaves, pings…: generous next to messages, scaled with the message limit.
    this.frames = new TokenBucket(
      clock,
      Math.max(50, limits.rateLimitBurst * 5),
      Math.max(20, limits.rateLimitPerSec * 2),
    )
    this.patience = new TokenBucket(clock, limits.floodTolerance, limits.rateLimitPerSec)
    this.passwordAttempts = new TokenBucket(clock, 5, 0.5)
  }
}

/** One WebSocket connection. After a resume it serves the session it took over. */
export class Connection {
  client: Client | undefined
  resumed = false

  constructor(
    readonly peer: Peer,
    client: Client,
  ) {
    this.client = client
  }
}
