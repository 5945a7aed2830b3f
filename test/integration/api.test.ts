import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import type { Frame } from '../support/ws-client.ts'

// The server API for the app's backend (/api/…, API_KEY), on both engines.

const KEY = 'an-api-key-for-the-tests'
const { serve, http, member, connect, tryJoin, signedIn } = useServer({
  apiKey: KEY,
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
})

function del(path: string): Promise<Response> {
  return http(path, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })
}

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

  it('bans by user id: the member is removed at once, a new name or connection stays out; DELETE lifts it', async () => {
    serve()
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('general', 'x')
    const banned = alice.next('banned')
    const res = await api('/api/rooms/general/bans', { user_id: 'u1', reason: 'spam' })
    expect(res.status).toBe(201)
    expect(await json(res)).toEqual({ room: 'general', username: 'Alice', user_id: 'u1' })
    expect(await banned).toMatchObject({ room: 'general', by: 'server' })
    const again = await signedIn({ sub: 'u1', name: 'Alice Two' })
    expect(await tryJoin(again, 'general', 'x')).toMatchObject({ code: 'not_authorized' })
    expect((await del('/api/rooms/general/bans/Alice')).status).toBe(204)
    expect((await tryJoin(again, 'general', 'x')).type).toBe('joined')
  })

  it('bans a user id ahead of their join, and by username', async () => {
    serve()
    expect((await api('/api/rooms/general/bans', { user_id: 'u7' })).status).toBe(201)
    const later = await signedIn({ sub: 'u7', name: 'Late' })
    expect(await tryJoin(later, 'general', 'x')).toMatchObject({ code: 'not_authorized' })
    expect((await del('/api/rooms/general/bans/u7')).status).toBe(204)
    expect((await tryJoin(later, 'general', 'x')).type).toBe('joined')
    const bob = await member('general', 'bob')
    const out = bob.next('banned')
    expect((await api('/api/rooms/general/bans', { username: 'bob' })).status).toBe(201)
    await out
    const bad = await api('/api/rooms/general/bans', { user_id: 'a', username: 'b' })
    expect(bad.status).toBe(400)
    expect((await api('/api/rooms/nowhere/bans', { username: 'b' })).status).toBe(404)
    expect((await del('/api/rooms/general/bans/nobody')).status).toBe(400)
  })

  it('deletes a room: members get room_deleted (and no user_left), the room and its history are gone', async () => {
    serve()
    expect((await api('/api/rooms', { name: 'Doomed' })).status).toBe(201)
    const alice = await member('doomed', 'alice')
    const bob = await member('doomed', 'bob')
    await alice.next('user_joined')
    const said = alice.next('message')
    alice.send({ action: 'message', room: 'doomed', content: 'last words' })
    await said
    const aliceTold = alice.next('room_deleted')
    const bobTold = bob.next('room_deleted')
    expect((await del('/api/rooms/doomed')).status).toBe(204)
    expect(await aliceTold).toEqual({ type: 'room_deleted', room: 'doomed' })
    expect(await bobTold).toEqual({ type: 'room_deleted', room: 'doomed' })
    expect((await alice.sync()).filter((f) => f.type === 'user_left')).toEqual([])
    expect((await http('/rooms/doomed')).status).toBe(404)
    expect((await http('/rooms/doomed/messages')).status).toBe(404)
    expect(await tryJoin(bob, 'doomed', 'bob')).toMatchObject({ code: 'room_not_found' })
    const again = await alice.request({ action: 'message', room: 'doomed', content: 'x' }, [
      'message',
    ])
    expect(again).toMatchObject({ type: 'error' })
    // Deleted twice: the second is a 404; a new room of that name starts empty.
    const twice = await del('/api/rooms/doomed')
    expect(twice.status).toBe(404)
    expect((await json(twice)).error.code).toBe('room_not_found')
    expect((await api('/api/rooms', { name: 'Doomed' })).status).toBe(201)
    const fresh = await alice.join('doomed', 'alice')
    expect(fresh.history.filter((m: Frame) => m.content === 'last words')).toEqual([])
    expect(fresh.users.map((u: Frame) => u.username)).toEqual(['alice'])
  })

  it('tells a member who was away when their room was deleted, on resume: room_not_found', async () => {
    serve()
    expect((await api('/api/rooms', { name: 'Gone Soon' })).status).toBe(201)
    const alice = await connect()
    await alice.join('gone-soon', 'alice')
    await alice.join('general', 'alice')
    const witness = await member('general', 'bob')
    const offline = witness.next('presence', (f) => f.username === 'alice')
    alice.close()
    await offline
    expect((await del('/api/rooms/gone-soon')).status).toBe(204)
    const back = await connect()
    const lost = back.next('error', (f) => f.room === 'gone-soon')
    const resumed = back.next('resumed')
    back.send({ action: 'resume', session: alice.session, last_ids: {} })
    expect(await lost).toMatchObject({ code: 'room_not_found', room: 'gone-soon' })
    expect(await resumed).toMatchObject({ room: 'general', username: 'alice' })
  })

  it('answers 404 for deleting a room that does not exist', async () => {
    serve()
    const res = await del('/api/rooms/nowhere')
    expect(res.status).toBe(404)
    expect((await json(res)).error.code).toBe('room_not_found')
  })

  it('disconnects a user everywhere: each of their connections gets not_authorized with the reason, then 4403', async () => {
    serve()
    const tab1 = await signedIn({ sub: 'u1', name: 'Alice' })
    await tab1.join('general', 'x')
    const tab2 = await signedIn({ sub: 'u1', name: 'Alice' })
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    const told = [tab1, tab2].map((c) => c.next('error', (f) => f.code === 'not_authorized'))
    const res = await api('/api/users/u1/disconnect', { reason: 'Signed out elsewhere' })
    expect(res.status).toBe(204)
    for (const frame of await Promise.all(told)) expect(frame.message).toBe('Signed out elsewhere')
    expect((await tab1.closed).code).toBe(4403)
    expect((await tab2.closed).code).toBe(4403)
    await bob.ping()
    // Without block_ms the user may sign in again at once.
    const back = await signedIn({ sub: 'u1', name: 'Alice' })
    await back.ping()
  })

  it("with block_ms refuses the user's tokens for that long, then lets them in again", async () => {
    const clock = new FakeClock(Date.now())
    serve({ unjoinedTimeoutMs: 3_600_000 }, { clock })
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const closed = alice.closed
    const blockMs = 60_000
    expect((await api('/api/users/u1/disconnect', { block_ms: blockMs })).status).toBe(204)
    expect((await closed).code).toBe(4403)
    const again = await connect()
    const refused = await again.request(
      { action: 'auth', token: await testToken({ sub: 'u1', name: 'Alice' }) },
      ['authenticated'],
    )
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_token' })
    expect(refused.message).toContain('may not sign in')
    // Another user is not blocked.
    await signedIn({ sub: 'u2', name: 'Bob' })
    // The block ends by the server's clock (on Redis the key also expires then, in real time).
    clock.advance(blockMs)
    const reply = await again.request(
      { action: 'auth', token: await testToken({ sub: 'u1', name: 'Alice' }) },
      ['authenticated'],
    )
    expect(reply).toMatchObject({ type: 'authenticated', user: { id: 'u1' } })
  })

  it('refuses a bad disconnect with 400: block_ms out of range, a reason too long', async () => {
    serve()
    for (const body of [
      { block_ms: 0 },
      { block_ms: 31 * 24 * 3600 * 1000 },
      { reason: 'x'.repeat(501) },
    ]) {
      const res = await api('/api/users/u1/disconnect', body)
      expect(res.status).toBe(400)
      expect((await json(res)).error.code).toBe('invalid_message')
    }
    expect((await api('/api/users/u1/disconnect', {}, null)).status).toBe(401)
    // No body at all is a disconnect with the default reason.
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const told = alice.next('error')
    const res = await http('/api/users/u1/disconnect', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
    })
    expect(res.status).toBe(204)
    expect((await told).message).toBe('Disconnected by the server')
  })

  it('bans for a time with duration_ms: in force until then, listed with its end, then gone', async () => {
    const clock = new FakeClock(Date.now())
    serve({ unjoinedTimeoutMs: 3_600_000, resumeGraceMs: 3_600_000 }, { clock })
    const created = await json(api('/api/rooms', { name: 'Timed' }))
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('timed', 'x')
    const banned = alice.next('banned')
    const res = await api('/api/rooms/timed/bans', { user_id: 'u1', duration_ms: 60_000 })
    expect(res.status).toBe(201)
    expect(await json(res)).toEqual({
      room: 'timed',
      username: 'Alice',
      user_id: 'u1',
      until: clock.now() + 60_000,
    })
    await banned
    // Ahead of a join, by user id, for a time too.
    expect(
      (await api('/api/rooms/timed/bans', { user_id: 'u2', duration_ms: 30_000 })).status,
    ).toBe(201)
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    const bans = () =>
      json(
        http('/rooms/timed/bans', {
          headers: { authorization: `Bearer ${created.moderator_token}` },
        }),
      )
    expect((await bans()).bans.map((b: Frame) => [b.username, b.until])).toEqual([
      ['Alice', clock.now() + 60_000],
      ['u2', clock.now() + 30_000],
    ])
    expect(await tryJoin(alice, 'timed', 'x')).toMatchObject({ code: 'not_authorized' })
    expect(await tryJoin(bob, 'timed', 'x')).toMatchObject({ code: 'not_authorized' })
    clock.advance(30_000)
    expect((await tryJoin(bob, 'timed', 'x')).type).toBe('joined')
    expect(await tryJoin(alice, 'timed', 'x')).toMatchObject({ code: 'not_authorized' })
    clock.advance(30_000)
    expect((await tryJoin(alice, 'timed', 'x')).type).toBe('joined')
    expect((await bans()).bans).toEqual([])
  })

  it('refuses a duration_ms out of range with 400', async () => {
    serve()
    for (const duration_ms of [0, -5, 1.5, 366 * 24 * 3600 * 1000]) {
      const res = await api('/api/rooms/general/bans', { username: 'bob', duration_ms })
      expect(res.status).toBe(400)
    }
  })
})
