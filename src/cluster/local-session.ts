/**
 * What a cluster node keeps of its own connections: the session on each, the rooms it is
 * in here (with typing and mute state, which never leave the node), and its rate limits.
 * Who is in a room, on every node, lives in Redis.
 */
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { Peer } from '../domain/ports.ts'
import { TokenBucket } from '../domain/token-bucket.ts'
import type { RoomId } from '../protocol/frames.ts'

export interface LocalMember {
  readonly room: RoomId
  readonly username: string
  readonly key: string
  readonly moderator: boolean
  typing: boolean
  typingTimer: TimerHandle | undefined
  lastTypingBroadcastAt: number
  /** When a mute given in this room ends (ms), as last heard from the room's stream. */
  mutedUntil: number
}

export class LocalSession {
  /** Undefined once the connection closed or another connection resumed the session. */
  peer: Peer | undefined
  readonly rooms = new Map<RoomId, LocalMember>()
  /**
   * The session's identity for bans: the hash of its first token, kept when it resumes
   * under a new one (a ban holds against the session, whatever it is called now).
   */
  banId: string
  unjoinedTimer: TimerHandle | undefined
  readonly messages: TokenBucket
  readonly frames: TokenBucket
  private patienceBucket: TokenBucket | undefined
  private passwordBucket: TokenBucket | undefined

  constructor(
    peer: Peer,
    /** The resume token this connection's `welcome` gave. */
    readonly token: string,
    /** Its hash: the session's name in Redis and in logs. */
    readonly hash: string,
    private readonly clock: Clock,
    private readonly config: Config,
  ) {
    this.peer = peer
    this.banId = hash
    this.messages = new TokenBucket(clock, config.rateLimitBurst, config.rateLimitPerSec)
    this.frames = new TokenBucket(
      clock,
      Math.max(50, config.rateLimitBurst * 5),
      Math.max(20, config.rateLimitPerSec * 2),
    )
  }

  get address(): string {
    return this.peer?.address ?? 'unknown'
  }

  get patience(): TokenBucket {
    this.patienceBucket ??= new TokenBucket(
      this.clock,
      this.config.floodTolerance,
      this.config.rateLimitPerSec,
    )
    return this.patienceBucket
  }

  get passwordAttempts(): TokenBucket {
    this.passwordBucket ??= new TokenBucket(this.clock, 5, 0.5)
    return this.passwordBucket
  }
}

export class ClusterConnection {
  client: LocalSession | undefined
  resumed = false

  constructor(
    readonly peer: Peer,
    client: LocalSession,
  ) {
    this.client = client
  }
}
