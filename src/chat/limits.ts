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

export type SessionLimits = Pick<Config, 'rateLimitPerSec' | 'rateLimitBurst' | 'floodTolerance'>

/** A session's sign-in (src/chat/sign-in.ts): the user and the timers that end it. */
export interface SignInState {
  user?: Identity
  /** AUTH_MODE=required: closes the connection if it has not signed in by AUTH_TIMEOUT_MS. */
  deadline?: TimerHandle
  /** Ends the connection when the token expires without a refresh. */
  expiry?: TimerHandle
}

export class RateLimited {
  /** Every other frame but typing. */
  readonly frames: TokenBucket
  private messagesBucket: TokenBucket | undefined
  /**
   * What few sessions ever need (two buckets, and the sign-in on a server without
   * AUTH_MODE), in one field: JSC sizes an object by its field count (9–12 fields take 112
   * bytes, 13–14 take 160), and this keeps a session small.
   */
  private rare: { patience?: TokenBucket; password?: TokenBucket; signIn?: SignInState } | undefined

  constructor(
    protected readonly clock: Clock,
    protected readonly limits: SessionLimits,
  ) {
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

  /** The signed-in user, if the session signed in. */
  get user(): Identity | undefined {
    return this.rare?.signIn?.user
  }

  /** The session's sign-in state, made on first use. */
  get signIn(): SignInState {
    this.rare ??= {}
    this.rare.signIn ??= {}
    return this.rare.signIn
  }
}
