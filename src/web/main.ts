/** The chat page's entry point: Bun bundles it from index.html (see transport/web.ts). */
import { ChatPage } from './chat-page.ts'
import { authMode, takeToken } from './sign-in.ts'

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
// One small request before anything connects: in `required` mode a page without a token
// must not connect at all, and one with a token signs in first.
const mode = await authMode()
// With AUTH_MODE=off the page ignores a token: there is nothing to sign in to.
new ChatPage(`${scheme}//${location.host}/ws`, mode, mode === 'off' ? undefined : takeToken())

if (mode !== 'off') {
  // A new sign-in link opened in this tab changes only the fragment: start again with it.
  addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.slice(1)).has('token')) location.reload()
  })
}
