/**
 * Signing in with the app's tokens (AUTH_MODE, docs/sign-in.md), once for both engines: the
 * `auth` frame and its refresh, what a connection may do before it signs in, the close of a
 * connection that does not sign in in time, and the end of a token that is not refreshed.
 * A sign-in belongs to the session of one connection, so it lives on that connection's node.
 */
import type { Identity } from '../auth/tokens.ts'
import type { Config } from '../config.ts'
import type { Clock } from '../domain/clock.ts'
import type { Logger, Peer } from '../domain/ports.ts'
import { CLOSE } from '../domain/rules.ts'
import { ChatError, ERRORS } from '../protocol/errors.ts'
import type { Action, AuthFrame, ServerFrame } from '../protocol/frames.ts'
import type { SignInState } from './limits.ts'

export type SignInSettings = Pick<Config, 'authMode' | 'authClockToleranceS' | 'authTimeoutMs'>

/** What checks a token (src/auth/tokens.ts): the user, or `invalid_token`. */
export interface Verifier {
  verify(token: string, nowMs: number): Promise<Identity>
}

/** A session as these rules see it. */
export interface Signable {
  readonly peer: Peer | undefined
  readonly user: Identity | undefined
  readonly signIn: SignInState
}

/** What a connection may send before it signs in when AUTH_MODE=required. */
const BEFORE_SIGN_IN: ReadonlySet<Action> = new Set<Action>(['auth', 'ping'])

/** The longest delay a timer takes (2^31 − 1 ms); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2_147_483_647

/** The identity bans hold against: the user id when signed in. */
export function userIdentity(user: Identity): string {
  return `user:${user.id}`
}

/** The user id in a ban identity made by `userIdentity`; undefined for an anonymous session's. */
export function userIdOf(identity: unknown): string | undefined {
  return typeof identity === 'string' && identity.startsWith('user:')
    ? identity.slice(5)
    : undefined
}

/** A session's identity for bans: its user's when signed in, else `anonymous` (the session's own). */
export function banIdentity<T>(
  session: { readonly user: Identity | undefined },
  anonymous: T,
): string | T {
  return session.user ? userIdentity(session.user) : anonymous
}

export class SignIns {
  constructor(
    private readonly config: SignInSettings,
    /** Undefined when AUTH_MODE=off. */
    private readonly verifier: Verifier | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Whether the user's tokens are refused now (src/chat/users.ts). */
    private readonly blocked: (userId: string) => boolean | Promise<boolean>,
  ) {}

  get required(): boolean {
    return this.config.authMode === 'required'
  }

  /** A new connection: with AUTH_MODE=required it has AUTH_TIMEOUT_MS to sign in. */
  watch(session: Signable): void {
    if (!this.required) return
    session.signIn.deadline = this.clock.setTimeout(() => {
      session.signIn.deadline = undefined
      if (!session.user) session.peer?.close(CLOSE.unauthenticated, 'Not signed in in time')
    }, this.config.authTimeoutMs)
  }

  /** Throws `unauthenticated` for a frame a connection may not send before it signs in. */
  check(session: Signable, action: Action): void {
    if (this.required && !session.user && !BEFORE_SIGN_IN.has(action))
      throw new ChatError('unauthenticated')
  }

  /**
   * `auth`: checks the token and signs the session in, or refreshes its sign-in (the same
   * `sub` only). A bad token changes nothing; with AUTH_MODE=required a connection that is
   * still not signed in is then closed with 4401.
   */
  async auth(
    session: Signable,
    frame: AuthFrame,
    /** After a refresh (the same user signed in again): what the new grants take away. */
    refreshed: (old: Identity, next: Identity) => Promise<void> = async () => {},
  ): Promise<void> {
    if (!this.verifier) throw new ChatError('invalid_message', 'authentication is not enabled')
    let user: Identity
    try {
      user = await this.verifier.verify(frame.token, this.clock.now())
      if (session.user && session.user.id !== user.id)
        throw new ChatError('invalid_token', 'The token is for another user than this connection')
      if (await this.blocked(user.id))
        throw new ChatError('invalid_token', 'This user may not sign in for now')
    } catch (e) {
      if (!(e instanceof ChatError) || !this.required || session.user) throw e
      this.refuse(session, e, frame)
      return
    }
    const state = session.signIn
    const old = state.user
    state.user = user
    this.clearDeadline(session)
    this.scheduleExpiry(session, user.expiresAt + this.config.authClockToleranceS * 1000)
    const reply: ServerFrame = {
      type: 'authenticated',
      user: { id: user.id, name: user.name },
      expires_at: user.expiresAt,
    }
    if (frame.ref !== undefined) reply.ref = frame.ref
    session.peer?.send(reply)
    if (old) await refreshed(old, user)
  }

  /** The connection closed or its session was dropped: its sign-in timers stop. */
  forget(session: Signable): void {
    this.clearDeadline(session)
    const state = session.signIn
    if (state.expiry !== undefined) this.clock.clearTimeout(state.expiry)
    state.expiry = undefined
  }

  /**
   * Resume: the session `old` is taken over by `fresh`'s connection. A signed-in session
   * is resumed only by the same user (`not_authorized` else); the resumed session takes the
   * resuming connection's sign-in.
   */
  checkResume(oldUser: string | undefined, fresh: Signable): void {
    if (oldUser === undefined) return
    if (!fresh.user || userIdentity(fresh.user) !== oldUser)
      throw new ChatError('not_authorized', 'That session belongs to another user')
  }

  /**
   * Memory resume: the session `to` is taken over by the connection of `from` (whose own
   * session is dropped): `to` gets its sign-in, `from`'s timers stop.
   */
  transfer(from: Signable, to: Signable): void {
    this.forget(to)
    const user = from.user
    this.forget(from)
    to.signIn.user = user
    if (user) this.scheduleExpiry(to, user.expiresAt + this.config.authClockToleranceS * 1000)
    else if (this.required) this.watch(to)
  }

  /** A refused sign-in on a connection that must sign in: the error, then a 4401 close. */
  private refuse(session: Signable, error: ChatError, frame: AuthFrame): void {
    const reply: ServerFrame = { type: 'error', code: error.code, message: error.message }
    if (frame.ref !== undefined) reply.ref = frame.ref
    session.peer?.send(reply)
    session.peer?.close(CLOSE.unauthenticated, 'Not signed in')
  }

  private clearDeadline(session: Signable): void {
    const state = session.signIn
    if (state.deadline !== undefined) this.clock.clearTimeout(state.deadline)
    state.deadline = undefined
  }

  /** At `at` (the token's `exp` plus the tolerance), `token_expired` and a 4401 close. */
  private scheduleExpiry(session: Signable, at: number): void {
    const state = session.signIn
    if (state.expiry !== undefined) this.clock.clearTimeout(state.expiry)
    const wait = Math.max(0, at - this.clock.now())
    state.expiry = this.clock.setTimeout(
      () => {
        state.expiry = undefined
        if (this.clock.now() < at) {
          this.scheduleExpiry(session, at)
          return
        }
        this.logger.debug('token expired', { user: session.user?.id })
        session.peer?.send({
          type: 'error',
          code: 'token_expired',
          message: ERRORS.token_expired.message,
        })
        session.peer?.close(CLOSE.unauthenticated, 'Token expired')
      },
      Math.min(wait, MAX_TIMER_MS),
    )
  }
}
