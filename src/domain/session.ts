import type { RoomId } from '../protocol/frames.ts'
import type { Clock, TimerHandle } from './clock.ts'
import type { Peer } from './ports.ts'
import type { Member } from './room.ts'
import { SmallMap } from './small-map.ts'
import { TokenBucket } from './token-bucket.ts'

export interface SessionLimits {
  rateLimitPerSec: number
  rateLimitBurst: number
  floodTolerance: number
}

/**
 * One user's session: their memberships, limits and resume token. It outlives its
 * connection by the resume grace, and a resuming connection takes it over.
 */
export class Session {
  /** The live connection; undefined while the user is away (offline, in grace). */
  peer: Peer | undefined
  /** The token a new connection presents to take this session over. */
  session: string
  readonly address: string
  /** Most sessions are in one room: a SmallMap keeps that one without a hash table. */
  readonly rooms: Map<RoomId, Member> = new SmallMap()
  /** Rooms the user was removed from while away, and why: told on resume (made when needed). */
  removedWhileAway: Map<RoomId, 'banned' | 'kicked' | 'deleted'> | undefined
  graceTimer: TimerHandle | undefined
  unjoinedTimer: TimerHandle | undefined
  /** Every other frame but typing. */
  readonly frames: TokenBucket
  private messagesBucket: TokenBucket | undefined
  /**
   * The two buckets few sessions ever need, in one field: JSC sizes an object by its
   * field count (9–12 fields take 112 bytes, 13–14 take 160), and this keeps Session at 12.
   */
  private rare: { patience?: TokenBucket; password?: TokenBucket } | undefined
  private readonly clock: Clock
  private readonly limits: SessionLimits

  constructor(peer: Peer, session: string, clock: Clock, limits: SessionLimits) {
    this.peer = peer
    this.session = session
    this.address = peer.address
    // Joins, leaves, pings…: generous next to messages, scaled with the message limit.
    this.frames = new TokenBucket(
      clock,
      Math.max(50, limits.rateLimitBurst * 5),
      Math.max(20, limits.rateLimitPerSec * 2),
    )
    this.clock = clock
    this.limits = limits
  }

  // The buckets below are made on first use, so they cost an idle connection nothing
  // (memory per idle connection is a benchmark target). A bucket made late starts full,
  // exactly as one made at connect and untouched since would be.

  /** Chat messages (the per-user rate limit). */
  get messages(): TokenBucket {
    this.messagesBucket ??= new TokenBucket(
      this.clock,
      this.limits.rateLimitBurst,
      this.limits.rateLimitPerSec,
    )
    return this.messagesBucket
  }

  /** Refused frames; when it runs dry the connection is closed as a flood. */
  get patience(): TokenBucket {
    this.rare ??= {}
    this.rare.patience ??= new TokenBucket(
      this.clock,
      this.limits.floodTolerance,
      this.limits.rateLimitPerSec,
    )
    return this.rare.patience
  }

  /** Wrong passwords from this session. */
  get passwordAttempts(): TokenBucket {
    this.rare ??= {}
    this.rare.password ??= new TokenBucket(this.clock, 5, 0.5)
    return this.rare.password
  }
}

/** One WebSocket connection. After a resume it serves the session it took over. */
export class Connection {
  client: Session | undefined
  resumed = false

  constructor(
    readonly peer: Peer,
    client: Session,
  ) {
    this.client = client
  }
}
