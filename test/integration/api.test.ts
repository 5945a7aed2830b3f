import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import type { Frame } from '../support/ws-client.ts'

// The server API for the app's backend (/api/…, API_KEY), on both engines.

const KEY = 'an-api-key-for-the-tests'
const { serve, http, member } = useServer({ apiKey: KEY })

/** A response's JSON body. */
async function json(res: Response | Promise<Response>): Promise<Frame> {
  return (await (await res).json()) as Frame
}

function api(path: string, body?: unknown, key: string | null = KEY): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key !== null) headers.authorization = `Bearer ${key}`
  return http(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

describe('the server API', () => {
  it('answers 404 without API_KEY, and 401 without or with a wrong key', async () => {
    serve({ apiKey: undefined })
    expect((await api('/api/rooms/general/members')).status).toBe(404)
  })

  it('refuses a missing or wrong key with 401 and the usual error body', async () => {
    serve()
    for (const key of [null, 'wrong-key-of-some-length', `${KEY}x`]) {
      const res = await api('/api/rooms/general/members', undefined, key)
      expect(res.status).toBe(401)
      expect((await json(res)).error.code).toBe('not_authorized')
    }
  })

  it('posts a message for a user of the app: delivered live, kept in history, with user_id', async () => {
    serve()
    const alice = await member('general', 'alice')
    const live = alice.next('message')
    const res = await api('/api/rooms/general/messages', {
      content: 'Your order shipped',
      sender: { id: 'u-9', name: 'Shop Bot' },
    })
    expect(res.status).toBe(201)
    const stored = await json(res)
    expect(stored).toMatchObject({
      type: 'text',
      sender: 'Shop Bot',
      content: 'Your order shipped',
      room_id: 'general',
      user_id: 'u-9',
    })
    expect(await live).toMatchObject({ id: stored.id, sender: 'Shop Bot', user_id: 'u-9' })
    const page = await json(http('/rooms/general/messages'))
    expect(page.messages.at(-1)).toEqual(stored)
  })

  it('posts a system notice without a sender', async () => {
    serve()
    const alice = await member('general', 'alice')
    const live = alice.next('system', (f) => f.content === 'Maintenance at noon')
    const res = await api('/api/rooms/general/messages', { content: 'Maintenance at noon' })
    expect(res.status).toBe(201)
    const stored = await json(res)
    expect(stored).toMatchObject({ type: 'system', sender: 'system' })
    expect((await live).id).toBe(stored.id)
  })

  it('posts once per idempotency_key and answers the first result again', async () => {
    serve()
    const body = { content: 'once', idempotency_key: 'order-81' }
    const first = await json(api('/api/rooms/general/messages', body))
    const again = await api('/api/rooms/general/messages', { ...body, content: 'twice?' })
    expect(again.status).toBe(201)
    expect(await json(again)).toEqual(first)
    const page = await json(http('/rooms/general/messages'))
    expect(page.messages.filter((m: { content: string }) => m.content === 'once')).toHaveLength(1)
    expect(page.messages.some((m: { content: string }) => m.content === 'twice?')).toBe(false)
    // Another room, another key space.
    expect(
      (await api('/api/rooms/general/messages', { ...body, idempotency_key: 'order-82' })).status,
    ).toBe(201)
  })

  it('refuses bad input with 400 and an unknown room with 404', async () => {
    serve()
    const blank = await api('/api/rooms/general/messages', { content: '   ' })
    expect(blank.status).toBe(400)
    expect((await json(blank)).error.code).toBe('invalid_message')
    const badName = await api('/api/rooms/general/messages', {
      content: 'x',
      sender: { id: 'u', name: '' },
    })
    expect(badName.status).toBe(400)
    const missing = await api('/api/rooms/nowhere/messages', { content: 'x' })
    expect(missing.status).toBe(404)
    expect((await json(missing)).error.code).toBe('room_not_found')
    expect((await api('/api/rooms/nowhere/members')).status).toBe(404)
  })

  it('lists the members, and creates rooms without the per-address limit', async () => {
    serve({ roomCreatePerMin: 1 })
    await member('general', 'alice')
    const res = await api('/api/rooms/general/members')
    expect(await json(res)).toEqual({
      members: [
        { user_id: null, username: 'alice', online: true, connections: 1, moderator: false },
      ],
    })
    for (const name of ['One', 'Two', 'Three']) {
      const created = await api('/api/rooms', { name })
      expect(created.status).toBe(201)
      expect((await json(created)).moderator_token).toBeString()
    }
  })
})
