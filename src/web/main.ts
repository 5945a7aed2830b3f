/** The chat page's entry point: Bun bundles it from index.html (see transport/web.ts). */
import { ChatPage } from './chat-page.ts'

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
new ChatPage(`${scheme}//${location.host}/ws`)
