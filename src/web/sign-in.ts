/**
 * Signing in on the page (AUTH_MODE, docs/sign-in.md): the server's mode from `GET /auth`,
 * the token from a `#token=…` link kept for the tab, and "Signed in as …" where the Username
 * box was.
 */
import { byId, el } from './dom.ts'

/** The server's AUTH_MODE. */
export type AuthMode = 'off' | 'optional' | 'required'

const TOKEN_KEY = 'chat.token'

/**
 * The server's AUTH_MODE, from `GET /auth`. If the server cannot say (it was just reachable,
 * since it served this page), `optional`: a token given is used, and without one the page is
 * as with `off`; a server that requires a sign-in then says so at the first join.
 */
export async function authMode(): Promise<AuthMode> {
  try {
    const res = await fetch('/auth')
    if (res.ok) {
      const { mode } = (await res.json()) as { mode?: unknown }
      if (mode === 'off' || mode === 'optional' || mode === 'required') return mode
    }
  } catch {
    // Told below.
  }
  console.warn('The server did not tell its sign-in mode (GET /auth); going on as optional')
  return 'optional'
}

/**
 * The token of a `#token=…` link, else the one kept from earlier in this tab. A token from
 * the link is kept in sessionStorage (this tab only, gone when it closes) and taken out of
 * the address bar, so that it stays out of the history and of a copied link. A fragment is
 * never sent to the server, and the token itself travels only in the `auth` frame.
 */
export function takeToken(): string | undefined {
  const params = new URLSearchParams(location.hash.slice(1))
  const given = params.get('token')
  if (given !== null) {
    params.delete('token')
    const rest = params.toString()
    const url = `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`
    history.replaceState(history.state, '', url)
    if (given) sessionStorage.setItem(TOKEN_KEY, given)
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined
}

/**
 * Whether an error code means the token is no good (refused, expired, or none given): the
 * token is then dropped, and the person needs a new sign-in link.
 */
export const refusesSignIn = (code: string): boolean =>
  code === 'invalid_token' || code === 'token_expired' || code === 'unauthenticated'

/**
 * The page's sign-in: in `required` mode always, in `optional` mode when a token was given
 * (else the page is as with `off`). It shows "Signed in as <name>" in the Username box's card.
 */
export class PageSignIn {
  /** The signed-in name, from the server's `authenticated`. */
  name: string | undefined
  private readonly card: HTMLElement
  private readonly usernameBox: Node[]
  private readonly text = el('p', { class: 'signed-in' })
  private on: boolean

  constructor(
    readonly mode: AuthMode,
    private token: string | undefined,
  ) {
    const username = byId('username', HTMLInputElement)
    const card = username.closest('section')
    if (!card) throw new Error('The Username box is in no <section>')
    this.card = card
    this.usernameBox = [...card.childNodes]
    this.on = mode === 'required' || (mode === 'optional' && token !== undefined)
    if (!this.on) return
    this.card.replaceChildren(this.text)
    this.say(token === undefined ? 'Not signed in' : 'Signing in…')
  }

  /** Whether the page signs in with a token (and has no Username box). */
  get active(): boolean {
    return this.on
  }

  /** The token to connect with; undefined when the page does not sign in, or has none. */
  get current(): string | undefined {
    return this.on ? this.token : undefined
  }

  /** The server took the token. */
  signedIn(name: string): void {
    this.name = name
    this.say(`Signed in as ${name}`)
  }

  /**
   * The token was refused or has expired: it is forgotten for this tab. In `optional` mode
   * the Username box comes back, to go on without signing in.
   */
  signOut(): void {
    this.token = undefined
    this.name = undefined
    sessionStorage.removeItem(TOKEN_KEY)
    if (this.mode === 'optional') {
      this.on = false
      this.card.replaceChildren(...this.usernameBox)
    } else this.say('Not signed in')
  }

  private say(text: string): void {
    if (this.text.textContent !== text) this.text.textContent = text
  }
}
