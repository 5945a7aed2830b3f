/**
 * A session's rate limits, once for both engines: chat messages (RATE_LIMIT_PER_SEC with a
 * burst of RATE_LIMIT_BURST), every other frame but typing (generous next to messages,
 * scaled with them), refused frames (FLOOD_TOLERANCE, then the connection is closed as a
 * flood) and wrong passwords (5, then one per 2 s). A session lives on one node, so its
 * limits do too. It is the base class of both engines' sessions, and also keeps the
 * session's sign-in (src/chat/sign-in.ts).
 */
import type { Identity } from '../auth/tokens.ts'
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import { TokenBucket } from '../domain/token-bucket.ts'
import type { RoomId } from '../protocol/frames.ts'

export type SessionLimits = Pick<Config, 'rateLimitPerSec' | 'rateLimitBurst' | 'floodTolerance'>

/** A session's sign-in (src/chat/sign-in.ts): the user and the timers that end it. */
export interface SignInState {
  user?: Identity
  /** AUTH_MODE=required: closes the connection if it has not signed in by AUTH_TIMEOUT_MS. */
  deadline?: TimerHandle
  /** Ends the connection when the token expires without a refresh. */
  expiry?: TimerHandle
}

/** What every session of one store shares: its clock and its limits (one field, not two). */
interface Shared {
  readonly clock: Clock
  readonly limits: SessionLimits
}

const shared = new WeakMap<SessionLimits, WeakMap<Clock, Shared>>()

function sharedOf(clock: Clock, limits: SessionLimits): Shared {
  let byClock = shared.get(limits)
  if (byClock === undefined) {
    byClock = new WeakMap()
    shared.set(limits, byClock)
  }
  let found = byClock.get(clock)
  if (found === undefined) {
    found = { clock, limits }
    byClock.set(clock, found)
  }
  return found
}

/** Why a session lost a room while it was away, told when it resumes. */
export type RemovedWhy = 'banned' | 'kicked' | 'deleted'

/** What few sessions ever need, made on first use. */
interface Rare {
  messages?: TokenBucket
  patience?: TokenBucket
  password?: TokenBucket
  signIn?: SignInState
  /** The memory engine's record of rooms lost while away (a cluster keeps it in Redis). */
  removedWhileAway?: Map<RoomId, RemovedWhy> | undefined
}

export class RateLimited {
  /** Every other frame but typing. */
  readonly frames: TokenBucket
  private readonly shared: Shared
  /**
   * What few sessions ever need (three buckets, the sign-in on a server without AUTH_MODE,
   * the rooms lost while away), in one field: JSC sizes an object by its field count (7–8
   * fields take 80 bytes, 9–12 take 112), and this keeps a session at 80.
   */
  private rare: Rare | undefined

  constructor(clock: Clock, limits: SessionLimits) {
    this.shared = sharedOf(clock, limits)
    this.frames = new TokenBucket(
      clock,
      Math.max(50, limits.rateLimitBurst * 5),
      Math.max(20, limits.rateLimitPerSec * 2),
    )
  }

  // The buckets below are made on first use, so they cost an idle connection nothing
  // (memory per idle connection is a benchmark target). A bucket made late starts full,
  // exactly as one made at connect and untouched since would be.

  /** Chat messages (the per-user rate limit). */
  get messages(): TokenBucket {
    this.rare ??= {}
    this.rare.messages ??= new TokenBucket(
      this.shared.clock,
      this.shared.limits.rateLimitBurst,
      this.shared.limits.rateLimitPerSec,
    )
    return this.rare.messages
  }

  /** Refused frames; when it runs dry the connection is closed as a flood. */
  get patience(): TokenBucket {
    this.rare ??= {}
    this.rare.patience ??= new TokenBucket(
      this.shared.clock,
      this.shared.limits.floodTolerance,
      this.shared.limits.rateLimitPerSec,
    )
    return this.rare.patience
  }

  /** Wrong passwords from this session. */
  get passwordAttempts(): TokenBucket {
    this.rare ??= {}
    this.rare.password ??= new TokenBucket(this.shared.clock, 5, 0.5)
    return this.rare.password
  }

  /** The signed-in user, if the session signed in. */
  get user(): Identity | undefined {
    return this.rare?.signIn?.user
  }

  /** Rooms the user was removed from while away, and why: told on resume (made when needed). */
  get removedWhileAway(): Map<RoomId, RemovedWhy> | undefined {
    return this.rare?.removedWhileAway
  }

  set removedWhileAway(rooms: Map<RoomId, RemovedWhy> | undefined) {
    if (rooms === undefined && this.rare === undefined) return
    this.rare ??= {}
    this.rare.removedWhileAway = rooms
  }

  /** The session's sign-in state, made on first use. */
  get signIn(): SignInState {
    this.rare ??= {}
    this.rare.signIn ??= {}
    return this.rare.signIn
  }
}
