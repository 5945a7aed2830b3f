/**
 * What a cluster node keeps of its own connections: the session on each, the rooms it is
 * in here (with typing and mute state, which never leave the node), and its rate limits.
 * Who is in a room, on every node, lives in Redis.
 */
import { RateLimited } from '../chat/limits.ts'
import type { TypingState } from '../chat/typing.ts'
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { Peer } from '../domain/ports.ts'
import type { RoomId } from '../protocol/frames.ts'

export interface LocalMember {
  readonly room: RoomId
  readonly username: string
  readonly key: string
  readonly moderator: boolean
  /** The signed-in user's id (AUTH_MODE), shown as `user_id`; undefined when anonymous. */
  readonly userId: string | undefined
  /** Made at their first typing frame (src/chat/typing.ts). */
  typingState: TypingState | undefined
  /** When a mute given in this room ends (ms), as last heard from the room's stream. */
  mutedUntil: number
}

export class LocalSession extends RateLimited {
  /** Undefined once the connection closed or another connection resumed the session. */
  peer: Peer | undefined
  readonly rooms = new Map<RoomId, LocalMember>()
  /**
   * The session's identity for bans: the hash of its first token, kept when it resumes
   * under a new one (a ban holds against the session, whatever it is called now).
   */
  banId: string
  unjoinedTimer: TimerHandle | undefined

  constructor(
    peer: Peer,
    /** The resume token this connection's `welcome` gave. */
    readonly token: string,
    /** Its hash: the session's name in Redis and in logs. */
    readonly hash: string,
    clock: Clock,
    config: Config,
  ) {
    super(clock, config)
    this.peer = peer
    this.banId = hash
  }

  get address(): string {
    return this.peer?.address ?? 'unknown'
  }
}

/** One connection to this node: the transport's Peer, whose `client` is the session it serves. */
export interface ClusterConnection extends Peer {
  client: LocalSession | undefined
}
