/**
 * Issue 4, limits: message and typing rates, the flood disconnect, per-address caps on
 * connections and room creation, frame and content sizes, names and the room cap.
 */
import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const harness = useServer()
const { serve, connect, postRoom } = harness

/** alice and bob in "general", with the join noise read. */
async function pair(): Promise<{ alice: TestClient; bob: TestClient }> {
  const alice = await connect()
  const bob = await connect()
  await alice.join('general', 'alice')
  await bob.join('general', 'bob')
  await alice.sync()
  return { alice, bob }
}

let said = 0

/** Sends a message; resolves with its broadcast back to the sender, or the error for it. */
function say(client: TestClient, content: string): Promise<Frame> {
  const ref = `say-${++said}`
  const reply = client.next(['message', 'error'], (f) =>
    f.type === 'error' ? f.ref === ref : f.content === content,
  )
  client.send({ action: 'message', room: 'general', content, ref })
  return reply
}

describe('the message rate limit', () => {
  it('refuses a burst of 30 past the burst of 10: rate_limited, not delivered, not stored', async () => {
    // With the fake clock no token comes back during the burst: exactly the burst passes.
    const clock = new FakeClock()
    serve({}, { clock })
    const { alice, bob } = await pair()
    for (let i = 0; i < 30; i++)
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
    const toBob = (await bob.sync()).filter((f) => f.type === 'message')
    expect(toBob.map((f) => f.content)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`))
    const toAlice = await alice.sync()
    const errors = toAlice.filter((f) => f.type === 'error')
    expect(errors).toHaveLength(20)
    for (const e of errors) expect(e).toMatchObject({ code: 'rate_limited', room: 'general' })
    expect(toAlice.filter((f) => f.type === 'message')).toHaveLength(10)
    const stored = await bob.request({ action: 'history', room: 'general' }, ['history'])
    expect(stored.messages.filter((m: Frame) => m.type === 'text')).toHaveLength(10)
    // The connection stays open, and the rate gives one message per 100 ms.
    clock.advance(99)
    expect(await say(alice, 'too soon')).toMatchObject({ type: 'error', code: 'rate_limited' })
    clock.advance(1)
    expect(await say(alice, 'again')).toMatchObject({ type: 'message', content: 'again' })
  })

  it('follows RATE_LIMIT_PER_SEC and RATE_LIMIT_BURST', async () => {
    const clock = new FakeClock()
    serve({ rateLimitPerSec: 2, rateLimitBurst: 3 }, { clock })
    const { alice, bob } = await pair()
    for (let i = 0; i < 6; i++) alice.send({ action: 'message', room: 'general', content: `m${i}` })
    expect((await bob.sync()).filter((f) => f.type === 'message')).toHaveLength(3)
    clock.advance(499)
    expect(await say(alice, 'x')).toMatchObject({ code: 'rate_limited' })
    clock.advance(1)
    expect(await say(alice, 'y')).toMatchObject({ type: 'message' })
  })
})

describe('typing', () => {
  it('is broadcast at most once per second per user and room', async () => {
    const clock = new FakeClock()
    serve({}, { clock })
    const { alice, bob } = await pair()
    for (let i = 0; i < 5; i++) alice.send({ action: 'typing', room: 'general' })
    expect(await bob.sync()).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: true },
    ])
    clock.advance(999)
    alice.send({ action: 'typing', room: 'general' })
    expect(await bob.sync()).toEqual([])
    clock.advance(1)
    alice.send({ action: 'typing', room: 'general' })
    expect(await bob.sync()).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: true },
    ])
    expect(await alice.sync()).toEqual([])
  })

  it('is never answered with an error, however many frames come', async () => {
    const clock = new FakeClock()
    serve({}, { clock })
    const { alice, bob } = await pair()
    for (let i = 0; i < 80; i++) alice.send({ action: 'typing', room: 'general' })
    // The typing frames used up the frame budget, so this ping is refused: its error comes
    // after every typing frame was handled, and echoes the ping's ref.
    const ping = await alice.request({ action: 'ping' }, ['pong'])
    expect(ping).toMatchObject({ type: 'error', code: 'rate_limited' })
    expect(alice.frames.filter((f) => f.type === 'error')).toEqual([ping])
    expect(await bob.sync()).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: true },
    ])
    clock.advance(5000)
    expect(await alice.sync()).toEqual([])
  })
})

describe('a flooding client', () => {
  async function expectPolicyClose(client: TestClient) {
    const closed = await client.closed
    expect(closed.code).toBe(1008)
    expect(closed.reason.length).toBeGreaterThan(0)
  }

  it('is disconnected with 1008 after a flood of messages, the others getting only the burst', async () => {
    serve()
    const { alice, bob } = await pair()
    for (let i = 0; i < 300; i++)
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
    await expectPolicyClose(alice)
    const got = (await bob.sync()).filter((f) => f.type === 'message')
    // The burst, plus what the rate refilled while the flood was read.
    expect(got.length).toBeGreaterThanOrEqual(10)
    expect(got.length).toBeLessThan(15)
  })

  it('is disconnected with 1008 after a flood of frames that are not JSON', async () => {
    serve()
    const c = await connect()
    for (let i = 0; i < 300; i++) c.sendRaw('garbage')
    await expectPolicyClose(c)
  })

  it('is disconnected with 1008 after a flood of messages to a room it is not in', async () => {
    serve()
    const c = await connect()
    for (let i = 0; i < 300; i++) c.send({ action: 'message', room: 'general', content: 'x' })
    await expectPolicyClose(c)
  })

  it('is disconnected with 1008 after a flood of typing frames', async () => {
    serve()
    const { alice } = await pair()
    for (let i = 0; i < 300; i++) alice.send({ action: 'typing', room: 'general' })
    await expectPolicyClose(alice)
  })

  it('is not disconnected for sending a little over the rate', async () => {
    const clock = new FakeClock()
    serve({}, { clock })
    const { alice } = await pair()
    // 11 messages a second for 20 seconds: one refused a second, never a flood.
    for (let s = 0; s < 20; s++) {
      for (let i = 0; i < 11; i++) alice.send({ action: 'message', room: 'general', content: 'x' })
      const errors = (await alice.sync()).filter((f) => f.type === 'error')
      expect(errors.length).toBeLessThanOrEqual(1)
      clock.advance(1000)
    }
    expect(await say(alice, 'still here')).toMatchObject({ type: 'message' })
  })
})

describe('MAX_CONNECTIONS_PER_IP', () => {
  it('refuses the upgrade past the cap, and admits again once one closes', async () => {
    serve({ maxConnectionsPerIp: 3 })
    const open = [await connect(), await connect(), await connect()]
    await expect(connect()).rejects.toThrow()
    expect(harness.server.store.stats().connections).toBe(3)
    const first = open[0] as TestClient
    first.close()
    await first.closed
    const again = await connect()
    await again.join('general', 'again')
  })
})

describe('TRUST_PROXY', () => {
  const via = (ip: string) => connect({ 'x-forwarded-for': `${ip}, 10.0.0.1` })

  it('counts connections per X-Forwarded-For address when the proxy is trusted', async () => {
    serve({ maxConnectionsPerIp: 1, trustProxy: true })
    await via('203.0.113.1')
    await via('203.0.113.2')
    await expect(connect({ 'x-forwarded-for': '203.0.113.1' })).rejects.toThrow()
    expect(harness.server.store.stats().connections).toBe(2)
  })

  it('ignores X-Forwarded-For by default, since any client can send it', async () => {
    serve({ maxConnectionsPerIp: 1 })
    await via('203.0.113.1')
    await expect(connect({ 'x-forwarded-for': '203.0.113.2' })).rejects.toThrow()
  })
})

describe('ROOM_CREATE_PER_MIN', () => {
  it('answers REST past the limit with 429 rate_limited and Retry-After', async () => {
    const clock = new FakeClock()
    serve({ roomCreatePerMin: 2 }, { clock })
    expect((await postRoom({ name: 'one' })).status).toBe(201)
    expect((await postRoom({ name: 'two' })).status).toBe(201)
    const refused = await postRoom({ name: 'three' })
    expect(refused.status).toBe(429)
    expect(((await refused.json()) as Frame).error.code).toBe('rate_limited')
    const retry = Number(refused.headers.get('retry-after'))
    // Two a minute: the next one is due in 30 s.
    expect(retry).toBe(30)
    clock.advance(retry * 1000)
    expect((await postRoom({ name: 'three' })).status).toBe(201)
  })

  it('counts creations over WebSocket and REST together', async () => {
    const clock = new FakeClock()
    serve({ roomCreatePerMin: 2 }, { clock })
    expect((await postRoom({ name: 'one' })).status).toBe(201)
    const c = await connect()
    const made = await c.request({ action: 'create', name: 'two', username: 'c' }, ['joined'])
    expect(made.type).toBe('joined')
    const refused = await c.request({ action: 'create', name: 'three', username: 'c' }, ['joined'])
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' })
    expect((await postRoom({ name: 'four' })).status).toBe(429)
  })
})

describe('the frame size limit', () => {
  it('closes the connection with 1009 on a frame over 16 KiB', async () => {
    serve()
    const { alice, bob } = await pair()
    alice.send({ action: 'message', room: 'general', content: 'x'.repeat(16 * 1024) })
    expect((await alice.closed).code).toBe(1009)
    expect(await bob.sync()).toEqual([
      { type: 'presence', room: 'general', username: 'alice', status: 'offline' },
    ])
  })
})

describe('message content', () => {
  it('refuses content over 4000 characters with invalid_message; the socket still works', async () => {
    serve()
    const { alice, bob } = await pair()
    expect(await say(alice, 'x'.repeat(4001))).toMatchObject({
      type: 'error',
      code: 'invalid_message',
    })
    expect(await say(alice, 'y'.repeat(4096 + 10))).toMatchObject({ code: 'invalid_message' })
    expect(await bob.sync()).toEqual([])
    expect((await say(alice, 'z'.repeat(4000))).content).toHaveLength(4000)
  })

  it('counts characters, not UTF-16 units: 4000 emoji are allowed', async () => {
    serve()
    const { alice } = await pair()
    const emoji = '😀'.repeat(4000)
    expect(await say(alice, emoji)).toMatchObject({ type: 'message', content: emoji })
    expect(await say(alice, `${emoji}😀`)).toMatchObject({ code: 'invalid_message' })
  })

  it('refuses empty and whitespace-only or invisible content with invalid_message', async () => {
    serve()
    const { alice, bob } = await pair()
    for (const content of ['', ' ', '\n\t  \r\n', '\u00a0\u3000', '\u200b\u200d', ' \ufeff ']) {
      expect(await say(alice, content)).toMatchObject({ type: 'error', code: 'invalid_message' })
    }
    expect(await bob.sync()).toEqual([])
    expect(await say(alice, ' ok ')).toMatchObject({ type: 'message', content: ' ok ' })
  })
})

describe('names', () => {
  const bad = [
    '',
    '   ',
    'a\u0000b',
    'bad\nname',
    'tab\tname',
    'zero\u200bwidth',
    'joiner\u200dname',
    'rtl\u202eevil',
    'bom\ufeffname',
    'soft\u00adhyphen',
    'filler\u3164',
    'alice\u034f',
    'alice\ufe0f',
    'x'.repeat(33),
    'hi!',
    '<script>',
    'a/b',
    'smile😀',
    'at@sign',
    '\u0301\u0301',
    'a\uffa0b',
    'e\u{E0100}',
  ]

  it('refuses bad usernames with invalid_message', async () => {
    serve()
    const c = await connect()
    for (const name of bad) {
      const reply = await c.request({ action: 'join', room: 'general', username: name }, ['joined'])
      expect({ name, code: reply.code }).toEqual({ name, code: 'invalid_message' })
    }
    const ok = await c.join('general', `Ünïcødé_${'x'.repeat(21)}-1.`)
    expect([...ok.username]).toHaveLength(32)
  })

  it('refuses bad room names with invalid_message over REST and WebSocket', async () => {
    serve()
    const c = await connect()
    for (const name of bad) {
      const res = await postRoom({ name })
      expect({ name, status: res.status }).toEqual({ name, status: 400 })
      expect(((await res.json()) as Frame).error.code).toBe('invalid_message')
      const reply = await c.request({ action: 'create', name, username: 'c' }, ['joined'])
      expect({ name, code: reply.code }).toEqual({ name, code: 'invalid_message' })
    }
  })

  it('normalizes to NFC: a decomposed é is the same name as a composed one', async () => {
    serve()
    const a = await connect()
    const b = await connect()
    const joined = await a.join('general', 'Jos\u00e9')
    expect(joined.username).toBe('Jos\u00e9')
    const reply = await b.request({ action: 'join', room: 'general', username: 'Jose\u0301' }, [
      'joined',
    ])
    expect(reply).toMatchObject({ type: 'error', code: 'username_taken' })
    expect((await postRoom({ name: 'Caf\u00e9' })).status).toBe(201)
    expect((await postRoom({ name: 'Cafe\u0301' })).status).toBe(409)
  })
})

describe('MAX_ROOMS', () => {
  it('answers creation past the cap with room_limit_reached (503), not a 500', async () => {
    // "general" is the first room.
    serve({ maxRooms: 2 })
    expect((await postRoom({ name: 'one' })).status).toBe(201)
    const refused = await postRoom({ name: 'two' })
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as Frame).error.code).toBe('room_limit_reached')
    const c = await connect()
    const reply = await c.request({ action: 'create', name: 'three', username: 'c' }, ['joined'])
    expect(reply).toMatchObject({ type: 'error', code: 'room_limit_reached' })
  })
})
