/**
 * Issue 4, the trust boundary: private rooms and their passwords, the Origin allow-list,
 * and names or JSON keys such as `__proto__` that must stay plain data.
 */
import { describe, expect, it } from 'bun:test'
import type { PasswordHasher } from '../../src/domain/ports.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { fastHasher } from '../support/server.ts'
import type { Frame } from '../support/ws-client.ts'

const harness = useServer()
const { serve, connect, http, postRoom, createRoom, tryJoin } = harness

/** A hasher that counts verifies: proves a refusal came before any hash was checked. */
function countingHasher(): { hasher: PasswordHasher; verifies: () => number } {
  let verifies = 0
  return {
    hasher: {
      hash: fastHasher.hash,
      verify: (password, hash) => {
        verifies++
        return fastHasher.verify(password, hash)
      },
    },
    verifies: () => verifies,
  }
}

describe('private rooms', () => {
  it('keeps a private room out of GET /rooms', async () => {
    serve()
    const created = await createRoom({ name: 'Secret Base', is_private: true, password: 'hunter2' })
    expect(created).toMatchObject({ id: 'secret-base', is_private: true })
    const all = (await (await http('/rooms')).json()) as Frame
    expect(all.rooms.map((r: Frame) => r.id)).toEqual(['general'])
    const searched = (await (await http('/rooms?q=secret')).json()) as Frame
    expect(searched.rooms).toEqual([])
  })

  it('refuses a join without a password or with a wrong one, and admits the right one', async () => {
    serve()
    await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    const bob = await connect()
    expect(await tryJoin(bob, 'vault', 'bob')).toMatchObject({
      type: 'error',
      code: 'not_authorized',
    })
    expect(await tryJoin(bob, 'vault', 'bob', { password: 'hunter3' })).toMatchObject({
      type: 'error',
      code: 'not_authorized',
    })
    const joined = await bob.join('vault', 'bob', { password: 'hunter2' })
    expect(joined).toMatchObject({ room: 'vault', username: 'bob', moderator: false })
  })

  it('shows no user list and no password material in GET /rooms/{id}', async () => {
    serve()
    const created = await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    const alice = await connect()
    await alice.join('vault', 'alice', { password: 'hunter2' })
    const res = await http('/rooms/vault')
    expect(res.status).toBe(200)
    const text = await res.text()
    const details = JSON.parse(text) as Frame
    expect(details).toMatchObject({ id: 'vault', is_private: true, user_count: 1 })
    expect(details.users).toBeUndefined()
    expect(text).not.toContain('alice')
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('argon2')
    expect(text).not.toContain(created.moderator_token)
    expect(Object.keys(details).some((k) => /pass|hash|token/i.test(k))).toBe(false)
  })

  it('admits the holder of the moderator token without the password', async () => {
    serve()
    const created = await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    const alice = await connect()
    const joined = await alice.join('vault', 'alice', { token: created.moderator_token })
    expect(joined.moderator).toBe(true)
  })

  it('refuses repeated wrong passwords of one connection with rate_limited before verifying', async () => {
    const clock = new FakeClock()
    const counting = countingHasher()
    serve({}, { clock, hasher: counting.hasher })
    await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    const mallory = await connect()
    let wrong = 0
    let reply = await tryJoin(mallory, 'vault', 'mallory', { password: 'guess-0' })
    while (reply.code === 'not_authorized' && wrong < 50) {
      wrong++
      reply = await tryJoin(mallory, 'vault', 'mallory', { password: `guess-${wrong}` })
    }
    expect(reply).toMatchObject({ type: 'error', code: 'rate_limited' })
    expect(wrong).toBeGreaterThan(0)
    // Every refused attempt past the limit was refused without a verify.
    expect(counting.verifies()).toBe(wrong)
    // Even the right password is refused until the bucket refills: no oracle, no CPU.
    expect(await tryJoin(mallory, 'vault', 'mallory', { password: 'hunter2' })).toMatchObject({
      code: 'rate_limited',
    })
    expect(counting.verifies()).toBe(wrong)
    // One wrong-password token comes back every 2 s.
    clock.advance(2000)
    await mallory.join('vault', 'mallory', { password: 'hunter2' })
    expect(counting.verifies()).toBe(wrong + 1)
  })

  it('limits wrong passwords per client address across connections', async () => {
    const clock = new FakeClock()
    const counting = countingHasher()
    serve({}, { clock, hasher: counting.hasher })
    await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    let limitedAt = -1
    for (let n = 0; n < 40 && limitedAt < 0; n++) {
      // A new connection each time, so only the per-address bucket can refuse.
      const c = await connect()
      const reply = await tryJoin(c, 'vault', `guest${n}`, { password: 'wrong' })
      if (reply.code === 'rate_limited') limitedAt = n
      else expect(reply.code).toBe('not_authorized')
      c.close()
    }
    expect(limitedAt).toBeGreaterThan(0)
    expect(counting.verifies()).toBe(limitedAt)
  })

  it('limits wrong passwords per room: 100, then 5 a second; a right one gives its token back', async () => {
    const clock = new FakeClock()
    const counting = countingHasher()
    serve({ trustProxy: true }, { clock, hasher: counting.hasher })
    await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    let n = 0
    // A new connection from a new address each time: only the room's bucket can refuse.
    const attempt = async (password: string) => {
      n++
      const c = await connect({ 'x-forwarded-for': `10.0.${n >> 8}.${n & 255}` })
      const reply = await tryJoin(c, 'vault', `guest${n}`, { password })
      c.close()
      return reply
    }
    for (let i = 0; i < 100; i++) expect((await attempt('wrong')).code).toBe('not_authorized')
    expect(await attempt('hunter2')).toMatchObject({ code: 'rate_limited' })
    expect(counting.verifies()).toBe(100)
    clock.advance(200)
    expect((await attempt('hunter2')).type).toBe('joined')
    // The right password took the one token and gave it back: one more attempt is let in.
    expect((await attempt('wrong')).code).toBe('not_authorized')
    expect((await attempt('wrong')).code).toBe('rate_limited')
    expect(counting.verifies()).toBe(102)
  })

  it('refuses a private room without a password at creation', async () => {
    serve()
    const res = await postRoom({ name: 'Vault', is_private: true })
    expect(res.status).toBe(400)
    expect(((await res.json()) as Frame).error.code).toBe('invalid_message')
  })
})

describe('the Origin allow-list', () => {
  /** Opens a raw socket and reports whether it ever opened, and how it ended. */
  function attempt(origin: string): Promise<{ opened: boolean; code: number }> {
    const ws = new WebSocket(harness.server.wsUrl, { headers: { Origin: origin } })
    let opened = false
    ws.addEventListener('open', () => {
      opened = true
      ws.close()
    })
    return new Promise((resolve) => {
      ws.addEventListener('close', (e) => resolve({ opened, code: e.code }))
    })
  }

  it('refuses an upgrade from a foreign Origin: the client never opens', async () => {
    serve({ allowedOrigins: ['https://chat.example'] })
    const result = await attempt('https://evil.example')
    expect(result.opened).toBe(false)
    expect(harness.server.store.stats().connections).toBe(0)
  })

  it('admits an upgrade from an allowed Origin', async () => {
    serve({ allowedOrigins: ['https://chat.example'] })
    const c = await connect({ Origin: 'https://chat.example' })
    expect(c.session).not.toBe('')
    await c.join('general', 'alice')
  })

  it('admits any Origin when the list is empty', async () => {
    serve()
    const result = await attempt('https://anywhere.example')
    expect(result.opened).toBe(true)
  })
})

describe('__proto__ and constructor', () => {
  const tricky = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']

  it('are ordinary room names over REST and WebSocket', async () => {
    serve()
    for (const name of tricky) {
      const res = await http(`/rooms/${name}`)
      expect(res.status).toBe(404)
      expect(((await res.json()) as Frame).error.code).toBe('room_not_found')
    }
    const created = await createRoom({ name: '__proto__' })
    expect(created.id).toBe('__proto__')
    const alice = await connect()
    const made = await alice.request({ action: 'create', name: 'constructor', username: 'alice' }, [
      'joined',
    ])
    expect(made).toMatchObject({ type: 'joined', room: 'constructor', moderator: true })
    await alice.join('__proto__', 'alice')
    const listed = (await (await http('/rooms')).json()) as Frame
    expect(listed.rooms.map((r: Frame) => r.id)).toEqual(['__proto__', 'constructor', 'general'])
    expect((await http('/rooms/constructor/bans')).status).toBe(401)
    const msgs = (await (await http('/rooms/__proto__/messages')).json()) as Frame
    expect(msgs.messages[0]).toMatchObject({ type: 'system', content: 'alice joined' })
  })

  it('are ordinary usernames', async () => {
    serve()
    const a = await connect()
    const b = await connect()
    await a.join('general', '__proto__')
    const joined = await b.join('general', 'constructor')
    expect(joined.users.map((u: Frame) => u.username).sort()).toEqual(['__proto__', 'constructor'])
    const got = b.next('message')
    a.send({ action: 'message', room: 'general', content: 'hi' })
    expect(await got).toMatchObject({ sender: '__proto__', content: 'hi' })
    expect(await tryJoin(b, 'general', 'constructor')).toMatchObject({ type: 'joined' })
    const c = await connect()
    expect(await tryJoin(c, 'general', '__PROTO__')).toMatchObject({ code: 'username_taken' })
  })

  it('as JSON keys of a frame grant nothing and pollute nothing', async () => {
    const created = serve()
    const room = await createRoom({ name: 'Vault', is_private: true, password: 'hunter2' })
    const c = await connect()
    // A parsed "__proto__" key must stay a plain key, not become the frame's prototype.
    c.sendRaw('{"__proto__":{"action":"ping"},"ref":"p1"}')
    expect(await c.error((f) => f.ref === 'p1')).toMatchObject({ code: 'invalid_message' })
    c.sendRaw(
      '{"action":"join","room":"vault","username":"eve","ref":"j1","__proto__":{"password":"hunter2"}}',
    )
    expect(await c.error((f) => f.ref === 'j1')).toMatchObject({ code: 'not_authorized' })
    c.sendRaw(
      '{"action":"join","room":"general","username":"eve","ref":"j2","constructor":{"prototype":{"moderator":true}},"__proto__":{"moderator":true}}',
    )
    expect(await c.next('joined', (f) => f.ref === 'j2')).toMatchObject({ moderator: false })
    // A resume whose last_ids name "__proto__" and "constructor" next to a real room.
    const away = await connect()
    await away.join('general', 'zed')
    away.close()
    await away.closed
    const back = await connect()
    back.sendRaw(
      `{"action":"resume","session":"${away.session}","ref":"r1","last_ids":{"__proto__":"000000000001","constructor":"1","general":"000000000001"}}`,
    )
    expect(await back.next('resumed', (f) => f.ref === 'r1')).toMatchObject({
      room: 'general',
      username: 'zed',
    })
    const res = await http('/rooms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"Open","__proto__":{"is_private":true,"password":"x"}}',
    })
    expect(res.status).toBe(201)
    expect(((await res.json()) as Frame).is_private).toBe(false)
    const plain: Frame = {}
    expect(plain.moderator).toBeUndefined()
    expect(plain.is_private).toBeUndefined()
    expect(plain.password).toBeUndefined()
    expect(created.store.stats().rooms).toBe(3)
    expect(room.id).toBe('vault')
  })
})
