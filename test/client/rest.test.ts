import { describe, expect, it } from 'bun:test'
import { ChatClient as ByPackageName } from 'bun-chat-server/client'
import { restClient } from 'bun-chat-server/client/rest'
import { ChatClient } from '../../src/client/chat-client.ts'
import { useServer } from '../support/harness.ts'
import { chatClient } from './support.ts'

const { serve } = useServer({ apiKey: 'an-api-key-for-the-tests' })

describe('restClient (Eden Treaty typed from ChatApp)', () => {
  it('calls the server API with apiKey, typed; a wrong key is 401', async () => {
    const server = serve()
    await server.ready
    const backend = restClient(server.httpUrl, { apiKey: 'an-api-key-for-the-tests' })
    const client = chatClient({ url: server.wsUrl })
    await client.join('general', 'ann')
    const posted = await backend.api
      .rooms({ id: 'general' })
      .messages.post({ content: 'Shipped', sender: { id: 'shop', name: 'Shop' } })
    expect(posted.status).toBe(201)
    expect(posted.data).toMatchObject({ sender: 'Shop', content: 'Shipped', user_id: 'shop' })
    const members = await backend.api.rooms({ id: 'general' }).members.get()
    expect(members.data?.members.map((m) => m.username)).toEqual(['ann'])
    const wrong = restClient(server.httpUrl, { apiKey: 'not-the-key-at-all' })
    const refused = await wrong.api.rooms({ id: 'general' }).members.get()
    expect(refused.status).toBe(401)
  })

  it('creates a room, lists it, reads its messages and gets the error body typed', async () => {
    const server = serve()
    await server.ready
    const api = restClient(server.httpUrl)

    const created = await api.rooms.post({ name: 'Eden Room', max_users: 5 })
    expect(created.status).toBe(201)
    const token = created.data?.moderator_token
    expect(token).toBeString()
    expect(created.data?.id).toBe('eden-room')

    const listed = await api.rooms.get({ query: { q: 'eden', limit: 10 } })
    expect(listed.data?.rooms.map((r) => r.id)).toEqual(['eden-room'])
    expect(listed.data?.next_cursor).toBeNull()

    const client = chatClient({ url: server.wsUrl })
    await client.join('eden-room', 'ann')
    await client.send('eden-room', 'hello over WebSocket')
    const page = await api.rooms({ id: 'eden-room' }).messages.get({ query: { limit: 1 } })
    expect(page.data?.messages.map((m) => m.content)).toEqual(['hello over WebSocket'])
    expect(page.data?.has_more).toBe(true)

    const bans = await api
      .rooms({ id: 'eden-room' })
      .bans.get({ headers: { authorization: `Bearer ${token}` } })
    expect(bans.data?.bans).toEqual([])

    const again = await api.rooms.post({ name: 'Eden Room' })
    expect(again.status).toBe(409)
    expect(again.error?.value).toEqual({
      error: { code: 'room_exists', message: 'A room with id "eden-room" already exists' },
    })
    const missing = await api.rooms({ id: 'nowhere' }).get()
    expect(missing.status).toBe(404)
  })

  it('is importable by the package name', () => {
    expect(ByPackageName).toBe(ChatClient)
  })
})
