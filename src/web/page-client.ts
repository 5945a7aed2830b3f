/**
 * The page's one ChatClient, made when first needed, signed in with the page's token when
 * the page signs in (sign-in.ts), and dropped with the token when the server refuses it.
 */
import { ChatClient, ChatRequestError } from '../client/index.ts'
import { asRequestError } from './plain-errors.ts'
import { type PageSignIn, refusesSignIn } from './sign-in.ts'

export class PageClient {
  private current: ChatClient | undefined

  constructor(
    private readonly wsUrl: string,
    readonly signIn: PageSignIn,
    /** A new client was made: listen to it. */
    private readonly made: (client: ChatClient) => void,
    /** The token was dropped (refused, or expired). */
    private readonly signedOut: () => void,
  ) {}

  /** The client, if one was made (and not dropped since). */
  get client(): ChatClient | undefined {
    return this.current
  }

  /** The client, connected, and signed in when the page signs in. */
  async connected(): Promise<ChatClient> {
    if (!this.current) {
      const token = this.signIn.current
      // Without a token a `required` server takes nothing but `auth`: no use connecting.
      if (this.signIn.active && token === undefined) {
        throw new ChatRequestError('unauthenticated', 'No sign-in token')
      }
      this.current = new ChatClient({ url: this.wsUrl, token })
      this.made(this.current)
    }
    const client = this.current
    try {
      await client.connect()
    } catch (error) {
      this.refused(asRequestError(error).code)
      throw error
    }
    return client
  }

  /**
   * Something failed with `code`. If it means the server no longer takes the token, the token
   * and the client built on it are dropped: the next request needs a new sign-in (or, in
   * `optional` mode, goes on without one).
   */
  refused(code: string): void {
    if (!this.signIn.active || !refusesSignIn(code)) return
    this.signIn.signOut()
    const client = this.current
    this.current = undefined
    client?.close()
    this.signedOut()
  }
}
