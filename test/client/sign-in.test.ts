import { describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import { ChatRequestError } from '../../src/client/types.ts'
import { useServer } from '../support/harness.ts'
import { chatClient, lastSocket, nextEvent, socketFactory } from './support.ts'

// The typed client's sign-in against a real server with AUTH_MODE=required.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'
const API_KEY = 'an-api-key-for-the-tests'
const { serve, http } = useServer({ authMode: 'required', authJwtSecret: SECRET, apiKey: API_KEY })

const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 100 }, random: () => 0.5 }

function token(sub: string, name: string, ttlS = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ name })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlS)
    .sign(new TextEncoder().encode(SECRET))
}

describe('ChatClient sign-in', () => {
  it('signs in with a fixed token before its first request', async () => {
    const server = serve()
    await server.ready
    const client = chatClient({ url: server.wsUrl, token: await token('u1', 'Alice') })
    const authenticated = nextEvent(client, 'authenticated')
    const joined = await client.join('general', 'ignored')
    expect(joined.username).toBe('Alice')
    expect((await authenticated).user).toEqual({ id: 'u1', name: 'Alice' })
  })

  it('asks getToken again on a reconnect and signs in before it resumes', async () => {
    const server = serve()
    await server.ready
    const { WebSocket, sockets } = socketFactory()
    let calls = 0
    const client = chatClient({
      url: server.wsUrl,
      WebSocket,
      ...FAST,
      getToken: async () => token('u1', `Alice`, 3600 + ++calls),
    })
    await client.join('general', 'x')
    expect(calls).toBe(1)
    const reconnected = nextEvent(client, 'reconnected')
    lastSocket(sockets).terminate()
    const info = await reconnected
    expect(calls).toBe(2)
    expect(info).toEqual({ resumed: true, recovered: true })
    expect((await client.send('general', 'back')).content).toBe('back')
  })

  it('refreshes the token before it expires, through getToken', async () => {
    const server = serve()
    await server.ready
    let calls = 0
    const client = chatClient({
      url: server.wsUrl,
      // Expires in 62 s; refreshed 61 s early, i.e. after the shortest wait (1 s).
      getToken: async () => token('u1', `Alice ${++calls}`, 62),
      refreshBeforeMs: 61_000,
    })
    const first = nextEvent(client, 'authenticated')
    await client.connect()
    expect((await first).user.name).toBe('Alice 1')
    const second = await nextEvent(client, 'authenticated')
    expect(second.user.name).toBe('Alice 2')
    expect(client.state).toBe('open')
  })

  it('stops, without retrying, when getToken rejects', async () => {
    const server = serve()
    await server.ready
    const client = chatClient({
      url: server.wsUrl,
      ...FAST,
      getToken: async () => {
        throw new Error('the session with the app ended')
      },
    })
    const error = await client.connect().catch((e) => e)
    expect(error).toBeInstanceOf(ChatRequestError)
    expect(error.message).toContain('getToken failed')
    expect(client.state).toBe('closed')
  })

  it('stops on a token the server refuses, with its invalid_token', async () => {
    const server = serve()
    await server.ready
    const client = chatClient({ url: server.wsUrl, ...FAST, token: 'not.a.jwt' })
    const error = await client.connect().catch((e) => e)
    expect(error).toMatchObject({ code: 'invalid_token' })
    expect(client.state).toBe('closed')
  })

  it('stops (no reconnect) when the app disconnects the user with 4403', async () => {
    const server = serve()
    await server.ready
    const { WebSocket, sockets } = socketFactory()
    const client = chatClient({
      url: server.wsUrl,
      WebSocket,
      token: await token('u1', 'Alice'),
      ...FAST,
    })
    await client.join('general', '')
    const disconnect = nextEvent(client, 'disconnect')
    const res = await http('/api/users/u1/disconnect', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'Signed out' }),
    })
    expect(res.status).toBe(204)
    expect(await disconnect).toMatchObject({ code: 4403, reconnect: false })
    expect(client.state).toBe('closed')
    expect(sockets.length).toBe(1)
    const refused = await client.send('general', 'hi').catch((e: unknown) => e)
    expect((refused as ChatRequestError).code).toBe('closed')
  })

  it('forgets a room the server deleted: room_deleted, and it is not joined again on a reconnect', async () => {
    const server = serve()
    await server.ready
    const { WebSocket, sockets } = socketFactory()
    const client = chatClient({
      url: server.wsUrl,
      WebSocket,
      token: await token('u1', 'Alice'),
      ...FAST,
    })
    const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }
    const made = await http('/api/rooms', { method: 'POST', headers, body: '{"name":"Brief"}' })
    expect(made.status).toBe(201)
    await client.join('brief', '')
    await client.join('general', '')
    const deleted = nextEvent(client, 'room_deleted')
    expect((await http('/api/rooms/brief', { method: 'DELETE', headers })).status).toBe(204)
    expect(await deleted).toEqual({ type: 'room_deleted', room: 'brief' })
    const reconnected = nextEvent(client, 'reconnected')
    lastSocket(sockets).terminate()
    await reconnected
    expect([...client.rooms.keys()]).toEqual(['general'])
  })
})
