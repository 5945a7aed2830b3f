/**
 * The REST API, typed from the server's own routes through Eden Treaty: paths, query
 * parameters, bodies and replies all come from the `ChatApp` type, so a route changed on
 * the server is a type error here. Only a type is imported from the server: at run time
 * this is Eden's small fetch wrapper (about 8 KB minified) and nothing of the server.
 *
 * Apart from the WebSocket client (`bun-chat-server/client/rest`), so that bundles that
 * do not use it do not carry Eden.
 */
import { treaty } from '@elysiajs/eden'
import type { ChatApp } from '../app.ts'

/**
 * A typed REST client. Each call resolves to `{ data, error, status }`; `error.value` is
 * the server's `{"error":{"code","message"}}` body. With `apiKey` (your backend's API_KEY)
 * every request carries it, for the server API under `api` (docs/sign-in.md).
 *
 * @example
 * const api = restClient('http://localhost:3000')
 * const { data } = await api.rooms.get({ query: { limit: 10 } })
 * const created = await api.rooms.post({ name: 'Team', is_private: true, password: 'sesame' })
 * const page = await api.rooms({ id: 'general' }).messages.get({ query: { limit: 20 } })
 *
 * const backend = restClient('http://localhost:3000', { apiKey: process.env.API_KEY })
 * await backend.api.rooms({ id: 'support' }).messages.post({ content: 'Shipped' })
 */
export function restClient(
  baseUrl: string,
  init: { headers?: Record<string, string>; apiKey?: string } = {},
) {
  const headers = { ...init.headers }
  if (init.apiKey !== undefined) headers.authorization = `Bearer ${init.apiKey}`
  return treaty<ChatApp>(baseUrl, { headers })
}

export type RestClient = ReturnType<typeof restClient>
