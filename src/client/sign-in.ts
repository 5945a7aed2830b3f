/**
 * The client's side of sign-in (AUTH_MODE, docs/sign-in.md): on every connection, `auth`
 * with a token before anything else (so a reconnect signs in again before it resumes), and
 * a refresh with a new token from `getToken` before the current one expires.
 */
import type { ClientClock, FrameOf, ServerFrame } from './types.ts'
import { ChatRequestError } from './types.ts'

export interface SignInOptions {
  /** A fixed token. It cannot be refreshed: when it expires, the client stops. */
  token?: string
  /** Called for a token at every (re)connection and before the current one expires. */
  getToken?: () => Promise<string>
  /** How long before `expires_at` the token is refreshed. Default 60 s. */
  refreshBeforeMs?: number
}

type Authenticated = FrameOf<'authenticated'>

let refs = 0

export class ClientSignIn {
  private pending:
    | { ref: string; resolve(f: Authenticated): void; reject(e: Error): void }
    | undefined
  private refreshTimer: unknown

  constructor(
    private readonly options: SignInOptions,
    private readonly clock: ClientClock,
    private readonly now: () => number,
    /** The refresh failed (getToken rejected, or the server refused the token). */
    private readonly onFailure: (error: ChatRequestError) => void,
  ) {}

  /** Whether this client signs in at all. */
  get enabled(): boolean {
    return this.options.token !== undefined || this.options.getToken !== undefined
  }

  /** Whether a token can be had again (a reconnect after an expiry makes sense). */
  get renewable(): boolean {
    return this.options.getToken !== undefined
  }

  /**
   * Signs the new connection in: resolves with `authenticated`, rejects with a
   * ChatRequestError when no token can be had or the server refuses it.
   */
  async start(send: (frame: object) => void): Promise<Authenticated> {
    this.clear()
    const authenticated = await this.authenticate(send)
    this.schedule(authenticated, send)
    return authenticated
  }

  /** Takes the reply to the pending `auth`; true if the frame was that reply. */
  onFrame(frame: ServerFrame): boolean {
    const p = this.pending
    if (!p || !('ref' in frame) || String(frame.ref) !== p.ref) return false
    this.pending = undefined
    if (frame.type === 'authenticated') p.resolve(frame)
    else if (frame.type === 'error') p.reject(new ChatRequestError(frame.code, frame.message))
    else return false
    return true
  }

  /** The connection is gone: no refresh, and the pending `auth` rejects. */
  clear(): void {
    if (this.refreshTimer !== undefined) this.clock.clearTimeout(this.refreshTimer)
    this.refreshTimer = undefined
    this.pending?.reject(new ChatRequestError('disconnected', 'The connection closed'))
    this.pending = undefined
  }

  private async token(): Promise<string> {
    if (this.options.getToken) {
      try {
        return await this.options.getToken()
      } catch (error) {
        throw new ChatRequestError('closed', `getToken failed: ${(error as Error).message}`)
      }
    }
    return this.options.token as string
  }

  private async authenticate(send: (frame: object) => void): Promise<Authenticated> {
    const token = await this.token()
    const ref = `auth-${++refs}`
    const reply = new Promise<Authenticated>((resolve, reject) => {
      this.pending = { ref, resolve, reject }
    })
    send({ action: 'auth', token, ref })
    return reply
  }

  /** With `getToken`, the next `auth` goes out `refreshBeforeMs` before the expiry. */
  private schedule(current: Authenticated, send: (frame: object) => void): void {
    if (!this.options.getToken) return
    const before = this.options.refreshBeforeMs ?? 60_000
    const wait = Math.max(1000, current.expires_at - before - this.now())
    this.refreshTimer = this.clock.setTimeout(
      () => {
        this.refreshTimer = undefined
        this.authenticate(send).then(
          (next) => this.schedule(next, send),
          (error) => {
            if (!(error instanceof ChatRequestError) || error.code !== 'disconnected')
              this.onFailure(error as ChatRequestError)
          },
        )
      },
      Math.min(wait, 2_147_483_647),
    )
  }
}
