import { describe, expect, it } from 'bun:test'
import { createLogger } from '../../src/logger.ts'
import { useServer } from '../support/harness.ts'

const { serve, connect, member, http, createRoom } = useServer()

/** A server whose real logger (JSON, debug level) writes into `lines`. */
function serveLogged(overrides: Parameters<typeof serve>[0] = {}) {
  const lines: string[] = []
  const nodeId = 'test-node-1'
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    nodeId,
    write: (line) => lines.push(line),
  })
  serve({ nodeId, ...overrides }, { logger })
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  return { lines, entries, nodeId }
}

/** Opens a WebSocket and resolves once it is refused or closes (true if it opened). */
function attempt(url: string, headers?: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, headers ? { headers } : undefined)
    ws.addEventListener('open', () => {
      ws.close()
      resolve(true)
    })
    ws.addEventListener('error', () => resolve(false))
  })
}

describe('logs', () => {
  it('are one JSON object per line with level, time, node and ids, and never carry a secret or content', async () => {
    const { lines, entries, nodeId } = serveLogged({ metricsToken: 'metrics-secret-77' })
    const room = await createRoom({ name: 'Vault', password: 'pa55-word-zz' })
    const token = room.moderator_token as string
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    await alice.join(room.id as string, 'alice', { password: 'pa55-word-zz' })
    await bob.join(room.id as string, 'bob', { token })
    const wrong = await bob.request(
      { action: 'join', room: room.id, username: 'bob2', password: 'wrong-pass-yy' },
      ['joined'],
    )
    expect(wrong.code).toBe('invalid_message')
    const got = bob.next('message', (f) => f.content === 'content-canary-42')
    alice.send({ action: 'message', room: 'general', content: 'content-canary-42' })
    await got
    await http(`/rooms/${room.id}/messages?password=pa55-word-zz`)
    await http('/metrics', { headers: { authorization: 'Bearer metrics-secret-77' } })
    // A dropped connection and a resume: the session token travels twice.
    const offline = bob.next('presence', (f) => f.username === 'alice' && f.status === 'offline')
    alice.close()
    await offline
    const again = await connect()
    const resumed = again.next('resumed')
    again.send({ action: 'resume', session: alice.session })
    await resumed
    const secrets = [
      'pa55-word-zz',
      'wrong-pass-yy',
      token,
      'content-canary-42',
      'metrics-secret-77',
      alice.session,
      bob.session,
      again.session,
    ]
    const all = lines.join('')
    for (const secret of secrets) expect(all).not.toContain(secret)

    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true)
      expect(line.indexOf('\n')).toBe(line.length - 1)
    }
    const logged = entries()
    for (const e of logged) {
      expect(e.node).toBe(nodeId)
      expect(['debug', 'info', 'warn', 'error']).toContain(e.level as string)
      expect(new Date(e.time as string).toISOString()).toBe(e.time as string)
    }
    // Connections carry their number and a short tag of the session, not the session.
    const opened = logged.filter((e) => e.message === 'connection opened')
    expect(opened.length).toBe(3)
    expect(opened[0]).toMatchObject({ conn: 1, address: '127.0.0.1' })
    expect(opened[0]?.session_tag).toMatch(/^[A-Za-z0-9_-]{10}$/)
    expect(logged.find((e) => e.message === 'connection closed')).toMatchObject({
      conn: 1,
      code: 1000,
    })
    expect(logged.find((e) => e.message === 'room created')).toMatchObject({ room: 'vault' })
  })

  it('warn once, with the address, for each refusal an operator wants, at a bounded rate', async () => {
    const { entries } = serveLogged({
      maxConnectionsPerIp: 1,
      allowedOrigins: ['https://chat.example'],
      floodTolerance: 3,
      rateLimitPerSec: 1,
      rateLimitBurst: 1,
    })
    const warns = () => entries().filter((e) => e.level === 'warn')
    const first = await connect({ origin: 'https://chat.example' })
    await first.join('general', 'alice')

    // Per-address cap: 40 refused upgrades write at most the burst of 10 lines.
    const url = `ws://127.0.0.1:${new URL((await http('/health')).url).port}/ws`
    for (let i = 0; i < 40; i++) expect(await attempt(url)).toBe(false)
    const capped = warns().filter((e) => e.message === 'websocket refused: connections per address')
    expect(capped.length).toBe(10)
    expect(capped[0]).toMatchObject({ address: '127.0.0.1' })

    // Origin refused.
    expect(await attempt(url, { origin: 'https://evil.example' })).toBe(false)
    expect(
      warns().find((e) => e.message === 'websocket refused: origin not allowed'),
    ).toMatchObject({ address: '127.0.0.1', origin: 'https://evil.example' })

    // Wrong-password throttle: the session may try 5 wrong passwords, the 6th is throttled.
    const room = await createRoom({ name: 'Locked', password: 'right' })
    for (let i = 0; i < 6; i++) {
      await first.request(
        { action: 'join', room: room.id, username: 'alice', password: `wrong${i}` },
        ['joined'],
      )
    }
    expect(warns().filter((e) => e.message === 'password attempts throttled')).toEqual([
      expect.objectContaining({ address: '127.0.0.1', room: 'locked' }),
    ])

    // Flood close.
    for (let i = 0; i < 10; i++) first.send({ action: 'message', room: 'general', content: 'x' })
    expect((await first.closed).code).toBe(1008)
    expect(warns().filter((e) => e.message === 'closing flooding connection')).toEqual([
      expect.objectContaining({ address: '127.0.0.1' }),
    ])
  })
})
