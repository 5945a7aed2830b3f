/** Fixtures for the ChatClient tests: clients closed after each test, awaited events, sockets. */
import { afterEach } from 'bun:test'
import { ChatClient } from '../../src/client/chat-client.ts'
import type { ChatClientEvents, ChatClientOptions, ChatEventName } from '../../src/client/types.ts'

const WAIT_MS = 2500

/** Every ChatClient a test made; closed after it. */
const clients: ChatClient[] = []

afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

/** A ChatClient closed after the test. */
export function chatClient(options: ChatClientOptions): ChatClient {
  const client = new ChatClient(options)
  clients.push(client)
  return client
}

/**
 * The next `event` of `client` matching `where`. Create it *before* the action that
 * triggers the event; it rejects after a while with what it was waiting for.
 */
export function nextEvent<E extends ChatEventName>(
  client: ChatClient,
  event: E,
  where: (payload: ChatClientEvents[E]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<ChatClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no "${event}" event within ${ms} ms`))
    }, ms)
    const off = client.on(event, (payload) => {
      if (!where(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}

/** Records every payload of `event`, in order. */
export function record<E extends ChatEventName>(
  client: ChatClient,
  event: E,
): ChatClientEvents[E][] {
  const seen: ChatClientEvents[E][] = []
  client.on(event, (payload) => seen.push(payload))
  return seen
}

/**
 * A WebSocket class that keeps each socket it makes (so a test can cut one) and opens
 * whatever URL `target()` gives at that moment (so a client can follow a restarted server).
 */
export function socketFactory(target?: () => string): {
  WebSocket: typeof WebSocket
  sockets: WebSocket[]
} {
  const sockets: WebSocket[] = []
  class TrackedWebSocket extends WebSocket {
    constructor(url: string | URL) {
      super(target ? target() : url)
      sockets.push(this)
    }
  }
  return { WebSocket: TrackedWebSocket, sockets }
}

/** The last socket made, which must exist. */
export function lastSocket(sockets: WebSocket[]): WebSocket & { terminate(): void } {
  const ws = sockets.at(-1)
  if (!ws) throw new Error('no socket was made')
  // Bun's WebSocket has terminate(): the TCP connection is cut with no close frame (1006).
  return ws as WebSocket & { terminate(): void }
}
