import { beforeEach, describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'

const harness = useServer({ defaultRooms: ['general', 'Help Desk'] })

beforeEach(() => {
  harness.serve()
})

/** REST goes through app.handle: the real routes and error mapping, no socket needed. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
  }
  await harness.server.ready
  const res = await harness.server.app.handle(new Request(`http://localhost${path}`, init))
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

describe('GET /health', () => {
  it('answers ok with uptime, rooms and connections', async () => {
    const res = await call('GET', '/health')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ status: 'ok', rooms: 2, connections: 0 })
    expect(typeof res.body.uptime_s).toBe('number')
  })
})

describe('GET /auth', () => {
  it('tells clients the AUTH_MODE before they connect: off by default', async () => {
    await expect(call('GET', '/auth')).resolves.toMatchObject({
      status: 200,
      body: { mode: 'off' },
    })
    await harness.restart({
      authMode: 'required',
      authJwtSecret: 'a-test-secret-of-at-least-32-bytes!!',
    })
    await expect(call('GET', '/auth')).resolves.toMatchObject({
      status: 200,
      body: { mode: 'required' },
    })
  })
})

describe('rooms', () => {
  it('creates a room with a slug id and a moderator token', async () => {
    const res = await call('POST', '/rooms', { name: 'General Chat', max_users: 20 })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      id: 'general-chat',
      name: 'General Chat',
      is_private: false,
      max_users: 20,
      user_count: 0,
    })
    expect(typeof res.body.created_at).toBe('number')
    expect(res.body.moderator_token.length).toBeGreaterThan(20)
  })

  it('has the DEFAULT_ROOMS from the start', async () => {
    const res = await call('GET', '/rooms')
    expect(res.body.rooms.map((r: { id: string }) => r.id)).toEqual(['general', 'help-desk'])
  })

  it('refuses a name whose id is taken with 409 room_exists', async () => {
    await call('POST', '/rooms', { name: 'Lobby' })
    const res = await call('POST', '/rooms', { name: 'lobby' })
    expect(res.status).toBe(409)
    expect(res.body).toEqual({ error: { code: 'room_exists', message: expect.any(String) } })
  })

  const badBodies: [string, unknown][] = [
    ['no name', {}],
    ['a number as name', { name: 5 }],
    ['max_users of 0', { name: 'x', max_users: 0 }],
    ['a name of symbols only', { name: '!!!' }],
    ['a name over 32 characters', { name: 'x'.repeat(33) }],
    ['broken JSON', '{"name":'],
    ['a private room without password', { name: 'secret', is_private: true }],
  ]
  for (const [what, body] of badBodies) {
    it(`answers ${what} with 400 invalid_message`, async () => {
      const res = await call('POST', '/rooms', body)
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('invalid_message')
      expect(typeof res.body.error.message).toBe('string')
      expect(JSON.stringify(res.body)).not.toContain('"type":"validation"')
    })
  }

  it('shows one room with its users, and 404 room_not_found for an unknown one', async () => {
    const ok = await call('GET', '/rooms/general')
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ id: 'general', users: [] })
    const missing = await call('GET', '/rooms/nope')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: { code: 'room_not_found', message: expect.any(String) } })
  })

  it('filters by name and pages with a cursor', async () => {
    for (const name of ['Alpha', 'Beta', 'Gamma', 'Alpine']) await call('POST', '/rooms', { name })
    const filtered = await call('GET', '/rooms?q=ALP')
    expect(filtered.body.rooms.map((r: { id: string }) => r.id)).toEqual(['alpha', 'alpine'])

    const first = await call('GET', '/rooms?limit=2')
    expect(first.body.rooms.map((r: { id: string }) => r.id)).toEqual(['alpha', 'alpine'])
    expect(first.body.next_cursor).toBe('alpine')
    const second = await call('GET', `/rooms?limit=2&cursor=${first.body.next_cursor}`)
    expect(second.body.rooms.map((r: { id: string }) => r.id)).toEqual(['beta', 'gamma'])
    const third = await call('GET', `/rooms?limit=2&cursor=${second.body.next_cursor}`)
    expect(third.body.rooms.map((r: { id: string }) => r.id)).toEqual(['general', 'help-desk'])
    expect(third.body.next_cursor).toBeNull()
  })

  it('answers a bad limit with 400 invalid_message', async () => {
    const res = await call('GET', '/rooms?limit=abc')
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_message')
  })

  it('answers an unknown route with 404 and the error shape', async () => {
    const res = await call('GET', '/nowhere')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('not_found')
  })
})

describe('Swagger', () => {
  it('documents every route with its schemas', async () => {
    const res = await call('GET', '/swagger/json')
    expect(res.status).toBe(200)
    const paths = Object.keys(res.body.paths)
    for (const p of [
      '/health',
      '/auth',
      '/rooms',
      '/rooms/{id}',
      '/rooms/{id}/messages',
      '/rooms/{id}/bans',
    ]) {
      expect(paths).toContain(p)
    }
    const post = res.body.paths['/rooms'].post
    expect(post.requestBody).toBeDefined()
    expect(post.responses['201']).toBeDefined()
    // Every operation's success response with a body carries an example somewhere in its
    // schema (through the shared components its $refs name).
    const components = res.body.components.schemas as Record<string, unknown>
    const hasExample = (node: unknown): boolean => {
      if (typeof node !== 'object' || node === null) return false
      const ref = (node as { $ref?: string }).$ref
      if (ref) return hasExample(components[ref.split('/').pop() ?? ''])
      return 'example' in node || Object.values(node).some(hasExample)
    }
    for (const [path, methods] of Object.entries<Record<string, { responses: object }>>(
      res.body.paths,
    )) {
      for (const [method, op] of Object.entries(methods)) {
        const ok = Object.entries(op.responses).filter(
          ([status]) => status.startsWith('2') && status !== '204',
        )
        expect(ok.length).toBeGreaterThan(0)
        for (const [status, response] of ok) {
          expect({ route: `${method} ${path} ${status}`, example: hasExample(response) }).toEqual({
            route: `${method} ${path} ${status}`,
            example: true,
          })
        }
      }
    }
    const ui = await harness.server.app.handle(new Request('http://localhost/swagger'))
    expect(ui.status).toBe(200)
    expect(await ui.text()).toContain('<html')
  })
})
