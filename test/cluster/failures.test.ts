/**
 * Failures (issue 9, lines 6, 9, 10 and 11): a resume on another node, a node killed with
 * SIGKILL, a rolling restart, and Redis restarted under traffic. Each is checked from the
 * clients' side: who they see, which messages they got, and that none came twice.
 */
import { describe, expect, it } from 'bun:test'
import { type ChatNode, useCluster } from '../support/cluster.ts'
import { type Frame, TestClient } from '../support/ws-client.ts'

const { start, node, connect, redis, pair } = useCluster()
/** A steady load of 100 messages a second from one user: above the default rate limit. */
const LOAD = { RATE_LIMIT_PER_SEC: '1000' }

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await Bun.sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Resolves once `c` has received a frame matching `match`, before or after this call. */
async function saw(c: TestClient, match: (f: Frame) => boolean, ms = 5000): Promise<void> {
  if (c.frames.some(match)) return
  await waitFor('a frame', async () => c.frames.some(match), ms)
}

async function resumeOn(node: ChatNode, session: string, lastIds: Frame): Promise<TestClient> {
  const c = await TestClient.connect(node.wsUrl)
  c.send({ action: 'resume', session, last_ids: lastIds, ref: 'r' })
  return c
}

describe('cluster: failures', () => {
  it('resumes on another node with every missed message once, shown online again, never a leave', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    const { alice, bob } = await pair(a, b)
    bob.send({ action: 'message', room: 'general', content: 'before' })
    const before = await alice.next('message')
    alice.close()
    await bob.next('presence', (f) => f.status === 'offline')
    for (let i = 0; i < 5; i++) bob.send({ action: 'message', room: 'general', content: `m${i}` })
    for (let i = 0; i < 5; i++) await bob.next('message', (f) => f.content === `m${i}`)
    const again = await resumeOn(b, alice.session, { general: before.id })
    const resumed = await again.next('resumed')
    expect(resumed).toMatchObject({ room: 'general', username: 'alice', recovered: true, ref: 'r' })
    const missed: string[] = []
    for (let i = 0; i < 5; i++) missed.push((await again.next('message')).content)
    expect(missed).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    expect(await bob.next('presence')).toMatchObject({ username: 'alice', status: 'online' })
    bob.send({ action: 'message', room: 'general', content: 'after' })
    expect((await again.next('message')).content).toBe('after')
    // Nothing twice for alice, and bob never saw her leave.
    expect((await again.sync()).filter((f) => f.type === 'message')).toEqual([])
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'user_left')).toEqual([])
    again.close()
  }, 20_000)

  it('starts with Redis out of reach: says degraded, refuses frames, serves once Redis is there', async () => {
    const [a] = await start(1)
    if (!a) throw new Error('node')
    await redis.stop()
    const late = await node({ healthy: false })
    const health = await late.health()
    expect(health.status).toBe(503)
    expect(health.body.status).toBe('degraded')
    const c = await TestClient.connect(late.wsUrl)
    const refused = await c.request({ action: 'join', room: 'general', username: 'x' }, ['joined'])
    expect(refused).toMatchObject({ type: 'error', code: 'unavailable' })
    await redis.start()
    await late.healthy()
    expect((await c.join('general', 'x')).room).toBe('general')
    c.close()
  }, 20_000)

  it('closes the old socket with 4001 when its session is resumed on another node', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    const alice = await connect(a)
    await alice.join('general', 'alice')
    const again = await resumeOn(b, alice.session, {})
    expect((await again.next('resumed')).username).toBe('alice')
    expect((await alice.closed).code).toBe(4001)
    again.close()
  }, 20_000)

  it('shows the members of a SIGKILLed node offline within NODE_TTL_MS, then gone after the grace', async () => {
    const env = { NODE_TTL_MS: '3000', RESUME_GRACE_MS: '1500' }
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const { alice } = await pair(a, b)
    const killedAt = Date.now()
    await b.stop('SIGKILL')
    const offline = await alice.next('presence', (f) => f.username === 'bob', 6000)
    expect(offline.status).toBe('offline')
    // Within NODE_TTL_MS of the kill, whenever in its heartbeat cycle the node died.
    expect(Date.now() - killedAt).toBeLessThan(3000)
    await alice.next('user_left', (f) => f.username === 'bob', 6000)
    const details = (await (await fetch(`${a.httpUrl}/rooms/general`)).json()) as Frame
    expect(details.user_count).toBe(1)
    const carol = await connect(a)
    expect((await carol.join('general', 'bob')).username).toBe('bob')
  }, 20_000)

  it('lets every client of a node in a rolling restart resume elsewhere with nothing lost or twice', async () => {
    const [a, b] = await start(2, { env: LOAD })
    if (!a || !b) throw new Error('nodes')
    const { alice, bob } = await pair(a, b)
    const sent: string[] = []
    let sending = true
    const load = (async () => {
      for (let i = 0; i < 200 && sending; i++) {
        const content = `load ${i}`
        bob.send({ action: 'message', room: 'general', content })
        sent.push(content)
        await Bun.sleep(10)
      }
    })()
    await bob.next('message', (f) => f.content === 'load 5')
    const stopping = a.stop('SIGTERM')
    const shutdown = await alice.next('shutdown')
    expect(shutdown.reconnect_in_ms).toBeGreaterThanOrEqual(1000)
    expect(await stopping).toBe(0)
    const seen = alice.frames.filter((f) => f.type === 'message')
    const last = seen[seen.length - 1]?.id ?? '0'
    const again = await resumeOn(b, alice.session, { general: last })
    expect((await again.next('resumed')).recovered).toBe(true)
    await bob.next('message', (f) => f.content === 'load 60')
    sending = false
    await load
    const final = sent[sent.length - 1]
    await saw(bob, (f) => f.type === 'message' && f.content === final)
    await saw(again, (f) => f.type === 'message' && f.content === final)
    const got = [...seen, ...again.frames.filter((f) => f.type === 'message')].map((f) => f.content)
    expect(got).toEqual(sent)
    const events = [...bob.frames]
    expect(events.filter((f) => f.type === 'user_left')).toEqual([])
    expect(events.filter((f) => f.type === 'presence').map((f) => f.status)).toEqual([
      'offline',
      'online',
    ])
    again.close()
  }, 30_000)

  it('keeps sockets open and refuses with unavailable while Redis is down, then repairs and loses nothing acknowledged', async () => {
    const [a, b] = await start(2, { env: LOAD })
    if (!a || !b) throw new Error('nodes')
    const { alice, bob } = await pair(a, b)
    let sending = true
    let count = 0
    const load = (async () => {
      for (let i = 0; i < 400 && sending; i++) {
        bob.send({ action: 'message', room: 'general', content: `load ${i}` })
        count = i + 1
        await Bun.sleep(10)
      }
    })()
    await bob.next('message', (f) => f.content === 'load 10')
    await redis.stop()
    await waitFor('degraded health', async () => (await a.health()).status === 503)
    expect((await a.health()).body.status).toBe('degraded')
    await bob.next('error', (f) => f.code === 'unavailable')
    await redis.start()
    await waitFor(
      'healthy again',
      async () => (await a.health()).status === 200 && (await b.health()).status === 200,
    )
    const markAfter = count
    await bob.next('message', (f) => Number(f.content.slice(5)) > markAfter, 5000)
    sending = false
    await load
    // The last message bob saw acknowledged: alice must have it too.
    const lastAck = bob.frames.filter((f) => f.type === 'message').pop()
    expect(lastAck?.content).toBeDefined()
    await saw(alice, (f) => f.type === 'message' && f.content === lastAck?.content)
    const acked = bob.frames.filter((f) => f.type === 'message').map((f) => f.content)
    const got = alice.frames.filter((f) => f.type === 'message')
    const contents = got.map((f) => f.content)
    expect(new Set(contents).size).toBe(contents.length)
    for (const c of acked) expect(contents).toContain(c)
    const ids = got.map((f) => Number(f.id))
    expect([...ids].sort((x, y) => x - y)).toEqual(ids)
    expect(alice.ws.readyState).toBe(WebSocket.OPEN)
    expect(bob.ws.readyState).toBe(WebSocket.OPEN)
    // What an operator sees: Redis up again, the failures counted, the stream flowing.
    const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text()
    const value = (name: string) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1])
    expect(value('chat_redis_up')).toBe(1)
    expect(value('chat_redis_messages_received_total')).toBeGreaterThan(0)
    const onB = await (await fetch(`${b.httpUrl}/metrics`)).text()
    expect(
      Number(onB.match(/^chat_refusals_total\{[^}]*code="unavailable"[^}]*\} (\S+)$/m)?.[1]),
    ).toBeGreaterThan(0)
    const rooms = (await (await fetch(`${b.httpUrl}/rooms`)).json()) as Frame
    expect(rooms.rooms.find((r: Frame) => r.id === 'general')?.user_count).toBe(2)
  }, 30_000)
})
